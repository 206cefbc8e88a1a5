"""The pages behind ODK Web Forms: the form, its media as this user's phone gets them, and the
submission endpoint, which takes what Web Forms sends through the same ingest path as Collect."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from factories import household_xml, jpeg
from sqlalchemy import select

from khudan.models import Attachment, Submission, SubmissionVersion
from khudan.services import drafts, forms

PHOTO = jpeg(color=(200, 200, 40))
FORMS = Path(__file__).resolve().parents[2] / "forms"


def send(client, token, xml: bytes, files=(), form_id="household"):
    data = {"xml_submission_file": (io.BytesIO(xml), "xml_submission_file.xml")}
    for name, body in files:
        data[name] = (io.BytesIO(body), name)
    return client.post(
        f"/app/forms/{form_id}/fill/submission",
        data=data,
        content_type="multipart/form-data",
        headers={"X-CSRF-Token": token},
    )


def test_a_browser_submission_with_a_photo_is_kept_like_collects(client, web_login, publish, db):
    publish("household")
    token = web_login("lan", "supervisor", areas=("52",))
    page = client.get("/app/forms/household/fill")
    assert page.status_code == 200 and "wasm-unsafe-eval" in page.headers["Content-Security-Policy"]
    assert 'data-submit-url="/app/forms/household/fill/submission"' in page.text
    assert client.get("/app/forms/household/fill/form.xml").data.startswith(b"<?xml")
    assert b"t1," in client.get("/app/forms/household/fill/media/villages.csv").data
    xml = household_xml("uuid:web1", house_photo="house.jpg")
    r = send(client, token, xml, [("house.jpg", PHOTO)])
    assert r.status_code == 201 and r.json["instance_id"] == "uuid:web1"
    assert send(client, token, xml, [("house.jpg", PHOTO)]).status_code == 201  # a resend
    with db.session() as s:
        (version,) = s.scalars(select(SubmissionVersion)).all()
        assert version.device_id == "web" and "ODK Web Forms" in version.user_agent
        assert s.scalar(select(Attachment.blob_id).where(Attachment.name == "house.jpg"))


def test_what_a_browser_may_not_send(client, web_login, publish, db):
    publish("household")
    token = web_login("thu", "collector", areas=("52",))
    no_csrf = client.post("/app/forms/household/fill/submission", data={})
    assert no_csrf.status_code == 400
    wrong = send(client, token, household_xml("uuid:w2", form_id="simple"))
    assert wrong.status_code == 404 and "simple" in wrong.json["message"]
    conflict = household_xml("uuid:w3")
    assert send(client, token, conflict).status_code == 201
    changed = household_xml("uuid:w3", code="HH-02")
    assert send(client, token, changed).status_code == 409
    forms.set_state(db, "household", "closed")
    assert send(client, token, household_xml("uuid:w4")).status_code == 409
    assert client.get("/app/forms/household/fill").status_code == 409
    with db.session() as s:
        assert len(s.scalars(select(Submission)).all()) == 1


def test_designers_preview_drafts_but_do_not_fill(client, web_login, publish):
    publish("household")
    web_login("minh", "designer")
    assert client.get("/app/forms/household/fill").status_code == 403
    assert client.get("/app/forms/household/draft/preview").status_code == 404  # no draft yet


def test_a_draft_preview_gets_the_lists_khudan_writes(client, web_login, registry, db, storage):
    """A draft of a shipped form reads areas.csv and households.csv, which khudan writes: the
    browser preview gets them as the test link does (the whole registry; the list's columns)."""
    web_login("minh", "designer")
    xml, _warnings = forms.convert_xlsform((FORMS / "poverty_review.xlsx").read_bytes())
    drafts.save(db, storage, xml=xml, validate=False)
    assert client.get("/app/forms/poverty_review/draft/preview").status_code == 200
    cascade = client.get("/app/forms/poverty_review/draft/media/areas.csv")
    assert cascade.status_code == 200
    codes = {row["name"] for row in csv.DictReader(io.StringIO(cascade.text))}
    assert {"52", "21607", "21607.T01", "21553.K01"} <= codes
    households = client.get("/app/forms/poverty_review/draft/media/households.csv")
    assert households.status_code == 200
    assert households.text.startswith("name,label,__version,") and households.text.count("\n") == 1
    assert client.get("/app/forms/poverty_review/draft/media/other.csv").status_code == 404
