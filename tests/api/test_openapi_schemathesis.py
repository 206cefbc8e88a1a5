"""Schemathesis against /api/v1/swagger.json: generated requests, valid and invalid, to every
operation, logged in as an admin. No answer may be a 500, and every answer must be one the document
lists for that operation, with a body of the documented shape.

The app holds real data (the registry, the shipped poverty_review form, the household test form with
its CSV, two households with a photo), and path parameters are drawn half the time from what exists,
so that the 200 answers are checked too, not only the 404s of random names.

Nothing is excluded. The multipart uploads (POST /forms, PUT /forms/{form_id}/media/{filename},
POST /areas/import) get random bytes for their file, which only reaches the error answers (broken
multipart, not an XLSForm, not UTF-8 CSV...); real uploads are in test_forms.py and test_areas.py.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import schemathesis
from collect import CollectClient, flask_sender
from factories import domain_sample, jpeg
from hypothesis import HealthCheck, settings
from openapi_paths import schema_with_known_paths
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from xlsform import form_md, xlsx_bytes

from khudan.services import forms

FORMS = Path(__file__).resolve().parents[2] / "forms"
PASSWORD = "correct horse"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

# Values that exist, for path parameters (the admin's own name is left out: resetting its password
# or disabling it would end the run's session). submission_id is filled in by the fixture.
KNOWN = {
    "form_id": ["poverty_review", "household"],
    "version": ["2026120501", "1", "_"],
    "filename": ["areas.csv", "villages.csv"],
    "name": ["house.jpg", "households"],
    "username": ["spare", "lan"],
    "code": ["52", "21607", "21607.T01"],
}


@pytest.fixture
def admin_headers(login) -> dict:
    return login("admin1", "admin")


@pytest.fixture
def api_schema(app, client, registry, db, storage, make_user, admin_headers):
    forms.publish_xlsform(db, storage, FORMS / "poverty_review.xlsx", validate=False)
    household = xlsx_bytes(form_md("household", version="1"))
    forms.publish(
        db,
        storage,
        xml=forms.convert_xlsform(household)[0],
        xlsx=household,
        media={"villages.csv": b"name,label\nt1,Thon 1\n"},
        validate=False,
    )
    make_user("thu", "collector", areas=("21607",))
    make_user("spare", "collector")
    make_user("lan", "supervisor", areas=("21607",))
    phone = CollectClient(flask_sender(client), "http://localhost", "thu", PASSWORD)
    rural = domain_sample("pov1.xml", **{"<house_photo />": "<house_photo>house.jpg</house_photo>"})
    urban = domain_sample(
        "pov2.xml", **{"<household_code />": "<household_code>QNB-K01-004</household_code>"}
    )
    assert [r.status for r in phone.submit(rural, {"house.jpg": jpeg()})] == [201]
    assert [r.status for r in phone.submit(urban)] == [201]
    listed = client.get("/api/v1/submissions", headers=admin_headers).json["items"]
    existing = {**KNOWN, "submission_id": sorted(item["id"] for item in listed)}
    return schema_with_known_paths(app, "/api/v1/swagger.json", existing)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_as_documented(case, client, admin_headers):
    headers = admin_headers
    if case.operation.method.upper() == "DELETE" and case.operation.path == "/sessions/current":
        headers = _fresh_admin_token(client)
    # buffered: werkzeug reads the whole answer and closes it (files are streamed from storage)
    case.call_and_validate(headers=headers, checks=CHECKS, buffered=True)


def _fresh_admin_token(client) -> dict:
    """Logging out ends the token it is sent with: give it a token of its own (from an address of
    its own, which the generated failed log-ins to POST /sessions cannot have throttled)."""
    r = client.post(
        "/api/v1/sessions",
        json={"username": "admin1", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "192.0.2.1"},
    )
    assert r.status_code == 201, r.json
    return {"Authorization": f"Bearer {r.json['token']}"}


# -- what schemathesis found, kept as plain examples (a 15-example run may not meet them again) --


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/areas?page=1283889647066950400",  # OFFSET overflowed SQLite's INTEGER
        "/api/v1/audit?page=1283889647066950400",
        "/api/v1/submissions?page=1283889647066950400",
    ],
)
def test_a_huge_page_number_is_invalid_input(client, admin_headers, path):
    r = client.get(path, headers=admin_headers)
    assert r.status_code == 422 and set(r.json["details"]["errors"]) == {"page"}


@pytest.mark.parametrize("suffix", ["", ".xml", "/comments", "/attachments/house.jpg"])
@pytest.mark.parametrize("number", [2**31, 2**63, 2**90], ids=["int4", "int8", "more"])
def test_a_huge_submission_id_is_not_found(client, admin_headers, suffix, number):
    """Beyond PostgreSQL's INTEGER, or SQLite's, the query itself failed: a 500."""
    r = client.get(f"/api/v1/submissions/{number}{suffix}", headers=admin_headers)
    assert r.status_code == 404 and r.json["code"] == "404.4"


def test_a_huge_submission_id_in_a_bulk_review_is_not_found(client, admin_headers):
    r = client.post(
        "/api/v1/submissions/review",
        headers=admin_headers,
        json={"ids": [2**31, 2**64], "review_state": "approved"},
    )
    assert r.status_code == 404 and r.json["code"] == "404.4"


def test_a_broken_multipart_area_import_is_400(client, admin_headers):
    r = client.post(
        "/api/v1/areas/import",
        headers={**admin_headers, "Content-Type": "multipart/form-data; boundary=8be09d9d"},
        data=b"--8be09d9d\r\n-6.1e+16--8be09d9d--\r\n",
    )
    assert r.status_code == 400 and r.json["code"] == "400.2"


def test_households_totals_that_are_not_plain_numbers_are_rejected_rows(
    client, admin_headers, registry
):
    rows = [
        {"commune_code": "21607", "code": "T03", "name": "Thôn Nam", "households_total": "²"},
        {"commune_code": "21607", "code": "T04", "name": "Thôn Tây", "households_total": "٣"},
        {"commune_code": "21607", "code": "T05", "name": "Thôn Đông", "households_total": 10**30},
    ]
    r = client.post("/api/v1/areas/import", headers=admin_headers, json={"rows": rows})
    assert r.status_code == 200, r.json
    assert [row["line"] for row in r.json["rejected"]] == [1, 2, 3] and r.json["added"] == 0
    r = client.patch(
        "/api/v1/areas/21607.T01", headers=admin_headers, json={"households_total": 10**30}
    )
    assert r.status_code == 422 and set(r.json["details"]["errors"]) == {"households_total"}


def test_times_are_written_with_their_offset(client, admin_headers):
    """RFC 3339, as the document's date-time promises; SQLite gives them back without a zone."""
    me = client.get("/api/v1/users/current", headers=admin_headers).json
    assert me["created_at"].endswith("+00:00")
    r = client.get("/api/v1/audit?since=2000-01-01T07:00:00%2B07:00", headers=admin_headers)
    assert r.status_code == 200 and r.json["total"] >= 1
    r = client.get("/api/v1/audit?since=2999-01-01T00:00:00", headers=admin_headers)
    assert r.status_code == 200 and r.json["total"] == 0


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/api/v1/areas?parent=t%00v", None),
        ("GET", "/api/v1/submissions?submitter=a%00b", None),
        ("POST", "/api/v1/users", {"username": "a\x00b", "role": "collector"}),
        ("POST", "/api/v1/sessions", {"username": "a\x00b", "password": "correct horse"}),
        ("POST", "/api/v1/areas/import", {"rows": [{"commune_code": "21607", "name": "\x00"}]}),
    ],
)
def test_a_nul_character_is_invalid_input(client, admin_headers, method, path, body):
    """PostgreSQL cannot hold NUL in text: the query failed (SQLite took it)."""
    r = client.open(path, method=method, headers=admin_headers, json=body)
    assert r.status_code == 422 and r.json["code"] == "422.6", r.json


@pytest.mark.parametrize(
    "path", ["/api/v1/users/a%00b", "/api/v1/areas/52%00", "/api/v1/forms/x%00/versions"]
)
def test_a_nul_character_in_a_path_names_nothing(client, admin_headers, path):
    r = client.get(path, headers=admin_headers)
    assert r.status_code == 404 and r.json["code"] == "404.4", r.json


def test_area_rows_too_long_for_their_columns_are_rejected(client, admin_headers, registry):
    csv = "commune_code,code,name,kind\n21607,T07,{},thon\n21607,T08,Thôn 8,{}\n21607,T09,x\x00,\n"
    r = client.post(
        "/api/v1/areas/import",
        headers=admin_headers,
        data={"file": (io.BytesIO(csv.format("n" * 256, "k" * 33).encode()), "areas.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200 and r.json["added"] == 0
    assert [row["line"] for row in r.json["rejected"]] == [2, 3, 4]
