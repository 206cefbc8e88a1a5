"""Form drafts: an upload that phones do not see, its findings and changes, a test link that
Collect scans to download the draft and send test submissions (kept apart, never counted), and
publishing, which makes the draft current and deletes its tests. Every step is audited."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import zlib
from pathlib import Path

import pytest
import zxingcpp
from collect import CollectClient, flask_sender
from factories import household_xml, jpeg
from PIL import Image
from sqlalchemy import func, select
from stored import count
from xlsform import form_md, xlsx_bytes

from khudan.app import create_app
from khudan.models import (
    Area,
    AuditEvent,
    DraftTestAttachment,
    DraftTestSubmission,
    FormDraft,
    Submission,
    User,
)
from khudan.services import drafts, entities, forms

PHOTO = jpeg(color=(10, 150, 60))
FORMS = Path(__file__).resolve().parents[2] / "forms"


def upload(client, headers, name: str, version: str, edit=lambda md: md, **query):
    md = edit(form_md(name, version=version))
    data = {"file": (io.BytesIO(xlsx_bytes(md)), f"{name}.xlsx")}
    return client.post(
        "/api/v1/forms/drafts",
        data=data,
        headers=headers,
        content_type="multipart/form-data",
        query_string=query,
    )


def actions(db) -> list[str]:
    with db.session() as s:
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like("form.%"))
                .order_by(AuditEvent.id)
            )
        )


def qr_url(data_url: str) -> str:
    png = base64.b64decode(data_url.removeprefix("data:image/png;base64,"))
    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return json.loads(zlib.decompress(base64.b64decode(code.text)))["general"]["server_url"]


def test_a_draft_is_tested_on_collect_then_published(client, login, publish, collector, db):
    publish("household", version="1")
    designer = login("dung", "designer")
    r = upload(client, designer, "household_next", "2")
    assert r.status_code == 201, r.json
    draft = r.json
    assert (draft["version"], draft["published_version"]) == ("2", "1")
    changes = draft["changes"]
    assert changes["added"] == ["/data/phone"] and changes["removed"] == ["/data/hh_size"]
    (head,) = [c for c in changes["changed"] if c["path"] == "/data/head"]
    assert set(head["changes"]) == {"label", "required"}
    assert draft["missing_media"] == []  # villages.csv carried over from version 1
    # Phones still get version 1.
    _reply, listed = collector.form_list()
    assert [(f["formID"], f["version"]) for f in listed] == [("household", "1")]

    # The tester scans the QR code: Collect sees only the draft, with its media, and no password.
    test_url = qr_url(draft["test_qr"])
    assert test_url == draft["test_url"]
    tester = CollectClient(flask_sender(client), test_url)
    reply, listed = tester.form_list()
    assert reply.status == 200
    assert [(f["formID"], f["version"]) for f in listed] == [("household", "2")]
    form = tester.request("GET", listed[0]["downloadUrl"])
    assert b"<phone/>" in form.body
    _reply, files = tester.manifest(listed[0]["manifestUrl"])
    assert [f["filename"] for f in files] == ["villages.csv"]
    assert tester.request("GET", files[0]["downloadUrl"]).status == 200
    xml = household_xml("uuid:t1", version="2", house_photo="house.jpg")
    assert [r.status for r in tester.submit(xml, {"house.jpg": PHOTO})] == [201]
    assert [r.status for r in tester.submit(xml, {"house.jpg": PHOTO})] == [201]  # resend
    other = household_xml("uuid:t1", version="2", code="HH-99")
    assert [r.status for r in tester.submit(other)] == [409]
    # Kept apart: no submission, nothing counted.
    assert count(db, Submission) == 0 and count(db, DraftTestSubmission) == 1
    assert (
        client.get("/api/v1/forms/household/draft", headers=designer).json["test_submissions"] == 1
    )

    done = client.post("/api/v1/forms/household/draft/publish", headers=designer)
    assert done.status_code == 201 and done.json["version"] == "2"
    _reply, listed = collector.form_list()
    assert [(f["formID"], f["version"]) for f in listed] == [("household", "2")]
    assert count(db, DraftTestSubmission) == 0 and count(db, DraftTestAttachment) == 0
    assert count(db, FormDraft) == 0
    assert client.get("/api/v1/forms/household/draft", headers=designer).status_code == 404
    assert tester.form_list()[0].status == 403  # the test link ended with the draft
    # Version 1 still accepts what was filled before.
    assert [r.status for r in collector.submit(household_xml("uuid:old", version="1"))] == [201]
    assert actions(db) == [
        "form.publish",
        "form.draft.save",
        "form.draft.test_submission",
        "form.publish",
        "form.draft.publish",
    ]


def test_a_draft_needs_a_new_version_and_can_be_discarded(client, login, publish, db):
    publish("household", version="1")
    admin = login()
    taken = upload(client, admin, "household_next", "1")
    assert taken.status_code == 409 and taken.json["code"] == "409.20"
    assert upload(client, admin, "household_next", "2").status_code == 201
    again = upload(client, admin, "household_next", "3")  # replaces the draft, same test link
    assert again.status_code == 201 and again.json["version"] == "3"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(FormDraft)) == 1
    xml = client.get("/api/v1/forms/household/draft.xml", headers=admin)
    assert b'version="3"' in xml.data
    assert client.delete("/api/v1/forms/household/draft", headers=admin).status_code == 204
    assert client.get("/api/v1/forms/household/draft", headers=admin).status_code == 404
    assert actions(db)[-1] == "form.draft.discard"


def test_a_new_form_starts_as_a_draft_phones_do_not_list(client, login, collector):
    designer = login("dung", "designer")
    r = upload(client, designer, "simple", "1")
    assert r.status_code == 201 and r.json["published_version"] is None
    assert r.json["changes"]["added"] == [
        "/data/name",
        "/data/age",
        "/data/meta",
        "/data/meta/instanceID",
    ]
    assert collector.form_list()[1] == []
    assert client.post("/api/v1/forms/simple/draft/publish", headers=designer).status_code == 201
    assert [f["formID"] for f in collector.form_list()[1]] == ["simple"]


def test_a_plain_upload_to_forms_is_a_draft_and_publish_true_publishes_at_once(
    client, login, publish, collector, db
):
    publish("household", version="1")
    designer = login("dung", "designer")
    body = {"file": (io.BytesIO(xlsx_bytes(form_md("household_next", version="2"))), "f.xlsx")}
    r = client.post(
        "/api/v1/forms", data=body, headers=designer, content_type="multipart/form-data"
    )
    assert r.status_code == 201, r.json
    assert (r.json["status"], r.json["version"]) == ("draft", "2")
    assert r.json["draft"]["published_version"] == "1"
    assert r.json["draft"]["changes"]["added"] == ["/data/phone"]
    assert r.headers["Location"].endswith("/api/v1/forms/household/draft")
    assert [(f["formID"], f["version"]) for f in collector.form_list()[1]] == [("household", "1")]
    assert actions(db)[-1] == "form.draft.save"

    body = {"file": (io.BytesIO(xlsx_bytes(form_md("household_next", version="3"))), "f.xlsx")}
    r = client.post(
        "/api/v1/forms?publish=true",
        data=body,
        headers=designer,
        content_type="multipart/form-data",
    )
    assert (r.status_code, r.json["status"], "draft" in r.json) == (201, "published", False)
    assert [(f["formID"], f["version"]) for f in collector.form_list()[1]] == [("household", "3")]
    assert actions(db)[-1] == "form.publish"


def test_drafts_are_for_designers_and_unknown_test_links_are_refused(client, login):
    supervisor = login("lan", "supervisor")
    assert upload(client, supervisor, "simple", "1").status_code == 403
    unknown = client.get("/test/nosuch/formList", headers={"X-OpenRosa-Version": "1.0"})
    assert unknown.status_code == 403 and b"QR" in unknown.data


def fetch_all(tester, manifest_url: str) -> dict[str, bytes]:
    """Every file of a manifest as Collect takes it: downloaded, and its MD5 checked."""
    _reply, files = tester.manifest(manifest_url)
    got = {}
    for f in files:
        reply = tester.request("GET", f["downloadUrl"])
        assert reply.status == 200, f
        assert f["hash"] == "md5:" + hashlib.md5(reply.body).hexdigest()
        got[f["filename"]] = reply.body
        again = tester.request(
            "GET", f["downloadUrl"], headers={"If-None-Match": f'"{f["hash"][4:]}"'}
        )
        assert again.status == 304, f  # unchanged, whether uploaded or written by khudan
    return got


def test_a_shipped_form_is_tested_with_the_lists_khudan_writes(
    client, login, registry, db, storage
):
    """The shipped forms read areas.csv and households.csv, which nobody uploads: khudan writes
    them. A draft's test link serves them too, or Collect could not open the draft at all."""
    designer = login("dung", "designer")
    with (FORMS / "poverty_review.xlsx").open("rb") as fh:
        saved = client.post(
            "/api/v1/forms/drafts",
            data={"file": (fh, "poverty_review.xlsx")},
            headers=designer,
            content_type="multipart/form-data",
        )
    assert saved.status_code == 201, saved.json
    assert saved.json["missing_media"] == []
    tester = CollectClient(flask_sender(client), saved.json["test_url"])
    _reply, listed = tester.form_list()
    files = fetch_all(tester, listed[0]["manifestUrl"])
    assert sorted(files) == ["areas.csv", "households.csv"]
    # The whole registry (a test may be filled anywhere), both provinces' thôn among it.
    areas_rows = list(csv.reader(io.StringIO(files["areas.csv"].decode())))
    assert areas_rows[0] == ["name", "label", "level", "parent", "kind"]
    assert {"21607.T01", "21607.T02", "21553.K01"} <= {row[0] for row in areas_rows}
    assert len(areas_rows) == 1 + count(db, Area)
    # The household list begins with this form: its columns, no households yet.
    (header,) = csv.reader(io.StringIO(files["households.csv"].decode()))
    assert header[:3] == ["name", "label", "__version"] and header[-1] == "__search"
    assert {"household_code", "area_code", "poverty_class"} <= set(header)

    # Published, with households; the next draft's testers get them as its creator's phone would.
    assert (
        client.post("/api/v1/forms/poverty_review/draft/publish", headers=designer).status_code
        == 201
    )
    with db.session() as s:
        lst = entities.get_list(s, "households")
        data = (
            "label,household_code,province,commune,area_code\n"
            "NC-T01-001 - Nguyễn Văn An,NC-T01-001,52,21607,21607.T01\n"
            "QN-K01-001 - Lê Thị Tám,QN-K01-001,52,21553,21553.K01\n"
        ).encode()
        admin = s.scalar(select(User).where(User.username == "dung"))
        assert entities.import_csv(s, lst, data, admin).created == 2
        s.commit()
    xml, _warnings = forms.convert_xlsform((FORMS / "poverty_review.xlsx").read_bytes())
    assert b'version="2026120501"' in xml
    next_xml = xml.replace(b'version="2026120501"', b'version="2026120601"')
    with db.session() as s:
        dung = s.scalar(select(User.id).where(User.username == "dung"))
    for creator, households in ((dung, 2), (None, 0)):  # None: saved from the command line
        draft = drafts.save(db, storage, xml=next_xml, validate=False, actor_id=creator)
        tester = CollectClient(flask_sender(client), f"http://localhost/test/{draft.token}")
        _reply, listed = tester.form_list()
        files = fetch_all(tester, listed[0]["manifestUrl"])
        rows = list(csv.DictReader(io.StringIO(files["households.csv"].decode())))
        assert len(rows) == households
        assert (
            sorted(r["household_code"] for r in rows) == ["NC-T01-001", "QN-K01-001"][:households]
        )
        assert len(files["areas.csv"].splitlines()) == 1 + count(db, Area)


@pytest.mark.needs("java")
def test_findings_come_from_pyxform_and_javarosa(settings, db, make_user, publish):
    """With ODK Validate on, a draft JavaRosa rejects is refused with its message, and pyxform's
    warnings are kept with the draft, each with its sheet and row."""
    app = create_app(settings.but(odk_validate=True), db=db)
    client = app.test_client()
    make_user("dung", "designer")
    r = client.post("/api/v1/sessions", json={"username": "dung", "password": "correct horse"})
    designer = {"Authorization": f"Bearer {r.json['token']}"}
    rejected = upload(client, designer, "javarosa_rejects", "1")
    assert rejected.status_code == 422 and rejected.json["code"] == "422.2"
    assert "ODK Validate" in rejected.json["message"]
    publish("household", version="1")
    # Photos without max-pixels: pyxform warns (the photos would be sent full size).
    no_limit = lambda md: md.replace("max-pixels=1280", "")  # noqa: E731
    saved = upload(client, designer, "household_next", "2", edit=no_limit)
    assert saved.status_code == 201, saved.json
    findings = saved.json["findings"]
    assert [(f["sheet"], f["row"]) for f in findings] == [("survey", 7), ("survey", 9)]
    assert all("max-pixels" in f["message"] for f in findings)
