"""Real clients over real HTTP: ODK's own pyodk, the python-odata library reading the feed page by
page, and the requests Excel's and Power BI's OData connector makes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests
from odata import ODataService
from pyodk.__version__ import __version__ as PYODK_VERSION
from pyodk._utils.config import CentralConfig, Config
from pyodk.client import Client
from pyodk.errors import PyODKError

from khudan.app import create_app

PASSWORD = "correct horse"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def pyodk_client(url: str, username: str, cache) -> Client:
    central = CentralConfig(
        base_url=url, username=username, password=PASSWORD, default_project_id=1
    )
    return Client(config=Config(central=central), cache_path=cache)


def test_pyodk_logs_in_lists_reads_tables_and_reviews(serve, app, households, make_user, tmp_path):
    make_user("lan", "supervisor", areas=())
    make_user("admin1", "admin")
    url = serve(app)
    cache = tmp_path / "pyodk_cache.toml"
    with pyodk_client(url, "admin1", cache) as client:
        assert [p.id for p in client.projects.list()] == [1]
        forms = client.forms.list()
        assert [(f.xmlFormId, f.version, f.state) for f in forms] == [("household", "1", "open")]
        listed = client.submissions.list(form_id="household")
        assert [s.instanceId for s in listed] == ["uuid:h3", "uuid:h2", "uuid:h1"]
        assert listed[0].reviewState is None and listed[0].submitterId > 0
        one = client.submissions.get("uuid:h2", form_id="household")
        assert one.instanceName == "HH-02 - Trần Thị Bình"
        table = client.submissions.get_table(form_id="household", top=2, count=True)
        assert table["@odata.count"] == 3 and len(table["value"]) == 2
        assert "@odata.nextLink" in table
        rest = client.get(table["@odata.nextLink"]).json()
        assert [r["__id"] for r in rest["value"]] == ["uuid:h1"]
        members = client.submissions.get_table(
            form_id="household", table_name="Submissions.member", select="m_name"
        )
        assert [m["m_name"] for m in members["value"]] == ["Bình", "Cúc", "An"]
        filtered = client.submissions.get_table(
            form_id="household", filter="__system/reviewState eq null", wkt=True, expand="*"
        )
        assert filtered["value"][1]["location"] == "POINT (109.2237 13.7765 12)"
        # Review as pyodk does it: a comment, then the state (khudan wants the reason first).
        client.submissions.add_comment("uuid:h1", "Ảnh nhà bị mờ", form_id="household")
        client.submissions.review("uuid:h1", "rejected", form_id="household")
        client.submissions.review("uuid:h2", "approved", form_id="household", comment="Tốt")
        comments = client.submissions.list_comments("uuid:h1", form_id="household")
        assert [c.body for c in comments] == ["Ảnh nhà bị mờ"]
        states = {s.instanceId: s.reviewState for s in client.submissions.list(form_id="household")}
        assert states == {"uuid:h3": None, "uuid:h2": "approved", "uuid:h1": "rejected"}
        approved = client.submissions.get_table(
            form_id="household", filter="__system/reviewState eq 'approved'", select="__id"
        )
        assert approved["value"] == [{"__id": "uuid:h2"}]
    # The cached token is checked with GET /v1/users/current and used again.
    assert "token" in cache.read_text()
    with pyodk_client(url, "admin1", cache) as again:
        assert [f.xmlFormId for f in again.forms.list()] == ["household"]
    # A supervisor with no areas sees no rows, and cannot review what it cannot see.
    with pyodk_client(url, "lan", tmp_path / "lan.toml") as lan:
        assert lan.submissions.list(form_id="household") == []
        try:
            lan.submissions.review("uuid:h3", "approved", form_id="household")
        except PyODKError as exc:
            assert exc.args[1].status_code == 404
        else:
            raise AssertionError("a row outside the supervisor's areas was reviewed")


def test_python_odata_reads_every_page_of_the_feed(serve, settings, db, households, make_user):
    """An OData library that knows nothing of ODK: it reads $metadata, builds its classes, and
    follows @odata.nextLink (here a page holds 2 rows)."""
    make_user("lan", "admin")
    url = serve(create_app(settings.but(odata_page_size=2), db=db))
    session = requests.Session()
    seen: list[str] = []
    session.hooks["response"].append(lambda r, *a, **k: seen.append(r.request.path_url))
    login = {"email": "lan", "password": PASSWORD}
    token = session.post(f"{url}/v1/sessions", json=login).json()["token"]
    session.headers["Authorization"] = f"Bearer {token}"
    service = ODataService(
        f"{url}/v1/projects/1/forms/household.svc",
        reflect_entities=True,
        session=session,
        quiet_progress=True,
    )
    assert set(service.entities) == {"Submissions", "Submissions.member"}
    submissions = service.entities["Submissions"]
    rows = service.query(submissions).all()
    assert [r.__id for r in rows] == ["uuid:h3", "uuid:h2", "uuid:h1"]
    assert [r.hh_code for r in rows] == ["HH-03", "HH-02", "HH-01"]
    assert rows[1].hh_size == 2 and rows[1].meta["instanceName"] == "HH-02 - Trần Thị Bình"
    pages = [p for p in seen if "/Submissions" in p and "$count" not in p]
    assert len(pages) == 2 and "skiptoken" in pages[1]
    assert service.query(submissions).count() == 3
    members = service.query(service.entities["Submissions.member"]).all()
    assert [m.m_name for m in members] == ["Bình", "Cúc", "An"]


POWER_QUERY = {
    # What Power Query (Excel, Power BI) sends with OData.Feed, Basic auth over HTTPS.
    "Accept": "application/json;odata.metadata=minimal;q=1.0,application/json;"
    "odata=minimalmetadata;q=0.9,application/atomsvc+xml;q=0.8,application/atom+xml;q=0.8,"
    "application/xml;q=0.7,text/plain;q=0.7",
    "OData-MaxVersion": "4.0",
    "MaxDataServiceVersion": "3.0",
    "User-Agent": "Microsoft.Data.Mashup (https://go.microsoft.com/fwlink/?LinkID=304225)",
    "X-Forwarded-Proto": "https",  # TLS ends at the proxy in front of khudan
}


def behind_proxy(link: str | None) -> str | None:
    """The proxy's side of a link khudan wrote for people (https, where TLS ends)."""
    return link and link.replace("https://", "http://", 1)


def test_excel_and_power_bi_read_metadata_then_every_page(
    serve, settings, db, households, make_user
):
    make_user("lan", "admin")
    url = serve(create_app(settings.but(odata_page_size=2, trusted_proxies=1), db=db))
    svc = f"{url}/v1/projects/1/forms/household.svc"
    feed = requests.Session()
    feed.headers.update(POWER_QUERY)
    feed.auth = ("lan", PASSWORD)
    doc = feed.get(svc)
    assert doc.status_code == 200 and doc.headers["OData-Version"] == "4.0"
    assert doc.headers["Content-Type"].startswith("application/json;")
    sets = [t["url"] for t in doc.json()["value"]]
    context = doc.json()["@odata.context"]
    assert context == f"{svc}/$metadata".replace("http://", "https://")  # the address people use
    metadata = feed.get(behind_proxy(context))
    assert metadata.status_code == 200
    root = ET.fromstring(metadata.content)
    declared = {
        t.get("Name"): {
            p.get("Name") for p in t if p.tag in (f"{EDM}Property", f"{EDM}NavigationProperty")
        }
        for t in root.iter(f"{EDM}EntityType")
    }
    container = [s.get("Name") for s in root.iter(f"{EDM}EntitySet")]
    assert container == sets
    tables: dict[str, list[dict]] = {}
    for name in sets:
        link, rows = f"{svc}/{name}", []
        while link:
            page = feed.get(link)
            assert page.status_code == 200, page.text
            body = page.json()
            assert next(iter(body)) == "@odata.context"  # first, as OData JSON requires
            rows += body["value"]
            link = behind_proxy(body.get("@odata.nextLink"))
        tables[name] = rows
        for row in rows:  # every value belongs to a declared column
            assert {k.split("@")[0] for k in row} <= declared[name] | {"__id"}
    assert len(tables["Submissions"]) == 3 and len(tables["Submissions.member"]) == 3
    by_id = {r["__id"] for r in tables["Submissions"]}
    assert {m["__Submissions-id"] for m in tables["Submissions.member"]} <= by_id
    # Over plain HTTP the same password is refused: Basic only travels inside TLS.
    plain = requests.get(svc, auth=("lan", PASSWORD), timeout=5)
    assert plain.status_code == 401 and plain.json()["code"] == "401.3"


@pytest.fixture
def household_list(db, official_areas, storage, make_user):
    """The registry with thôn Bắc (Xã Nhơn Châu) and tổ 1 (Phường Quy Nhơn Bắc), the shipped
    poverty review published (so its households list exists), an admin and a supervisor of Xã
    Nhơn Châu."""
    from pathlib import Path

    from khudan.services import areas, forms

    with db.session() as s:
        areas.import_areas(
            s,
            [
                {"commune_code": "21607", "code": "T01", "name": "Thôn Bắc"},
                {"commune_code": "21553", "code": "K01", "name": "Tổ 1"},
            ],
        )
        s.commit()
    shipped = Path(__file__).resolve().parents[2] / "forms" / "poverty_review.xlsx"
    forms.publish_xlsform(db, storage, shipped, validate=False)
    make_user("admin1", "admin")
    make_user("lan", "supervisor", areas=("21607",))


def test_pyodk_reads_and_changes_the_household_list(serve, app, household_list, tmp_path):
    """pyodk's entity_lists and entities against khudan's households, as against Central: a
    supervisor of Xã Nhơn Châu sees and changes only its households."""
    url = serve(app)
    with pyodk_client(url, "admin1", tmp_path / "a.toml") as client:
        (households,) = client.entity_lists.list()
        assert households.name == "households" and households.approvalRequired is True
        client.entities.create(
            label="QN-1 - Lê Văn Tám",
            data={"household_code": "QN-1", "commune": "21553", "area_code": "21553.K01"},
            entity_list_name="households",
        )
    with pyodk_client(url, "lan", tmp_path / "l.toml") as client:
        made = client.entities.create(
            label="NC-1 - Nguyễn Văn An",
            data={"household_code": "NC-1", "commune": "21607", "area_code": "21607.T01"},
            entity_list_name="households",
        )
        assert (
            made.currentVersion.version == 1
            and made.currentVersion.data["household_code"] == "NC-1"
        )
        listed = client.entities.list(entity_list_name="households")
        assert [e.uuid for e in listed] == [made.uuid]  # not Quy Nhơn Bắc's
        changed = client.entities.update(
            made.uuid,
            entity_list_name="households",
            data={"head_name": "Nguyễn Văn An"},
            base_version=1,
        )
        assert changed.currentVersion.version == 2
        with pytest.raises(PyODKError):  # version 1 is no longer current
            client.entities.update(
                made.uuid, entity_list_name="households", data={"head_name": "X"}, base_version=1
            )
        table = client.entities.get_table(entity_list_name="households")
        assert [(r["__id"], r["head_name"]) for r in table["value"]] == [
            (made.uuid, "Nguyễn Văn An")
        ]
        assert client.entities.delete(made.uuid, entity_list_name="households") is True
        assert client.entities.list(entity_list_name="households") == []


def test_pyodk_merges_a_communes_list_and_makes_new_lists(
    serve, app, db, household_list, make_user, tmp_path
):
    """pyodk's create_many, merge and entity_lists.create against khudan, as against Central: a
    commune's households arrive in one request, all or none; merge adds the new column, creates
    the new households and updates the changed ones; admins and designers make new lists."""
    from sqlalchemy import select

    from khudan.models import AuditEvent

    make_user("thu", "collector", areas=("21607",))
    url = serve(app)

    def row(code: str, head: str, commune: str = "21607", area: str = "T01") -> dict:
        return {
            "label": f"{code} - {head}",
            "household_code": code,
            "head_name": head,
            "commune": commune,
            "area_code": f"{commune}.{area}",
        }

    with pyodk_client(url, "lan", tmp_path / "l.toml") as lan:
        made = lan.entities.create_many(
            [row("NC-1", "Nguyễn Văn An"), row("NC-2", "Trần Thị Bình")],
            entity_list_name="households",
            create_source="ho_2025.csv",
            source_size="2",
        )
        assert made is True
        # One household of another commune: none of the three is made, and the error says which.
        with pytest.raises(PyODKError) as refused:
            lan.entities.create_many(
                [row("NC-3", "Lê Văn Cường"), row("QN-1", "Tám", "21553", "K01"), row("NC-4", "D")],
                entity_list_name="households",
            )
        problem = refused.value.args[1].json()
        assert problem["code"] == "422.36"
        assert (problem["details"]["index"], problem["details"]["total"]) == (2, 3)
        listed = lan.entities.get_table(entity_list_name="households")["value"]
        assert sorted(r["household_code"] for r in listed) == ["NC-1", "NC-2"]

    with pyodk_client(url, "admin1", tmp_path / "a.toml") as admin:
        # The commune's new list: NC-1's head corrected, NC-3 new, a column nobody had.
        source = [
            {**row("NC-1", "Nguyễn Văn Anh"), "label": "NC-1 - Nguyễn Văn An"},
            row("NC-2", "Trần Thị Bình"),
            {**row("NC-3", "Lê Văn Cường"), "ghi_chu": "mới tách hộ"},
        ]
        actions = admin.entities.merge(
            source, entity_list_name="households", match_keys=("household_code",)
        )
        assert sorted(actions.to_insert) and len(actions.to_update) >= 1
        table = {
            r["household_code"]: r
            for r in admin.entities.get_table(entity_list_name="households")["value"]
        }
        assert sorted(table) == ["NC-1", "NC-2", "NC-3"]
        assert table["NC-1"]["head_name"] == "Nguyễn Văn Anh"
        assert table["NC-1"]["__system"]["version"] == 2
        assert table["NC-2"]["__system"]["version"] == 1  # unchanged, not touched
        assert table["NC-3"]["ghi_chu"] == "mới tách hộ"
        # A list of its own: made empty, then filled by merge (its properties added on the way).
        trees = admin.entity_lists.create(entity_list_name="cay_xanh", approval_required=False)
        assert (trees.name, trees.approvalRequired) == ("cay_xanh", False)
        with pytest.raises(PyODKError):  # it exists now
            admin.entity_lists.create(entity_list_name="cay_xanh")
        admin.entities.merge(
            [{"label": "Cây đa đầu làng", "loai": "đa"}], entity_list_name="cay_xanh"
        )
        (tree,) = admin.entities.get_table(entity_list_name="cay_xanh")["value"]
        assert (tree["label"], tree["loai"]) == ("Cây đa đầu làng", "đa")

    thu = pyodk_client(url, "thu", tmp_path / "t.toml")
    with thu, pytest.raises(PyODKError):  # collectors shape no lists
        thu.entity_lists.create(entity_list_name="khac")
    with db.session() as s:
        logged = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "entity.create_many")
            .order_by(AuditEvent.id)
        ).all()
        assert [(e.details["created"], e.details["source"]) for e in logged] == [
            (2, "ho_2025.csv"),  # what the client named
            (1, f"pyodk v{PYODK_VERSION}"),  # merge's own name for its source
            (1, f"pyodk v{PYODK_VERSION}"),
        ]
