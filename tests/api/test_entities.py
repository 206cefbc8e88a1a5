"""The entity-list API: lists, search within one's areas, a household's history, import, export,
changes with a base version, conflicts settled, deletion seen by phones."""

from __future__ import annotations

import csv
import io

import pytest

HOUSEHOLDS = (
    "label,household_code,head_name,province,commune,area_code,poverty_class\n"
    "NC-1 - Nguyễn Văn Hải,NC-1,Nguyễn Văn Hải,52,21607,21607.T01,poor\n"
    "NC-2 - Trần Thị Hoa,NC-2,Trần Thị Hoa,52,21607,21607.T02,near_poor\n"
    "QN-1 - Lê Văn Tám,QN-1,Lê Văn Tám,52,21553,21553.K01,poor\n"
).encode()


@pytest.fixture
def loaded(client, login, registry, shipped):
    admin = login()
    r = client.post(
        "/api/v1/entity-lists/households/import",
        data={"file": (io.BytesIO(HOUSEHOLDS), "households.csv")},
        headers=admin,
    )
    assert r.status_code == 200, r.json
    assert (r.json["created"], r.json["rejected"]) == (3, [])
    return admin


def test_the_shipped_forms_make_the_households_list(client, loaded):
    r = client.get("/api/v1/entity-lists", headers=loaded)
    assert r.status_code == 200
    (households,) = r.json
    assert households["name"] == "households" and households["approval_required"] is True
    for prop in ("household_code", "head_name", "area_code", "poverty_class", "period"):
        assert prop in households["properties"]
    assert households["entities"] == 3 and households["conflicts"] == 0


def test_search_ignores_marks_and_stays_in_the_readers_areas(client, login, loaded):
    lan = login("lan", "supervisor", areas=("21607",))
    r = client.get("/api/v1/entity-lists/households/entities?q=nguyen hai", headers=lan)
    assert [e["data"]["household_code"] for e in r.json["items"]] == ["NC-1"]
    r = client.get("/api/v1/entity-lists/households/entities", headers=lan)
    assert r.json["total"] == 2  # not Quy Nhơn Bắc's household
    r = client.get("/api/v1/entity-lists/households/entities?area=21607.T02", headers=lan)
    assert [e["label"] for e in r.json["items"]] == ["NC-2 - Trần Thị Hoa"]
    outside = client.get("/api/v1/entity-lists/households/entities?q=tam", headers=loaded).json
    uuid = outside["items"][0]["uuid"]
    assert (
        client.get(f"/api/v1/entity-lists/households/entities/{uuid}", headers=lan).status_code
        == 404
    )


def test_a_change_needs_the_current_version_and_is_kept_in_history(client, login, loaded):
    lan = login("lan", "supervisor", areas=("21607",))
    uuid = client.get("/api/v1/entity-lists/households/entities?q=NC-1", headers=lan).json["items"][
        0
    ]["uuid"]
    url = f"/api/v1/entity-lists/households/entities/{uuid}"
    r = client.patch(
        url, json={"data": {"head_name": "Nguyễn Văn Hà"}, "base_version": 1}, headers=lan
    )
    assert r.status_code == 200, r.json
    assert r.json["version"] == 2 and r.json["data"]["head_name"] == "Nguyễn Văn Hà"
    assert [v["source"] for v in r.json["versions"]] == ["api", "csv"]
    assert r.json["versions"][0]["user"] == "lan"
    stale = client.patch(url, json={"data": {"head_name": "X"}, "base_version": 1}, headers=lan)
    assert stale.status_code == 409 and stale.json["code"] == "409.31"
    unknown = client.patch(url, json={"data": {"colour": "red"}}, headers=lan)
    assert unknown.status_code == 422 and unknown.json["code"] == "422.32"
    moved = client.patch(
        url, json={"data": {"area_code": "21553.K01", "commune": "21553"}}, headers=lan
    )
    assert moved.status_code == 422  # not into an area outside the supervisor's


def test_collectors_read_but_do_not_change(client, login, loaded):
    thu = login("thu", "collector", areas=("21607.T01",))
    r = client.get("/api/v1/entity-lists/households/entities", headers=thu)
    assert r.status_code == 200 and r.json["total"] == 1
    assert (
        client.post(
            "/api/v1/entity-lists/households/entities", json={"label": "x"}, headers=thu
        ).status_code
        == 403
    )
    patch = client.patch(
        "/api/v1/entity-lists/households", json={"approval_required": False}, headers=thu
    )
    assert patch.status_code == 403


def test_create_export_and_delete(client, login, loaded):
    lan = login("lan", "supervisor", areas=("21607",))
    r = client.post(
        "/api/v1/entity-lists/households/entities",
        json={
            "label": "NC-9 - =cmd|' /C calc'!A0",
            "data": {
                "household_code": "NC-9",
                "province": "52",
                "commune": "21607",
                "area_code": "21607.T01",
            },
        },
        headers=lan,
    )
    assert r.status_code == 201, r.json
    uuid = r.json["uuid"]
    outside = client.post(
        "/api/v1/entity-lists/households/entities",
        json={"label": "QN-9", "data": {"commune": "21553", "area_code": "21553.K01"}},
        headers=lan,
    )
    assert outside.status_code == 422 and outside.json["code"] == "422.35"
    export = client.get("/api/v1/entity-lists/households/entities.csv", headers=lan)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert sorted(r["household_code"] for r in rows) == ["NC-1", "NC-2", "NC-9"]
    assert next(r for r in rows if r["name"] == uuid)["label"] == "NC-9 - =cmd|' /C calc'!A0"
    gone = client.delete(f"/api/v1/entity-lists/households/entities/{uuid}", headers=lan)
    assert gone.status_code == 204
    r = client.get("/api/v1/entity-lists/households/entities?q=NC-9", headers=lan)
    assert r.json["total"] == 0


def test_an_admin_chooses_when_submissions_change_the_list(client, loaded):
    r = client.patch(
        "/api/v1/entity-lists/households", json={"approval_required": False}, headers=loaded
    )
    assert r.status_code == 200 and r.json["approval_required"] is False
    assert client.get("/api/v1/entity-lists/nosuch", headers=loaded).status_code == 404
