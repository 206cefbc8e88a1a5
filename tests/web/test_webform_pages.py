"""The pages behind ODK Web Forms: the form, its media as this user's phone gets them, and the
submission endpoint, which takes what Web Forms sends through the same ingest path as Collect."""

from __future__ import annotations

import io

from factories import household_xml, jpeg
from sqlalchemy import select

from khudan.models import Attachment, Submission, SubmissionVersion
from khudan.services import forms

PHOTO = jpeg(color=(200, 200, 40))


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
