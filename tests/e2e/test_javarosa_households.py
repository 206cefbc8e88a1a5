"""The shipped poverty review on a phone with the household list: JavaRosa (the engine inside ODK
Collect) reads households.csv as Collect downloads it, the collector finds the household without
typing its marks, the code, head and size are filled in from the list, and the submission updates
that household (its version, class and size) when a supervisor approves it. A household not on
the list is added as a new one."""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest
from clients.javarosa import compile_jrfill, fill
from collect import CollectClient
from sqlalchemy import select

from khudan.models import Entity, Submission, User
from khudan.models.facts import INDICATORS
from khudan.services import entities, submissions

pytestmark = pytest.mark.needs("java", "jdk")

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
LAST_YEAR = (
    "label,household_code,head_name,province,commune,area_code,household_size,poverty_class,period\n"
    "NC-T01-017 - Nguyễn Văn Hải,NC-T01-017,Nguyễn Văn Hải,52,21607,21607.T01,5,poor,2025\n"
    "NC-T01-018 - Trần Thị Hoa,NC-T01-018,Trần Thị Hoa,52,21607,21607.T01,3,near_poor,2025\n"
    "QN-K01-001 - Lê Văn Tám,QN-K01-001,Lê Văn Tám,52,21553,21553.K01,2,poor,2025\n"
).encode()
ONE_MEMBER = {
    "household/period": "2026",
    "household/review_kind": "dinh_ky",
    "household/province": "52",
    "household/commune": "21607",
    "household/area_code": "21607.T01",
    "household/ethnicity": "kinh",
    "household/meritorious": "no",
    "household/household_size": 1,
    "member#": 1,
    "member[1]/m_name": "Nguyễn Văn Hải",
    "member[1]/m_sex": "nam",
    "member[1]/m_birth_year": 1980,
    "member[1]/m_relation": "chu_ho",
    "member[1]/m_schooling": "da_thoi_hoc",
    "member[1]/m_education": "tieu_hoc",
    "member[1]/m_work": "lam_cong",
    "member[1]/m_contract": "khong_hd",
    "member[1]/m_health_insurance": "yes",
    "member[1]/m_disability": "khong",
    "member[1]/m_social_allowance": "khong",
    "dwelling/wall": "gach_da",
    "dwelling/column": "tre_go_tap",
    "dwelling/roof": "la_tranh",
    "dwelling/floor_area": "36",
    "services/water_source": "gieng_dao_kbv",
    "services/latrine": "tu_hoai",
    "services/internet": "yes",
    "services/devices": "tivi",
    "services/loudspeaker": "yes",
    "income/income_per_capita": 1200000,
    "income/b1_score": 118,
    # The form asks whether to override each indicator of the 2026 standard (not the 2027 one's
    # waste treatment): "no" to all.
    **{f"b2/ovr_{name}": "no" for name in INDICATORS if name != "waste_treatment"},
    "causes_support/poverty_causes": "thieu_von",
    "causes_support/support_needs": "tin_dung",
    "location": "13.7721 109.2981 5 4",
}


@pytest.fixture(scope="session")
def jrfill(tmp_path_factory) -> Path:
    return compile_jrfill(tmp_path_factory.mktemp("jrfill"))


@pytest.fixture
def on_phone(db, registry, shipped, make_user, collector: CollectClient, tmp_path):
    """Last year's list imported by the commune's supervisor, then the poverty review and its
    media downloaded by collector thu (Gia Lai) as Collect downloads them."""
    make_user("lan", "supervisor", areas=("52",))
    with db.session() as s:
        lan = s.scalar(select(User).where(User.username == "lan"))
        report = entities.import_csv(s, entities.get_list(s, "households"), LAST_YEAR, lan)
        assert report.created == 3 and not report.rejected
        s.commit()
    _reply, listed = collector.form_list()
    entry = next(f for f in listed if f["formID"] == "poverty_review")
    form = collector.request("GET", entry["downloadUrl"]).body
    media = tmp_path / "poverty_review-media"
    media.mkdir()
    _reply, files = collector.manifest(entry["manifestUrl"])
    for f in files:
        (media / f["filename"]).write_bytes(collector.request("GET", f["downloadUrl"]).body)
    return form, media


def households(media: Path) -> dict[str, dict]:
    rows = csv.DictReader(io.StringIO((media / "households.csv").read_text(encoding="utf-8")))
    return {r["household_code"]: r for r in rows}


def approve_all(db) -> None:
    with db.session() as s:
        lan = s.scalar(select(User).where(User.username == "lan"))
        for sub in s.scalars(select(Submission)):
            submissions.set_review_state(s, lan, sub, "approved", None)
        s.commit()


@pytest.mark.usefixtures("jrfill")
def test_a_household_picked_from_the_list_is_updated_on_approval(on_phone, collector, db):
    form, media = on_phone
    listed = households(media)
    chosen = listed["NC-T01-017"]
    assert chosen["__version"] == "1" and chosen["poverty_class"] == "poor"
    xml = fill(
        form,
        {
            **ONE_MEMBER,
            "household/hh_source": "list",
            "household/hh_search": "nguyen van hai",  # no marks typed
            "household/hh": chosen["name"],
        },
        media,
    )
    root = ElementTree.fromstring(xml)
    # Filled in from the list by the phone, not typed.
    assert root.findtext("household/household_code") == "NC-T01-017"
    assert root.findtext("household/head_name") == "Nguyễn Văn Hải"
    assert root.findtext("household/prev_class") == "poor"
    entity = root.find("meta/entity")
    assert entity.get("dataset") == "households" and entity.get("id") == chosen["name"]
    assert (entity.get("update"), entity.get("create")) == ("1", "0")
    assert entity.get("baseVersion") == "1"
    assert [r.status for r in collector.submit(xml)] == [201]

    approve_all(db)
    with db.session() as s:
        row = s.scalar(select(Entity).where(Entity.uuid == chosen["name"]))
        assert row.version == 2
        assert row.data["household_size"] == "1" and row.data["period"] == "2026"
        assert row.data["poverty_class"] in ("poor", "near_poor", "medium", "not_poor")
    _reply, files = collector.manifest("http://localhost/forms/poverty_review/manifest")
    fresh = next(f for f in files if f["filename"] == "households.csv")
    again = collector.request("GET", fresh["downloadUrl"]).text
    updated = {r["household_code"]: r for r in csv.DictReader(io.StringIO(again))}
    assert updated["NC-T01-017"]["__version"] == "2"


@pytest.mark.usefixtures("jrfill")
def test_the_search_ignores_marks_and_keeps_to_the_chosen_village(on_phone):
    form, media = on_phone
    listed = households(media)
    # Trần Thị Hoa is in thôn T01 but the search "nguyen" does not find her: not a choice.
    from clients.javarosa import JavaRosaRefused

    with pytest.raises(JavaRosaRefused, match="not one of the choices"):
        fill(
            form,
            {
                **ONE_MEMBER,
                "household/hh_source": "list",
                "household/hh_search": "Nguyễn",
                "household/hh": listed["NC-T01-018"]["name"],
            },
            media,
        )
    # Lê Văn Tám is in Quy Nhơn Bắc (K01), not in the village chosen.
    with pytest.raises(JavaRosaRefused, match="not one of the choices"):
        fill(
            form,
            {
                **ONE_MEMBER,
                "household/hh_source": "list",
                "household/hh_search": "",
                "household/hh": listed["QN-K01-001"]["name"],
            },
            media,
        )


@pytest.mark.usefixtures("jrfill")
def test_a_new_household_is_added_to_the_list(on_phone, collector, db):
    form, media = on_phone
    xml = fill(
        form,
        {
            **ONE_MEMBER,
            "household/hh_source": "new",
            "household/household_code": "NC-T01-099",
            "household/head_name": "Đặng Văn Mới",
        },
        media,
    )
    entity = ElementTree.fromstring(xml).find("meta/entity")
    assert (entity.get("create"), entity.get("update")) == ("1", "0")
    assert UUID4.fullmatch(entity.get("id"))
    assert [r.status for r in collector.submit(xml)] == [201]
    approve_all(db)
    with db.session() as s:
        row = s.scalar(select(Entity).where(Entity.uuid == entity.get("id")))
        assert row.label == "NC-T01-099 - Đặng Văn Mới" and row.area_code == "21607.T01"
        assert row.data["poverty_class"]
    assert uuid.UUID(entity.get("id")).version == 4
