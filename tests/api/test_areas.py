"""The area tree through the REST API: browsing and searching within a user's scope, importing
residential areas (CSV or JSON) with a report, and setting household counts.

The ``registry`` fixture holds the official provinces and communes, thôn T01 (120 households) and
T02 of Xã Nhơn Châu (21607, Gia Lai) and tổ dân phố K01 of Phường Quy Nhơn Bắc (21553, Gia Lai).
"""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from khudan.models import AuditEvent
from khudan.services import areas

PROVINCES = 34
COMMUNES = 3321
with areas.OFFICIAL_CSV.open(encoding="utf-8", newline="") as _fh:
    COMMUNES_OF_GIA_LAI = sum(1 for row in csv.DictReader(_fh) if row["province_code"] == "52")


def codes(r) -> list[str]:
    return [a["code"] for a in r.json["items"]]


def events(db, action: str) -> list[AuditEvent]:
    with db.session() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


def upload(client, headers, content: bytes, name: str = "thon.csv"):
    import io

    return client.post(
        "/api/v1/areas/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        headers=headers,
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/areas"),
        ("GET", "/api/v1/areas/52"),
        ("PATCH", "/api/v1/areas/52"),
        ("POST", "/api/v1/areas/import"),
    ],
)
def test_every_areas_route_needs_a_log_in(client, registry, method, path):
    r = client.open(path, method=method, json={})
    assert r.status_code == 401 and r.json["code"] == "401.5"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/api/v1/areas/21607", {"households_total": 1}),
        ("POST", "/api/v1/areas/import", {"rows": []}),
    ],
)
@pytest.mark.parametrize("role", ["designer", "supervisor", "collector"])
def test_only_an_admin_changes_the_registry(client, login, registry, method, path, body, role):
    headers = login("someone", role, areas=("21607",))
    r = client.open(path, method=method, json=body, headers=headers)
    assert r.status_code == 403 and r.json["code"] == "403.2"


def test_without_a_parent_the_list_is_the_provinces(client, login, registry):
    r = client.get("/api/v1/areas", headers=login())
    assert r.status_code == 200
    assert (r.json["page"], r.json["per_page"], r.json["total"]) == (1, 100, PROVINCES)
    assert {a["level"] for a in r.json["items"]} == {"province"}
    gia_lai = next(a for a in r.json["items"] if a["code"] == "52")
    assert gia_lai == {
        "code": "52",
        "name": "Gia Lai",
        "full_name": "Tỉnh Gia Lai",
        "level": "province",
        "kind": None,
        "parent_code": None,
        "households_total": None,
        "children": COMMUNES_OF_GIA_LAI,
    }
    assert codes(r) == sorted(codes(r))


def test_children_of_a_node_with_households(client, login, registry):
    r = client.get("/api/v1/areas?parent=21607", headers=login("dung", "designer"))
    assert r.status_code == 200 and r.json["total"] == 2
    assert [
        (a["code"], a["name"], a["households_total"], a["children"]) for a in r.json["items"]
    ] == [
        ("21607.T01", "Thôn Bắc", 120, 0),
        ("21607.T02", "Thôn Trung", None, 0),
    ]


def test_pages_of_a_level(client, login, registry):
    headers = login()
    r = client.get("/api/v1/areas?level=commune&per_page=1000&page=4", headers=headers)
    assert r.json["total"] == COMMUNES and len(r.json["items"]) == COMMUNES - 3000
    first = client.get("/api/v1/areas?level=commune&per_page=2", headers=headers).json
    second = client.get("/api/v1/areas?level=commune&per_page=2&page=2", headers=headers).json
    assert len(first["items"]) == len(second["items"]) == 2
    assert codes_of(first)[-1] < codes_of(second)[0]


def codes_of(body: dict) -> list[str]:
    return [a["code"] for a in body["items"]]


def test_search_by_name_ignores_case_even_for_vietnamese_letters(client, login, registry):
    headers = login()
    r = client.get("/api/v1/areas?q=NHƠN CHÂU", headers=headers)
    assert codes(r) == ["21607"]
    r = client.get("/api/v1/areas?q=đà nẵng&level=province", headers=headers)
    assert codes(r) == ["48"]
    r = client.get("/api/v1/areas?q=thôn&parent=21607", headers=headers)
    assert codes(r) == ["21607.T01", "21607.T02"]
    r = client.get("/api/v1/areas?q=100%25", headers=headers)
    assert r.status_code == 200 and r.json["total"] == 0


def test_search_by_name_without_the_vietnamese_marks(client, login, registry, db):
    """As people type on a phone: "Nhon Chau" finds "Nhơn Châu", "da nang" Đà Nẵng."""
    headers = login()
    assert codes(client.get("/api/v1/areas?q=Nhon Chau", headers=headers)) == ["21607"]
    assert codes(client.get("/api/v1/areas?q=da nang&level=province", headers=headers)) == ["48"]
    assert codes(client.get("/api/v1/areas?q=thon&parent=21607", headers=headers)) == [
        "21607.T01",
        "21607.T02",
    ]
    # The pages' area picker answers the same way.
    from web.conftest import csrf_of

    token = csrf_of(client.get("/app/login").text)
    client.post(
        "/app/login", data={"username": "admin1", "password": "correct horse", "csrf_token": token}
    )
    assert "21607" in client.get("/app/areas/search?q=nhon chau").text


def test_a_supervisor_sees_their_commune_its_thon_and_the_way_up_only(client, login, registry):
    headers = login("lan", "supervisor", areas=("21607",))
    r = client.get("/api/v1/areas", headers=headers)
    assert codes(r) == ["52"] and r.json["total"] == 1
    assert r.json["items"][0]["children"] == 1
    assert codes(client.get("/api/v1/areas?parent=52", headers=headers)) == ["21607"]
    assert codes(client.get("/api/v1/areas?parent=21607", headers=headers)) == [
        "21607.T01",
        "21607.T02",
    ]
    assert codes(client.get("/api/v1/areas?level=area", headers=headers)) == [
        "21607.T01",
        "21607.T02",
    ]
    assert codes(client.get("/api/v1/areas?q=Quy Nhơn", headers=headers)) == []
    assert client.get("/api/v1/areas?parent=21553", headers=headers).json["total"] == 0
    assert client.get("/api/v1/areas/52", headers=headers).json["children"] == 1
    assert client.get("/api/v1/areas/21607", headers=headers).json["children"] == 2


@pytest.mark.parametrize("code", ["21553", "21553.K01", "01", "nosuch"])
def test_an_area_outside_the_scope_is_404_like_an_unknown_one(client, login, registry, code):
    r = client.get(f"/api/v1/areas/{code}", headers=login("thu", "collector", areas=("21607",)))
    assert r.status_code == 404 and r.json["code"] == "404.4"


def test_a_thon_scope_sees_its_commune_and_province_but_not_the_other_thon(client, login, registry):
    headers = login("thu", "collector", areas=("21607.T01",))
    assert codes(client.get("/api/v1/areas?parent=21607", headers=headers)) == ["21607.T01"]
    assert client.get("/api/v1/areas/21607.T02", headers=headers).status_code == 404


def test_no_areas_means_nothing_for_a_collector_and_everything_for_a_designer(
    client, login, registry
):
    r = client.get("/api/v1/areas?level=commune", headers=login("thu", "collector"))
    assert r.json["total"] == 0 and r.json["items"] == []
    r = client.get("/api/v1/areas?level=commune", headers=login("dung", "designer"))
    assert r.json["total"] == COMMUNES


def test_one_area_with_its_children_and_households(client, login, registry):
    r = client.get("/api/v1/areas/21607.T01", headers=login())
    assert r.status_code == 200
    assert r.json == {
        "code": "21607.T01",
        "name": "Thôn Bắc",
        "full_name": "Thôn Bắc",
        "level": "area",
        "kind": None,
        "parent_code": "21607",
        "households_total": 120,
        "children": 0,
    }


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("per_page=0", {"per_page"}),
        ("per_page=1001", {"per_page"}),
        ("page=0&level=town", {"page", "level"}),
        ("page=x", {"page"}),
        ("parnet=52", {"parnet"}),
    ],
)
def test_invalid_query_is_422_per_parameter(client, login, registry, query, fields):
    r = client.get(f"/api/v1/areas?{query}", headers=login())
    assert r.status_code == 422 and r.json["code"] == "422.6"
    assert set(r.json["details"]["errors"]) == fields


def test_import_a_csv_file_with_a_bom_reports_each_row(client, db, login, registry):
    headers = login()
    content = (
        "\ufeffcommune_code,code,name,kind,households_total\n"
        "21607,T03,Thôn Nam,thon,95\n"
        "21607,T01,Thôn Bắc,,120\n"
        "21607,T02,Thôn Trung Mới,thon,\n"
        "99999,X,Không có,,\n"
        "21607,a/b,Sai mã,,\n"
        "21607,T04,Thôn Tư,,nhiều\n"
    ).encode()
    r = upload(client, headers, content)
    assert r.status_code == 200
    assert r.json == {
        "added": 1,
        "updated": 1,
        "unchanged": 1,
        "rejected": [
            {"line": 5, "reason": "không có mã xã '99999'"},
            {"line": 6, "reason": "mã 'a/b' phải có 1-40 chữ cái ASCII, chữ số, - hoặc _"},
            {"line": 7, "reason": "households_total 'nhiều' không phải số nguyên"},
        ],
    }
    r = client.get("/api/v1/areas/21607.T03", headers=headers)
    assert (r.json["name"], r.json["kind"], r.json["households_total"]) == ("Thôn Nam", "thon", 95)
    [event] = events(db, "area.import")
    assert event.details == {"added": 1, "updated": 1, "unchanged": 1, "rejected": 3}


def test_import_a_csv_file_without_a_bom(client, login, registry):
    r = upload(client, login(), "commune_code,code,name\n21553,K02,Tổ dân phố 2\n".encode())
    assert r.status_code == 200 and (r.json["added"], r.json["rejected"]) == (1, [])


def test_import_json_rows_numbers_rejections_by_position(client, db, login, registry):
    headers = login()
    r = client.post(
        "/api/v1/areas/import",
        json={
            "rows": [
                {"commune_code": "21553", "code": "K02", "name": "Tổ 2", "households_total": 80},
                {
                    "commune_code": 21607,
                    "code": "T01",
                    "name": "Thôn Bắc",
                    "households_total": "120",
                },
                {"commune_code": "21553", "code": "", "name": "Không mã"},
            ]
        },
        headers=headers,
    )
    assert r.status_code == 200
    assert r.json == {
        "added": 1,
        "updated": 0,
        "unchanged": 1,
        "rejected": [{"line": 3, "reason": "mã '' phải có 1-40 chữ cái ASCII, chữ số, - hoặc _"}],
    }
    assert client.get("/api/v1/areas/21553.K02", headers=headers).json["households_total"] == 80
    assert len(events(db, "area.import")) == 1


def test_import_of_another_content_type_is_415(client, db, login, registry):
    r = client.post(
        "/api/v1/areas/import",
        data=b"commune_code,code,name\n",
        content_type="text/csv",
        headers=login(),
    )
    assert r.status_code == 415 and r.json["code"] == "415.1"
    assert events(db, "area.import") == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "Missing data for required field."),
        ("commune_code,code,name\n21607,T05,Th\xf4n".encode("latin-1"), "not UTF-8"),
        (b"commune,code,ten\n21607,T05,x\n", "lacks commune_code, name"),
        (b"", "lacks commune_code, code, name"),
    ],
)
def test_an_unreadable_csv_is_422_on_the_file_field(client, db, login, registry, content, message):
    headers = login()
    if content is None:
        r = client.post(
            "/api/v1/areas/import",
            data={"other": "x"},
            content_type="multipart/form-data",
            headers=headers,
        )
    else:
        r = upload(client, headers, content)
    assert r.status_code == 422 and r.json["code"] == "422.6"
    assert list(r.json["details"]["errors"]) == ["file"]
    assert message in r.json["details"]["errors"]["file"][0]
    assert events(db, "area.import") == []


def test_invalid_json_import_is_422_per_field(client, login, registry):
    headers = login()
    r = client.post("/api/v1/areas/import", json={"rows": "21607,T05,x"}, headers=headers)
    assert r.status_code == 422 and set(r.json["details"]["errors"]) == {"rows"}
    r = client.post(
        "/api/v1/areas/import",
        json={"rows": [{"commune_code": ["21607"], "code": "T05", "nme": "x"}]},
        headers=headers,
    )
    assert r.status_code == 422
    assert set(r.json["details"]["errors"]["rows"]["0"]) == {"commune_code", "nme"}
    r = client.post("/api/v1/areas/import", json={}, headers=headers)
    assert r.status_code == 422 and set(r.json["details"]["errors"]) == {"rows"}


def test_set_the_households_of_an_area_is_audited(client, db, login, registry):
    headers = login()
    r = client.patch("/api/v1/areas/21607", json={"households_total": 1450}, headers=headers)
    assert r.status_code == 200
    assert (r.json["code"], r.json["households_total"], r.json["children"]) == ("21607", 1450, 2)
    assert client.get("/api/v1/areas/21607", headers=headers).json["households_total"] == 1450
    r = client.patch("/api/v1/areas/21607.T01", json={"households_total": None}, headers=headers)
    assert r.status_code == 200 and r.json["households_total"] is None
    assert [(e.target, e.details) for e in events(db, "area.update")] == [
        ("area:21607", {"households_total": [None, 1450]}),
        ("area:21607.T01", {"households_total": [120, None]}),
    ]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"households_total"}),
        ({"households_total": -1}, {"households_total"}),
        ({"households_total": "nhiều"}, {"households_total"}),
        ({"households_total": 5, "name": "x"}, {"name"}),
    ],
)
def test_invalid_households_is_422_per_field(client, login, registry, body, fields):
    r = client.patch("/api/v1/areas/21607", json=body, headers=login())
    assert r.status_code == 422 and set(r.json["details"]["errors"]) == fields


def test_set_the_households_of_an_unknown_area_is_404(client, login, registry):
    r = client.patch("/api/v1/areas/nosuch", json={"households_total": 1}, headers=login())
    assert r.status_code == 404 and r.json["code"] == "404.4"


def test_every_areas_route_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/swagger.json")
    assert spec.status_code == 200
    paths = spec.json["paths"]
    assert "get" in paths["/areas"]
    assert {p["name"] for p in paths["/areas"]["get"]["parameters"]} >= {
        "parent",
        "level",
        "q",
        "page",
        "per_page",
    }
    assert set(paths["/areas/{code}"]) >= {"get", "patch"}
    imported = paths["/areas/import"]["post"]
    assert imported["consumes"] == ["multipart/form-data"]
    assert {"200", "401", "403", "415", "422"} <= set(imported["responses"])


def test_import_rejections_in_english_when_asked(client, login, registry):
    content = "commune_code,code,name\n99999,X,Không có\n".encode()
    r = upload(client, {**login(), "Accept-Language": "en"}, content)
    assert r.json["rejected"] == [{"line": 2, "reason": "unknown commune code '99999'"}]
