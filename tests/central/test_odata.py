"""The OData v4 feed of a form (/v1/projects/1/forms/<id>.svc) as Central's clients read it:
service document, $metadata, Submissions and repeat tables, paging, $count, $filter, $select,
$expand=*, $wkt, and the errors for what is not offered."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from factories import household_xml
from sqlalchemy import event, select

from khudan.app import create_app
from khudan.models import User

P = "/v1/projects/1"
SVC = f"{P}/forms/household.svc"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def get(client, headers, url: str) -> dict:
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.json
    assert r.headers["OData-Version"] == "4.0"
    return r.json


def follow(client, headers, url: str) -> tuple[list[dict], int]:
    """Every row of a table, following @odata.nextLink; and how many pages that took."""
    rows, pages = [], 0
    while url:
        body = get(client, headers, url)
        rows += body["value"]
        pages += 1
        link = body.get("@odata.nextLink")
        url = link and link.removeprefix("http://localhost")
    return rows, pages


def test_service_document_and_metadata_describe_every_table(client, households, central_login):
    h = central_login()
    doc = get(client, h, SVC)
    assert doc["@odata.context"] == f"http://localhost{SVC}/$metadata"
    assert [t["url"] for t in doc["value"]] == ["Submissions", "Submissions.member"]
    r = client.get(f"{SVC}/$metadata", headers=h)
    assert r.mimetype == "application/xml"
    root = ET.fromstring(r.data)
    types = {t.get("Name"): t for t in root.iter(f"{EDM}EntityType")}
    assert set(types) == {"Submissions", "Submissions.member"}
    props = {p.get("Name"): p.get("Type") for p in types["Submissions"].iter(f"{EDM}Property")}
    assert props["hh_size"] == "Edm.Int64"
    assert props["location"] == "Edm.GeographyPoint"
    assert props["meta"] == "org.opendatakit.user.household.meta"
    nav = types["Submissions"].find(f"{EDM}NavigationProperty")
    assert nav.get("Type") == "Collection(org.opendatakit.user.household.Submissions.member)"
    member = {p.get("Name") for p in types["Submissions.member"].iter(f"{EDM}Property")}
    assert member == {"__id", "__Submissions-id", "m_name", "m_photo"}
    # Every property a row carries is declared (what Power BI's type check relies on).
    row = get(client, h, f"{SVC}/Submissions?$top=1")["value"][0]
    assert set(row) - {"member@odata.navigationLink"} <= set(props)


def test_rows_nest_groups_type_answers_and_link_repeats(client, households, central_login):
    body = get(client, central_login(), f"{SVC}/Submissions")
    assert body["@odata.context"] == f"http://localhost{SVC}/$metadata#Submissions"
    assert "@odata.nextLink" not in body and "@odata.count" not in body
    rows = {r["__id"]: r for r in body["value"]}
    assert list(rows) == ["uuid:h3", "uuid:h2", "uuid:h1"]  # newest first
    h2 = rows["uuid:h2"]
    assert h2["hh_size"] == 2 and h2["head"] == "Trần Thị Bình"
    assert h2["meta"] == {"instanceID": "uuid:h2", "instanceName": "HH-02 - Trần Thị Bình"}
    assert h2["location"] == {
        "type": "Point",
        "coordinates": [109.2237, 13.7765, 12.0],
        "properties": {"accuracy": 5.0},
    }
    assert h2["member@odata.navigationLink"] == "Submissions('uuid%3Ah2')/member"
    assert "member" not in h2
    system = h2["__system"]
    assert system["submitterName"] == "thu" and isinstance(system["submitterId"], str)
    assert (system["attachmentsPresent"], system["attachmentsExpected"]) == (2, 2)
    assert (system["reviewState"], system["edits"], system["formVersion"]) == (None, 0, "1")
    assert system["submissionDate"].endswith("Z")
    assert rows["uuid:h3"]["house_photo"] is None  # an empty answer is null


def test_expand_wkt_and_select(client, households, central_login):
    h = central_login()
    expanded = get(client, h, f"{SVC}/Submissions?$expand=*&$wkt=true")["value"][1]
    assert [m["m_name"] for m in expanded["member"]] == ["Bình", "Cúc"]
    assert expanded["location"] == "POINT (109.2237 13.7765 12)"
    picked = get(
        client, h, f"{SVC}/Submissions?$select=__id,hh_code,meta/instanceName,__system/reviewState"
    )
    assert picked["value"][0] == {
        "__id": "uuid:h3",
        "hh_code": "HH-03",
        "meta": {"instanceName": "HH-03 - Nguyễn Văn An"},
        "__system": {"reviewState": None},
    }
    unknown = client.get(f"{SVC}/Submissions?$select=nosuch", headers=h)
    assert unknown.status_code == 400 and unknown.json["code"] == "400.22"
    both = client.get(f"{SVC}/Submissions?$select=__id&$expand=*", headers=h)
    assert both.status_code == 501 and both.json["code"] == "501.1"


def test_repeat_table_rows_point_to_their_submission(client, households, central_login):
    h = central_login()
    rows = get(client, h, f"{SVC}/Submissions.member")["value"]
    assert [(r["__Submissions-id"], r["m_name"]) for r in rows] == [
        ("uuid:h2", "Bình"),
        ("uuid:h2", "Cúc"),
        ("uuid:h1", "An"),
    ]
    assert rows[0]["m_photo"] == "b.jpg" and rows[1]["m_photo"] is None
    expanded = get(client, h, f"{SVC}/Submissions?$expand=*")["value"]
    ids = [m["__id"] for s in expanded for m in s.get("member", [])]
    assert ids == [r["__id"] for r in rows]  # the same stable ids both ways
    one = get(client, h, f"{SVC}/Submissions('uuid%3Ah2')/member")["value"]
    assert [r["m_name"] for r in one] == ["Bình", "Cúc"]
    single = get(client, h, f"{SVC}/Submissions('uuid%3Ah1')")["value"]
    assert [r["hh_code"] for r in single] == ["HH-01"]
    assert client.get(f"{SVC}/Submissions('uuid%3Anone')", headers=h).status_code == 404
    assert client.get(f"{SVC}/Submissions.nosuch", headers=h).status_code == 404


def test_top_skip_count_and_next_links_read_every_row_once(client, households, central_login):
    h = central_login()
    first = get(client, h, f"{SVC}/Submissions?$top=2&$count=true")
    assert first["@odata.count"] == 3 and len(first["value"]) == 2
    query = dict(p.split("=", 1) for p in urlsplit(first["@odata.nextLink"]).query.split("&"))
    assert query["%24top"] == "2" and query["%24skiptoken"].startswith("01")
    rows, pages = follow(client, h, f"{SVC}/Submissions?$top=1")
    assert [r["__id"] for r in rows] == ["uuid:h3", "uuid:h2", "uuid:h1"] and pages == 3
    skipped = get(client, h, f"{SVC}/Submissions?$skip=1&$top=1&$count=true")
    assert [r["__id"] for r in skipped["value"]] == ["uuid:h2"] and skipped["@odata.count"] == 3
    members, pages = follow(client, h, f"{SVC}/Submissions.member?$top=1")
    assert [m["m_name"] for m in members] == ["Bình", "Cúc", "An"] and pages == 3
    counted = get(client, h, f"{SVC}/Submissions.member?$count=true&$top=0")
    assert counted["@odata.count"] == 3 and counted["value"] == []
    bad = client.get(f"{SVC}/Submissions?$skiptoken=01bm9wZQ==", headers=h)
    assert bad.status_code == 400 and bad.json["code"] == "400.21"


def test_the_server_pages_what_nobody_limited(settings, db, households, central_login):
    """Without $top a page holds KHUDAN_ODATA_PAGE_SIZE rows and links to the next."""
    small = create_app(settings.but(odata_page_size=2), db=db).test_client()
    h = central_login()
    rows, pages = follow(small, h, f"{SVC}/Submissions")
    assert [r["__id"] for r in rows] == ["uuid:h3", "uuid:h2", "uuid:h1"] and pages == 2
    limited, pages = follow(small, h, f"{SVC}/Submissions?$top=5")
    assert len(limited) == 3 and pages == 2  # $top above the page size is paged too


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("__system/reviewState eq null", ["uuid:h3", "uuid:h2"]),
        ("__system/reviewState eq 'approved'", ["uuid:h1"]),
        ("__system/reviewState ne 'approved' and __id ne 'uuid:h3'", ["uuid:h2"]),
        ("not (__system/reviewState eq null) or __id eq 'uuid:h3'", ["uuid:h3", "uuid:h1"]),
        ("__system/submissionDate gt 2020-01-01T00:00:00.000Z", ["uuid:h3", "uuid:h2", "uuid:h1"]),
        ("__system/submissionDate lt 2020-01-01", []),
        ("year(__system/submissionDate) ge 2020 and __system/submissionDate le now()", 3),
        ("$root/Submissions/__system/submitterId eq '{thu}'", 3),
        ("__system/submitterId ne {thu}", []),
        ("__system/deletedAt eq null", 3),
        ("__system/updatedAt eq null", ["uuid:h3", "uuid:h2"]),
    ],
)
def test_filter_subset(client, households, central_login, db, expression, expected):
    h = central_login()
    url = f"{P}/forms/household/submissions/uuid%3Ah1"
    assert client.patch(url, json={"reviewState": "approved"}, headers=h).status_code == 200
    with db.session() as s:
        thu = s.scalar(select(User.id).where(User.username == "thu"))
    expression = expression.replace("{thu}", str(thu))
    rows = get(client, h, f"{SVC}/Submissions?$filter={expression}&$select=__id")["value"]
    ids = [r["__id"] for r in rows]
    assert (len(ids) if isinstance(expected, int) else ids) == expected
    # The same filter applies to the submissions of a repeat table.
    members = get(client, h, f"{SVC}/Submissions.member?$filter={expression}")["value"]
    assert {m["__Submissions-id"] for m in members} == set(ids) - {"uuid:h3"}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("$filter=hh_code eq 'HH-01'", "501.1"),
        ("$filter=__system/reviewState eq", "400.20"),
        ("$filter=__id add 1", "501.1"),
        ("$filter=__id", "400.20"),
        ("$filter=__system/submissionDate gt 'yesterday'", "400.20"),
        ("$filter=tolower(__id) eq 'a'", "501.1"),
        ("$orderby=hh_code", "501.1"),
        ("$apply=groupby(head)", "501.1"),
        ("$expand=member", "501.1"),
        ("$top=-1", "400.22"),
        ("$count=maybe", "400.22"),
        ("$format=atom", "501.1"),
    ],
)
def test_what_is_not_offered_is_said_plainly(client, households, central_login, query, code):
    headers = central_login()
    r = client.get(f"{SVC}/Submissions?{query}", headers=headers)
    assert (r.status_code, r.json["code"]) == (int(code.split(".")[0]), code)
    english = client.get(f"{SVC}/Submissions?{query}", headers={**headers, "Accept-Language": "en"})
    assert english.json["code"] == code and english.json["message"] != r.json["message"]
    assert " / " not in r.json["message"]  # one language each: Vietnamese by default


def test_a_page_costs_the_same_statements_however_many_submissions(
    client, households, collector, central_login, db
):
    """Cost does not grow with history: a page of 2 rows is as many queries with 3 or 13."""
    h = central_login()

    def statements(url: str) -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            get(client, h, url)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    before = statements(f"{SVC}/Submissions?$top=2&$count=true")
    second_page = get(client, h, f"{SVC}/Submissions?$top=2")["@odata.nextLink"]
    before_next = statements(second_page.removeprefix("http://localhost"))
    for i in range(10):
        xml = household_xml(f"uuid:more{i}", code=f"HH-1{i}", members=(("X", ""),))
        assert [r.status for r in collector.submit(xml)] == [201]
    assert statements(f"{SVC}/Submissions?$top=2&$count=true") == before
    later = get(client, h, f"{SVC}/Submissions?$top=2")["@odata.nextLink"]
    assert statements(later.removeprefix("http://localhost")) == before_next


def test_an_edit_from_collect_is_one_row_with_its_edit_count(
    client, households, collector, central_login
):
    edit = household_xml("uuid:h1-v2", code="HH-01", head="Lê Văn An", deprecated_id="uuid:h1")
    assert [r.status for r in collector.submit(edit)] == [201]
    h = central_login()
    rows = get(client, h, f"{SVC}/Submissions?$filter=__id eq 'uuid:h1'")["value"]
    (row,) = rows
    assert row["head"] == "Lê Văn An" and row["meta"]["instanceID"] == "uuid:h1-v2"
    assert (row["__system"]["edits"], row["__system"]["reviewState"]) == (1, "edited")
    assert row["__system"]["updatedAt"] is not None
    versions = client.get(f"{P}/forms/household/submissions/uuid%3Ah1/versions", headers=h).json
    assert [(v["instanceId"], v["current"]) for v in versions] == [
        ("uuid:h1-v2", True),
        ("uuid:h1", False),
    ]
    edited = get(client, h, f"{SVC}/Submissions?$filter=__system/reviewState eq 'edited'")
    assert [r["__id"] for r in edited["value"]] == ["uuid:h1"]
