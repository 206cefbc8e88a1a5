"""Stored XSS: text people type, shown back on the pages, must stay text.

Tries the same payload in every place user text reaches a page: a form's title, question and
choice labels (an XLSForm a designer uploads), submitted answers and attachment file names (from a
phone), area names (the areas import), comments (a supervisor's), and a username; then opens every
page that shows them and looks for the payload as markup.
"""

from __future__ import annotations

import pytest
from collect import CollectClient, flask_sender
from factories import jpeg
from sqlalchemy import select
from web.conftest import csrf_of
from xlsform import xlsx_bytes

from khudan.models import Submission
from khudan.services import areas, entities, forms

PASSWORD = "correct horse"
PAYLOAD = "\"'><script>alert(1)</script><img src=x onerror=alert(2)>"
MARKUP = ("<script>alert(1)", "<img src=x onerror")
ESCAPED = PAYLOAD.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

FORM = f"""A form written by a hostile designer.

| survey |
| | type | name | label |
| | text | q | Q {PAYLOAD} |
| | select_one pick | p | P {PAYLOAD} |
| | image | photo | Ảnh {PAYLOAD} |
| choices |
| | list_name | name | label |
| | pick | a | A {PAYLOAD} |
| settings |
| | form_id | version | form_title |
| | xss | 1 | T {PAYLOAD} |
"""
FILE = "a<b>'\".jpg"
HOUSEHOLD = "0c0c0c0c-0000-4000-8000-000000000003"


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.fixture
def hostile(client, db, storage, make_user):
    xml, _ = forms.convert_xlsform(xlsx_bytes(FORM.replace("|", "|")))
    forms.publish(db, storage, xml=xml, validate=False)
    with db.session() as s:
        areas.load_official(s)
        areas.import_areas(s, [{"commune_code": "21607", "code": "T01", "name": f"Thôn {PAYLOAD}"}])
        s.commit()
    make_user("thu", "collector", areas=("21607",))
    phone = CollectClient(flask_sender(client), "http://localhost", "thu", PASSWORD)
    submission = (
        '<?xml version="1.0"?><data id="xss" version="1">'
        f"<q>{xml_escape(PAYLOAD)}</q><p>a</p><photo>{xml_escape(FILE)}</photo>"
        "<meta><instanceID>uuid:x55</instanceID></meta></data>"
    ).encode()
    assert phone.submit(submission, {FILE: jpeg(320, 240)})[0].status == 201
    with db.session() as s:
        sub_id = s.scalar(select(Submission.id))
    admin = make_user("adm", "admin")
    with db.session() as s:  # a household whose label and values a phone typed
        households = entities.ensure_list(s, "households")
        entities.add_properties(s, households, ["head", "commune", "area_code"])
        entities.create(
            s,
            households,
            f"H {PAYLOAD}",
            {"head": PAYLOAD, "commune": "21607", "area_code": "21607.T01"},
            s.get(type(admin), admin.id),
            uuid=HOUSEHOLD,
        )
        s.commit()
    token = client.post("/api/v1/sessions", json={"username": "adm", "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {token.json['token']}"}
    r = client.post(
        f"/api/v1/submissions/{sub_id}/comments", json={"body": PAYLOAD}, headers=bearer
    )
    assert r.status_code == 201
    return sub_id


def test_user_text_is_never_markup_on_any_page(client, hostile):
    token = csrf_of(client.get("/app/login").text)
    client.post("/app/login", data={"username": "adm", "password": PASSWORD, "csrf_token": token})
    pages = [
        "/app/",
        "/app/review",
        f"/app/submissions/{hostile}",
        "/app/forms",
        "/app/forms/xss",
        "/app/users",
        "/app/areas?q=21607",
        "/app/fill",
        "/app/forms/xss/fill",
        "/app/results",
        "/app/households",
        f"/app/lists/households/{HOUSEHOLD}",
    ]
    shown = 0
    for url in pages:
        reply = client.get(url)
        assert reply.status_code == 200, url
        html = reply.text
        for bad in MARKUP:
            assert bad not in html, (url, bad)
        shown += html.count(ESCAPED) + html.count(
            ESCAPED.replace('"', "&#34;").replace("'", "&#39;")
        )
    assert shown >= 4  # the payload is shown, as text: answers, title, comment, area name


def test_a_username_cannot_carry_markup(client, make_user):
    from khudan import errors

    with pytest.raises(errors.Problem):
        make_user("x<script>", "collector")
