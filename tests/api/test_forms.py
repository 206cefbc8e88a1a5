"""The forms API: publish real XLSForms (tests/forms/*.md -> .xlsx -> pyxform), list, download,
open and close forms, and manage form media; every error status, and what phones then see."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from factories import domain_sample
from sqlalchemy import select
from xlsform import form_md, xlsx_bytes

from khudan.app import create_app
from khudan.models import AuditEvent
from khudan.services import forms

SHIPPED = Path(__file__).resolve().parents[2] / "forms"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

BROKEN = form_md("broken")
JAVAROSA_REJECTS = form_md("javarosa_rejects")

# An XForm with no version attribute: its version is "" and its URLs use "_".
UNVERSIONED_XFORM = b"""<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml">
  <h:head>
    <h:title>Plain XForm</h:title>
    <model>
      <instance><data id="plain"><q/><meta><instanceID/></meta></data></instance>
      <bind nodeset="/data/q" type="string"/>
      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()"
            calculate="concat('uuid:', uuid())"/>
    </model>
  </h:head>
  <h:body><input ref="/data/q"><label>Q</label></input></h:body>
</h:html>
"""


def xlsx(name: str = "simple", version: str = "1", **replace: str) -> bytes:
    md = form_md(name, version=version)
    for old, new in replace.items():
        md = md.replace(old, new)
    return xlsx_bytes(md)


def upload(
    client, headers, content: bytes, filename: str = "form.xlsx", media=None, query="", publish=True
):
    """POST /forms multipart; ``publish`` adds ?publish=true, the publish-at-once path most of
    these tests are about (without it the upload is a draft)."""
    data = {"file": (io.BytesIO(content), filename)}
    for name, body in (media or {}).items():
        data[name] = (io.BytesIO(body), name)
    params = "&".join(p for p in (query.lstrip("?"), "publish=true" if publish else "") if p)
    return client.post(
        f"/api/v1/forms?{params}", headers=headers, data=data, content_type="multipart/form-data"
    )


def download(client, url: str, headers: dict):
    """GET a file, read it whole and close the response (it streams from storage)."""
    r = client.get(url, headers=headers)
    r.get_data()
    r.close()
    return r


def audit_events(db, action: str) -> list[AuditEvent]:
    with db.session() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


@pytest.fixture
def designer(login):
    return login("dung", "designer")


@pytest.fixture
def admin(login):
    return login("admin1", "admin")


# -- publish ----------------------------------------------------------------------------------


def test_designer_publishes_an_xlsform_and_collect_then_lists_it_with_the_download_md5(
    client, designer, collector, db
):
    r = upload(client, designer, xlsx("simple", "2026010101"), "simple.xlsx")
    assert r.status_code == 201, r.json
    assert r.json == {
        "form_id": "simple",
        "version": "2026010101",
        "title": "Biểu mẫu đơn giản & thử",
        "status": "published",
        "warnings": [],
        "missing_media": [],
    }
    assert r.headers["Location"].endswith("/api/v1/forms/simple")
    _reply, listed = collector.form_list()
    [entry] = listed
    assert (entry["formID"], entry["version"]) == ("simple", "2026010101")
    xml = client.get("/api/v1/forms/simple/versions/2026010101.xml", headers=designer)
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert entry["hash"] == "md5:" + hashlib.md5(xml.data).hexdigest()
    assert xml.headers["ETag"] == f'"{hashlib.md5(xml.data).hexdigest()}"'
    [event] = audit_events(db, "form.publish")
    assert event.target == "form:simple"
    assert event.details == {"form_id": "simple", "version": "2026010101", "status": "published"}


def test_publishing_the_same_version_again_is_200_unchanged_and_a_change_without_bump_is_409(
    client, designer, db
):
    assert upload(client, designer, xlsx("simple", "1")).status_code == 201
    again = upload(client, designer, xlsx("simple", "1"))
    assert again.status_code == 200 and again.json["status"] == "unchanged"
    changed = upload(client, designer, xlsx("simple", "1", **{"Tuổi": "Tuổi (năm)"}))
    assert changed.status_code == 409 and changed.json["code"] == "409.5"
    assert "phiên bản" in changed.json["message"].lower()  # Vietnamese unless asked otherwise
    english = upload(
        client,
        {**designer, "Accept-Language": "en"},
        xlsx("simple", "1", **{"Tuổi": "Tuổi (năm)"}),
    )
    assert "Increase 'version'" in english.json["message"]
    bumped = upload(client, designer, xlsx("simple", "2", **{"Tuổi": "Tuổi (năm)"}))
    assert bumped.status_code == 201 and bumped.json["version"] == "2"
    assert len(audit_events(db, "form.publish")) == 2  # nothing changed, nothing logged


def test_a_broken_xlsform_is_422_with_sheet_and_row(client, designer):
    r = upload(client, designer, xlsx_bytes(BROKEN), "broken.xlsx")
    assert r.status_code == 422 and r.json["code"] == "422.1"
    [item] = r.json["details"]["errors"]
    assert (item["sheet"], item["row"]) == ("survey", 3)
    assert "nosuch" in item["message"]
    assert r.json["details"]["reason"].startswith("[row : 3] On the 'survey' sheet")


def test_pyxform_warnings_come_back_with_their_rows_and_missing_media_is_named(client, designer):
    md = form_md("household", version="1").replace("max-pixels=1280", "")
    r = upload(client, designer, xlsx_bytes(md), "household.xlsx")
    assert r.status_code == 201
    assert [(w["sheet"], w["row"]) for w in r.json["warnings"]] == [("survey", 7), ("survey", 9)]
    assert all("max-pixels" in w["message"] for w in r.json["warnings"])
    assert r.json["missing_media"] == ["villages.csv"]


@pytest.mark.needs("java")
def test_odk_validate_rejection_is_422_and_only_an_admin_may_skip_it(settings, db, make_user):
    client = create_app(settings.but(odk_validate=True), db=db).test_client()

    def login(username: str, role: str) -> dict:
        make_user(username, role)
        r = client.post(
            "/api/v1/sessions", json={"username": username, "password": "correct horse"}
        )
        return {"Authorization": f"Bearer {r.json['token']}"}

    designer, admin = login("dung", "designer"), login("admin1", "admin")
    form = xlsx_bytes(JAVAROSA_REJECTS)
    r = upload(client, designer, form)
    assert r.status_code == 422 and r.json["code"] == "422.2"
    assert "ODK Validate" in r.json["message"]
    r = upload(client, designer, form, query="?validate=false")
    assert r.status_code == 403 and r.json["code"] == "403.2"
    r = upload(client, admin, form, query="?validate=false")
    assert r.status_code == 201 and r.json["form_id"] == "jr_broken"
    r = upload(client, admin, form, query="?validate=maybe")
    assert r.status_code == 422 and "validate" in r.json["details"]["errors"]


def test_a_domain_form_missing_a_rule_field_is_422_naming_it(client, designer):
    r = upload(client, designer, xlsx("simple", "1", **{"| simple |": "| poverty_review |"}))
    assert r.status_code == 422 and r.json["code"] == "422.5"
    assert "household_code" in r.json["message"]


def test_an_xform_is_published_as_is_from_a_body_or_a_file(client, designer):
    r = client.post(
        "/api/v1/forms?publish=true",
        headers=designer,
        data=UNVERSIONED_XFORM,
        content_type="application/xml",
    )
    assert r.status_code == 201, r.json
    assert (r.json["form_id"], r.json["version"], r.json["title"]) == ("plain", "", "Plain XForm")
    again = upload(client, designer, UNVERSIONED_XFORM, "plain.xml")
    assert again.status_code == 200 and again.json["status"] == "unchanged"
    # The empty version is "_" in URLs; the XForm is served byte for byte; there is no XLSForm.
    [version] = client.get("/api/v1/forms/plain/versions", headers=designer).json
    assert version["version"] == "" and version["xml_url"].endswith("/forms/plain/versions/_.xml")
    assert version["xlsx_url"] is None
    xml = client.get("/api/v1/forms/plain/versions/_.xml", headers=designer)
    assert xml.status_code == 200 and xml.data == UNVERSIONED_XFORM
    r = client.get("/api/v1/forms/plain/versions/_.xlsx", headers=designer)
    assert r.status_code == 404 and r.json["code"] == "404.4"


def test_a_raw_xlsx_body_is_accepted(client, designer):
    r = client.post(
        "/api/v1/forms?publish=true",
        headers=designer,
        data=xlsx("simple", "3"),
        content_type=XLSX_TYPE,
    )
    assert r.status_code == 201 and r.json["version"] == "3"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"data": "hello", "content_type": "text/plain"}, "415.1"),
        ({"json": {"file": "simple.xlsx"}}, "415.1"),
        (
            {
                "data": {"file": (io.BytesIO(b"a,b\n"), "form.csv")},
                "content_type": "multipart/form-data",
            },
            "415.1",
        ),
        (
            {
                "data": {"other": (io.BytesIO(b"x"), "x.xlsx")},
                "content_type": "multipart/form-data",
            },
            "422.6",
        ),
        ({"data": b"<not xml", "content_type": "application/xml"}, "422.4"),
        ({"data": b"<data id='x'/>", "content_type": "text/xml"}, "422.2"),
        ({"data": b"not a workbook", "content_type": XLSX_TYPE}, "422.1"),
        (
            {
                "data": b'--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nbroken',
                "content_type": "multipart/form-data; boundary=x",
            },
            "400.2",
        ),
    ],
)
def test_what_is_not_a_form_is_refused_with_the_right_status(client, designer, kwargs, code):
    r = client.post("/api/v1/forms", headers=designer, **kwargs)
    assert r.json["code"] == code and r.status_code == int(code.split(".")[0]), r.json


# -- who may do what --------------------------------------------------------------------------


ROUTES = [
    ("get", "/api/v1/forms"),
    ("post", "/api/v1/forms"),
    ("get", "/api/v1/forms/simple"),
    ("patch", "/api/v1/forms/simple"),
    ("get", "/api/v1/forms/simple/versions"),
    ("get", "/api/v1/forms/simple/versions/1.xml"),
    ("get", "/api/v1/forms/simple/versions/1.xlsx"),
    ("get", "/api/v1/forms/simple/media"),
    ("get", "/api/v1/forms/household/media/villages.csv"),
    ("put", "/api/v1/forms/household/media/villages.csv"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_needs_a_log_in(client, method, path):
    r = getattr(client, method)(path)
    assert r.status_code == 401 and r.json["code"] == "401.5"


@pytest.mark.parametrize("role", ["collector", "supervisor"])
@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("post", "/api/v1/forms", {"data": {}, "content_type": "multipart/form-data"}),
        ("patch", "/api/v1/forms/simple", {"json": {"state": "closed"}}),
        ("put", "/api/v1/forms/household/media/villages.csv", {"data": b"name,label\n"}),
    ],
)
def test_collectors_and_supervisors_may_not_change_forms(
    client, login, publish, role, method, path, kwargs
):
    publish("simple")
    publish("household")
    headers = login("someone", role)
    r = getattr(client, method)(path, headers=headers, **kwargs)
    assert r.status_code == 403 and r.json["code"] == "403.2"
    assert role in r.json["message"]


@pytest.mark.parametrize("role", ["collector", "supervisor", "designer", "admin"])
def test_anyone_logged_in_may_read_forms(client, login, publish, role):
    publish("simple")
    headers = login("someone", role)
    assert client.get("/api/v1/forms", headers=headers).json[0]["form_id"] == "simple"
    assert client.get("/api/v1/forms/simple", headers=headers).status_code == 200
    assert client.get("/api/v1/forms/simple/versions/1.xml", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/forms/nosuch",
        "/api/v1/forms/nosuch/versions",
        "/api/v1/forms/nosuch/versions/1.xml",
        "/api/v1/forms/nosuch/media",
        "/api/v1/forms/nosuch/media/villages.csv",
    ],
)
def test_unknown_form_is_404(client, designer, path):
    r = client.get(path, headers=designer)
    assert r.status_code == 404 and r.json["code"] == "404.1"


def test_unknown_version_is_404(client, designer, publish):
    publish("simple")
    r = client.get("/api/v1/forms/simple/versions/9.xml", headers=designer)
    assert r.status_code == 404 and r.json["code"] == "404.2"
    r = client.get("/api/v1/forms/simple/versions/_.xml", headers=designer)
    assert r.status_code == 404 and r.json["code"] == "404.2"


# -- read -------------------------------------------------------------------------------------


def test_list_and_detail_show_current_version_state_and_counts(client, designer):
    upload(client, designer, xlsx("household", "1"))
    upload(client, designer, xlsx("household", "2", **{"Mã hộ": "Mã số hộ"}))
    upload(client, designer, xlsx("simple", "1"))
    listed = client.get("/api/v1/forms", headers=designer).json
    assert [
        (f["form_id"], f["version"], f["version_count"], f["submission_count"]) for f in listed
    ] == [
        ("household", "2", 2, 0),
        ("simple", "1", 1, 0),
    ]
    assert listed[0]["state"] == "open" and len(listed[0]["md5"]) == 32
    detail = client.get("/api/v1/forms/household", headers=designer).json
    assert detail["title"] == "Hộ gia đình" and detail["media_expected"] == ["villages.csv"]
    assert detail["media"] == [
        {
            "name": "villages.csv",
            "expected": True,
            "present": False,
            "generated": False,
            "md5": None,
            "size": None,
            "content_type": "text/csv",
            "url": None,
        }
    ]
    assert detail["xml_url"].endswith("/api/v1/forms/household/versions/2.xml")
    assert detail["xlsx_url"].endswith("/api/v1/forms/household/versions/2.xlsx")


def test_submission_counts_are_limited_to_the_callers_areas(client, login, registry, collector):
    admin = login("admin1", "admin")
    body = (SHIPPED / "poverty_review.xlsx").read_bytes()
    assert (
        upload(client, admin, body, "poverty_review.xlsx", query="?validate=false").status_code
        == 201
    )
    assert [r.status for r in collector.submit(domain_sample("pov1.xml"))] == [201]  # 21607
    assert [r.status for r in collector.submit(domain_sample("pov2.xml"))] == [201]  # 21553

    def counted(headers) -> int:
        [form] = client.get("/api/v1/forms", headers=headers).json
        return form["submission_count"]

    assert counted(admin) == 2
    assert counted(login("lan", "supervisor", areas=("21607",))) == 1
    assert counted(login("hoa", "supervisor", areas=("21607.T02",))) == 0


def test_versions_list_who_published_each_and_downloads_are_exact(client, designer, db):
    first = xlsx("simple", "1")
    upload(client, designer, first, "simple.xlsx")
    upload(client, designer, xlsx("simple", "2", **{"Tuổi": "Tuổi (năm)"}))
    versions = client.get("/api/v1/forms/simple/versions", headers=designer).json
    assert [(v["version"], v["published_by"], v["current"]) for v in versions] == [
        ("1", "dung", False),
        ("2", "dung", True),
    ]
    with db.session() as s:
        stored = forms.get_version(s, "simple", "1")
    assert versions[0]["md5"] == stored.md5
    xml = client.get("/api/v1/forms/simple/versions/1.xml", headers=designer)
    assert xml.data == stored.xml
    cached = client.get(
        "/api/v1/forms/simple/versions/1.xml",
        headers={**designer, "If-None-Match": f'"{stored.md5}"'},
    )
    assert cached.status_code == 304
    r = download(client, versions[0]["xlsx_url"].split("localhost", 1)[1], designer)
    assert r.status_code == 200 and r.data == first
    assert r.mimetype == XLSX_TYPE
    assert r.headers["Content-Disposition"] == "attachment; filename=simple-1.xlsx"
    assert r.headers["ETag"] == f'"{hashlib.md5(first).hexdigest()}"'


# -- state ------------------------------------------------------------------------------------


def test_closing_a_form_hides_it_from_collect_and_is_audited(client, designer, collector, db):
    upload(client, designer, xlsx("simple", "1"))
    r = client.patch("/api/v1/forms/simple", headers=designer, json={"state": "closing"})
    assert r.status_code == 200 and r.json["state"] == "closing"
    assert collector.form_list()[1] == []
    [event] = audit_events(db, "form.state")
    assert event.details == {"form_id": "simple", "before": "open", "after": "closing"}
    r = client.patch("/api/v1/forms/simple", headers=designer, json={"state": "open"})
    assert [f["formID"] for f in collector.form_list()[1]] == ["simple"]


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"json": {"state": "gone"}}, 422, "422.6"),
        ({"json": {}}, 422, "422.6"),
        ({"json": {"state": "closed", "extra": 1}}, 422, "422.6"),
        ({"data": "state=closed", "content_type": "text/plain"}, 415, "415.1"),
        ({"data": "{", "content_type": "application/json"}, 400, "400.8"),
    ],
)
def test_a_bad_state_change_is_refused(client, designer, publish, kwargs, status, code):
    publish("simple")
    r = client.patch("/api/v1/forms/simple", headers=designer, **kwargs)
    assert (r.status_code, r.json["code"]) == (status, code)


def test_state_change_of_an_unknown_form_is_404(client, designer):
    r = client.patch("/api/v1/forms/nosuch", headers=designer, json={"state": "closed"})
    assert r.status_code == 404 and r.json["code"] == "404.1"


# -- media ------------------------------------------------------------------------------------


VILLAGES = "name,label\nt1,Thôn 1\n".encode()


def test_media_uploaded_with_the_form_is_listed_and_served_to_collect(client, designer, collector):
    r = upload(client, designer, xlsx("household", "1"), media={"villages.csv": VILLAGES})
    assert r.status_code == 201 and r.json["missing_media"] == []
    [media] = client.get("/api/v1/forms/household/media", headers=designer).json
    assert (media["name"], media["present"], media["size"]) == ("villages.csv", True, len(VILLAGES))
    assert media["md5"] == hashlib.md5(VILLAGES).hexdigest()
    _reply, listed = collector.form_list()
    _reply, files = collector.manifest(listed[0]["manifestUrl"])
    assert files[0]["hash"] == "md5:" + media["md5"]


def test_put_media_uploads_then_replaces_and_download_has_type_name_and_etag(
    client, designer, collector, db
):
    upload(client, designer, xlsx("household", "1"))
    url = "/api/v1/forms/household/media/villages.csv"
    r = client.put(url, headers=designer, data=VILLAGES, content_type="text/csv")
    assert r.status_code == 201 and r.json["present"] and r.json["url"].endswith(url)
    newer = VILLAGES + "t2,Thôn 2\n".encode()
    r = client.put(
        url,
        headers=designer,
        data={"file": (io.BytesIO(newer), "villages.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200 and r.json["md5"] == hashlib.md5(newer).hexdigest()
    got = download(client, url, designer)
    assert got.status_code == 200 and got.data == newer
    assert got.headers["Content-Type"].startswith("text/csv")
    assert got.headers["Content-Disposition"] == "attachment; filename=villages.csv"
    assert got.headers["ETag"] == f'"{hashlib.md5(newer).hexdigest()}"'
    cached = client.get(url, headers={**designer, "If-None-Match": got.headers["ETag"]})
    assert cached.status_code == 304
    # Phones see the new file without a new form version.
    _reply, listed = collector.form_list()
    _reply, files = collector.manifest(listed[0]["manifestUrl"])
    assert files[0]["hash"] == "md5:" + hashlib.md5(newer).hexdigest()
    events = audit_events(db, "form.media")
    assert [e.details["md5"] for e in events] == [
        hashlib.md5(VILLAGES).hexdigest(),
        hashlib.md5(newer).hexdigest(),
    ]
    assert events[0].details["filename"] == "villages.csv"


def test_media_of_the_previous_version_is_kept_by_a_new_version(client, designer):
    upload(client, designer, xlsx("household", "1"), media={"villages.csv": VILLAGES})
    r = upload(client, designer, xlsx("household", "2", **{"Mã hộ": "Mã số hộ"}))
    assert r.status_code == 201 and r.json["missing_media"] == []
    got = download(client, "/api/v1/forms/household/media/villages.csv", designer)
    assert got.data == VILLAGES


def test_put_media_the_form_does_not_use_is_404_naming_what_it_uses(client, designer):
    upload(client, designer, xlsx("household", "1"))
    r = client.put("/api/v1/forms/household/media/other.csv", headers=designer, data=b"a\n")
    assert r.status_code == 404 and r.json["code"] == "404.5"
    assert "villages.csv" in r.json["message"]
    r = client.get("/api/v1/forms/household/media/other.csv", headers=designer)
    assert r.status_code == 404 and r.json["code"] == "404.5"
    r = client.get("/api/v1/forms/household/media/villages.csv", headers=designer)
    assert r.status_code == 404 and r.json["code"] == "404.4"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"data": b""}, "422.4"),
        ({"data": {}, "content_type": "multipart/form-data"}, "422.6"),
    ],
)
def test_put_media_needs_a_file(client, designer, publish, kwargs, code):
    publish("household")
    r = client.put("/api/v1/forms/household/media/villages.csv", headers=designer, **kwargs)
    assert r.status_code == 422 and r.json["code"] == code


def test_areas_csv_is_generated_per_user_and_cannot_be_uploaded(client, login, registry):
    admin = login("admin1", "admin")
    form = xlsx("household", "1", **{"villages.csv": "areas.csv"})
    r = upload(client, admin, form, media={"areas.csv": b"name,label\nx,X\n"})
    assert r.status_code == 201 and r.json["missing_media"] == []
    assert any("areas.csv" in w["message"] for w in r.json["warnings"])
    english = {**admin, "Accept-Language": "en"}
    r = client.put("/api/v1/forms/household/media/areas.csv", headers=english, data=b"name\n")
    assert r.status_code == 409 and r.json["code"] == "409.9"
    assert "area registry" in r.json["message"]
    lan = login("lan", "supervisor", areas=("21607",))
    [media] = client.get("/api/v1/forms/household/media", headers=lan).json
    assert media["generated"] and media["present"]
    got = download(client, "/api/v1/forms/household/media/areas.csv", lan)
    assert got.status_code == 200 and b"21607.T01" in got.data and b"21553" not in got.data
    assert got.headers["ETag"] == f'"{media["md5"]}"'
    assert got.headers["Content-Disposition"] == "attachment; filename=areas.csv"


# -- docs -------------------------------------------------------------------------------------


def test_every_forms_route_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/swagger.json")
    assert spec.status_code == 200
    paths = spec.json["paths"]
    expected = {
        "/forms": {"get", "post"},
        "/forms/{form_id}": {"get", "patch"},
        "/forms/{form_id}/versions": {"get"},
        "/forms/{form_id}/versions/{version}.xml": {"get"},
        "/forms/{form_id}/versions/{version}.xlsx": {"get"},
        "/forms/{form_id}/media": {"get"},
        "/forms/{form_id}/media/{filename}": {"get", "put"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            responses = paths[path][method]["responses"]
            assert "401" in responses
            assert responses["401"]["schema"]["$ref"] == "#/definitions/Error"
    assert paths["/forms"]["post"]["consumes"] == ["multipart/form-data"]
    assert "422" in paths["/forms"]["post"]["responses"]
