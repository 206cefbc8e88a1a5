"""The shipped forms, and what their submissions become: classified facts per household.

Each form in forms/ goes through real pyxform and ODK Validate; submissions filled by JavaRosa
(tests/unit/domain/data, the engine inside ODK Collect) go through the HTTP interface as a phone
sends them, and the fact rows they produce are compared with figures worked out by hand.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from factories import domain_sample
from openpyxl import load_workbook
from sqlalchemy import select, update
from stored import count

from khudan import errors
from khudan.models import (
    CulturalFamilyFact,
    PovertyFact,
    SatisfactionFact,
    Submission,
    SubmissionProblem,
)
from khudan.services import areas, facts, forms
from khudan.xforms.schema import read_xform

FORMS = Path(__file__).resolve().parents[2] / "forms"
SHIPPED = ["poverty_review", "cultural_family", "satisfaction_survey"]


@pytest.mark.needs("java")
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_form_converts_cleanly_and_passes_odk_validate(name):
    xml, warnings = forms.convert_xlsform((FORMS / f"{name}.xlsx").read_bytes())
    assert warnings == []
    assert forms.validate_xform(xml) == []  # JavaRosa, the engine ODK Collect runs
    info = read_xform(xml)
    assert info.form_id == name
    paths = {f["path"] for f in info.fields}
    assert {"/data/meta/instanceID", "/data/meta/instanceName"} <= paths
    assert facts.missing_fields(name, info.fields) == []
    assert "areas.csv" in info.media_expected
    text = xml.decode()
    assert "Tiếng Việt (vi)" in text and "English (en)" in text


def without_field(name: str, field: str) -> bytes:
    book = load_workbook(FORMS / f"{name}.xlsx")
    sheet = book["survey"]
    header = [c.value for c in sheet[1]]
    col = header.index("name") + 1
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, col).value == field)
    sheet.delete_rows(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_publish_refuses_a_domain_form_that_dropped_a_field_the_rules_read(db, storage):
    xml, _ = forms.convert_xlsform(without_field("poverty_review", "review_kind"))
    with pytest.raises(errors.Problem) as info:
        forms.publish(db, storage, xml=xml, validate=False)
    assert info.value.code == "422.5" and "review_kind" in info.value.message


@pytest.fixture
def registry(db, official_areas):
    with db.session() as s:
        areas.import_areas(
            s,
            [
                {"commune_code": "21607", "code": "T01", "name": "Thôn Bắc"},
                {"commune_code": "21553", "code": "K01", "name": "Tổ dân phố 1"},
            ],
        )
        s.commit()


def sample(name: str, **replace: str) -> bytes:
    return domain_sample(name, **replace)


def poverty_fact(db) -> PovertyFact:
    with db.session() as s:
        return s.scalar(select(PovertyFact))


def test_a_poverty_review_becomes_a_classified_household(collector, registry, shipped, db):
    # POV-01, rural (Xã Nhơn Châu), 2025: 1,200,000 VND ≤ 1,500,000 and 8 deprivations -> poor.
    replies = collector.submit(sample("pov1.xml"))
    assert [r.status for r in replies] == [201]
    fact = poverty_fact(db)
    assert (fact.period, fact.household_key) == ("2025", "21607/NC-T01-017")
    assert (fact.province_code, fact.commune_code, fact.area_code) == ("52", "21607", "21607.T01")
    assert (fact.area_kind, fact.ethnic_minority, fact.household_size) == ("rural", False, 5)
    assert (fact.income_per_capita, fact.b1_score) == (1_200_000, 118)
    assert (fact.deprivation_count, fact.b2_score) == (8, 80)
    assert fact.poverty_class == "poor" and fact.local_class is None
    assert fact.standard_id.startswith("nd07")
    assert fact.indicators["employment"] is True and fact.indicators["telecom"] is False
    assert fact.indicators["sanitation"] is True  # the collector's justified override
    with db.session() as s:
        assert s.scalar(select(Submission.review_state)) == "received"
    assert count(db, SubmissionProblem) == 0


def test_the_same_household_next_year_is_classified_by_that_years_standard(
    collector, registry, shipped, db
):
    # POV-02: 2027 brings ND 351's 2,200,000 rural line; 2,000,000 with 8 deprivations stays poor,
    # while in 2026 (ND 07 line 1,500,000) it is above the line: medium living standard.
    xml = sample(
        "pov1.xml",
        **{
            "<period>2025<": "<period>2026<",
            "<income_per_capita>1200000<": "<income_per_capita>2000000<",
        },
    )
    collector.submit(xml)
    assert poverty_fact(db).poverty_class == "medium"
    xml27 = xml.replace(b"<period>2026<", b"<period>2027<").replace(b"fa22d4b7", b"fa22d4b8")
    collector.submit(xml27)
    with db.session() as s:
        by_period = dict(s.execute(select(PovertyFact.period, PovertyFact.poverty_class)).all())
    assert by_period == {"2026": "medium", "2027": "poor"}


def test_urban_commune_uses_the_urban_line_and_missing_code_is_a_problem(
    collector, registry, shipped, db
):
    # pov2 was filled in Phường Quy Nhơn Bắc without a household code: kept, not counted.
    replies = collector.submit(sample("pov2.xml"))
    assert [r.status for r in replies] == [201]
    assert count(db, PovertyFact) == 0
    with db.session() as s:
        rules = set(s.scalars(select(SubmissionProblem.rule)))
        assert {"household-unidentified", "required"} <= rules
        assert s.scalar(select(Submission.review_state)) == "hasIssues"
    # POV-01 urban, 2026: 1,900,000 ≤ 2,000,000 and 3 deprivations -> poor.
    fixed = sample(
        "pov2.xml",
        **{
            "<household_code />": "<household_code>QNB-K01-004</household_code>",
            "08ac4fdd": "08ac4fde",
        },
    )
    collector.submit(fixed)
    fact = poverty_fact(db)
    assert (fact.area_kind, fact.deprivation_count, fact.poverty_class) == ("urban", 3, "poor")
    assert fact.ethnic_minority is True


def test_a_form_value_that_disagrees_with_the_rules_is_recorded(collector, registry, shipped, db):
    xml = sample("pov1.xml", **{"<ind_telecom>0<": "<ind_telecom>1<"})
    collector.submit(xml)
    with db.session() as s:
        problem = s.scalar(select(SubmissionProblem))
        assert (problem.rule, problem.value) == ("indicator-mismatch", "form=1 server=0")
        assert problem.path.endswith("/ind_telecom")
        assert "telecom" in problem.message_en and problem.message_vi
        assert s.scalar(select(Submission.review_state)) == "hasIssues"
    assert poverty_fact(db).indicators["telecom"] is False  # the server's value counts


def test_a_commune_missing_from_the_registry_is_a_problem_until_rebuild(collector, shipped, db):
    collector.submit(sample("pov1.xml"))
    assert count(db, PovertyFact) == 0
    with db.session() as s:
        assert "commune-unknown" in set(s.scalars(select(SubmissionProblem.rule)))
        areas.load_official(s)
        s.commit()
    assert facts.rebuild(db, form_id="poverty_review") == 1
    assert poverty_fact(db).poverty_class == "poor"


def test_latest_submission_per_household_and_period_counts(collector, registry, shipped, db):
    collector.submit(sample("pov1.xml"))
    later = sample(
        "pov1.xml",
        **{"fa22d4b7": "fa22d4b9", "<income_per_capita>1200000<": "<income_per_capita>3000000<"},
    )
    collector.submit(later)
    assert count(db, PovertyFact) == 1
    assert poverty_fact(db).poverty_class == "not_poor"


def test_an_edit_that_moves_the_household_leaves_no_stale_fact(collector, registry, shipped, db):
    # Approved, then corrected on the phone: the household code was wrong. The old household must
    # no longer count, and the corrected one is not approved until a supervisor says so.
    collector.submit(sample("pov1.xml"))
    with db.session() as s:
        s.execute(update(Submission).values(review_state="approved"))
        facts.set_approved(s, "poverty_review", s.scalar(select(Submission.id)), True)
        s.commit()
    edit = sample(
        "pov1.xml",
        **{
            "fa22d4b7": "fa22d4c0",
            "</instanceID>": "</instanceID><deprecatedID>uuid:fa22d4b7-ce38-4004-900a-b698b0fd8ee7"
            "</deprecatedID>",
            "NC-T01-017<": "NC-T01-018<",
        },
    )
    assert [r.status for r in collector.submit(edit)] == [201]
    with db.session() as s:
        rows = s.execute(select(PovertyFact.household_key, PovertyFact.approved)).all()
    assert rows == [("21607/NC-T01-018", False)]


def test_cultural_family_and_satisfaction_submissions_become_facts(
    collector, registry, shipped, db
):
    # CF: one criterion not met (c2_6: school-age children attend school) and one disqualifier.
    assert [r.status for r in collector.submit(sample("cf.xml"))] == [201]
    # SAT: QĐ 318/2022 chosen over the 2026 default; items 4, 8, 12 and 16 not yet satisfied.
    assert [r.status for r in collector.submit(sample("sat.xml"))] == [201]
    with db.session() as s:
        cf = s.scalar(select(CulturalFamilyFact))
        sat = s.scalar(select(SatisfactionFact))
    assert (cf.period, cf.household_key, cf.meeting_result) == ("2025", "21607/NC-T02-044", "dat")
    assert (cf.earned, cf.failed, cf.disqualified_by) == (False, ["c2_6"], ["dq_4"])
    assert (sat.period, sat.household_key, sat.criteria_set) == (
        "2026",
        "21607/HH-01",
        "qd318_2022",
    )
    assert sat.not_satisfied == [f"s_qd318_2022_{n}" for n in (4, 8, 12, 16)]
    assert len(sat.satisfied) == 15 and sat.agree is True


def test_cli_facts_rebuild_shows_progress_and_counts(
    collector, registry, shipped, db, database_url, tmp_path
):
    from click.testing import CliRunner

    from khudan.cli import main

    collector.submit(sample("pov1.xml"))
    collector.submit(sample("cf.xml"))
    env = {
        "KHUDAN_DATABASE_URL": database_url,
        "KHUDAN_SECRET_KEY": "x",
        "KHUDAN_INSTANCE_DIR": str(tmp_path / "i"),
        "KHUDAN_MEDIA_ROOT": str(tmp_path / "m"),
    }
    r = CliRunner().invoke(main, ["facts", "rebuild"], env=env)
    assert r.exit_code == 0, r.output
    assert "Rebuilding facts" in r.output and "2 household fact(s) derived" in r.output
    r = CliRunner().invoke(
        main, ["facts", "rebuild", "--form", "poverty_review", "--period", "2024"], env=env
    )
    assert "0 household fact(s) derived" in r.output
    assert count(db, PovertyFact) == 1  # other periods are left alone


def test_a_very_long_head_name_is_kept_short_in_the_facts(collector, registry, shipped, db):
    """The village-meeting list's index holds the head's name; PostgreSQL refuses an index entry
    over about 2.7 kB, so a pasted essay must not make the facts (or the submission) fail."""
    long = "Nguyễn Thị " + "Hoa" * 2000
    replies = collector.submit(
        sample("pov1.xml", **{"Nguyễn Văn Hải</head_name>": f"{long}</head_name>"})
    )
    assert [r.status for r in replies] == [201]
    fact = poverty_fact(db)
    assert fact.head_name == long[: facts.NAME_LENGTH] and fact.poverty_class == "poor"
