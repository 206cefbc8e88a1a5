"""A form designer must not become admin through content khudan serves on its own origin.

Tries: raw XForms carrying a script, an event handler, a stylesheet instruction or a foreign
element, uploaded through the API, as a draft and through the Central /v1 route; then the
headers on what is served back (OpenRosa responses, forms, their media, submission files): a
browser must treat each as inert data.
"""

from __future__ import annotations

import pytest
from collect import CollectClient, flask_sender
from factories import household_xml, jpeg
from xlsform import form_md, xlsx_bytes

from khudan.services import forms

PASSWORD = "correct horse"
SANDBOX = "sandbox; default-src 'none'; frame-ancestors 'none'"

XFORM = """<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"{extra_ns}>
  <h:head>
    <h:title>Plain XForm</h:title>
    <model>
      <instance><data id="plain" version="{version}"><q/><meta><instanceID/></meta></data></instance>
      <bind nodeset="/data/q" type="string"/>
      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()"
            calculate="concat('uuid:', uuid())"/>
    </model>{head}
  </h:head>
  <h:body{body_attrs}><input ref="/data/q"><label>Q</label></input>{body}</h:body>
</h:html>
"""


def xform(version="1", head="", body="", body_attrs="", extra_ns="", before="") -> bytes:
    text = XFORM.format(
        version=version, head=head, body=body, body_attrs=body_attrs, extra_ns=extra_ns
    )
    return (before + text if before else text).encode()


HOSTILE = {
    "script": (
        xform(head="\n    <h:script>fetch('/api/v1/users')</h:script>"),
        "<h:script>",
        "h:script",
    ),
    "onload": (xform(body_attrs=' onload="alert(1)"'), "onload", "onload"),
    "stylesheet": (
        xform(before='<?xml-stylesheet type="text/xsl" href="data:,x"?>\n').replace(
            b'<?xml version="1.0"?>\n', b""
        ),
        "xml-stylesheet",
        "xml-stylesheet",
    ),
    "svg": (
        xform(
            extra_ns=' xmlns:s="http://www.w3.org/2000/svg"',
            body="<s:svg><s:script>alert(1)</s:script></s:svg>",
        ),
        "<svg>",
        "s:svg",
    ),
    "iframe": (xform(body="<h:iframe src='/app/users'/>"), "<h:iframe>", "h:iframe"),
}


@pytest.fixture
def designer(client, make_user) -> dict:
    make_user("dung", "designer")
    r = client.post("/api/v1/sessions", json={"username": "dung", "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json['token']}", "Accept-Language": "en"}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_raw_xform_that_could_run_code_is_refused_with_its_line(client, designer, case):
    body, what, marker = HOSTILE[case]
    line = next(n for n, text in enumerate(body.decode().splitlines(), 1) if marker in text)
    for path in ("/api/v1/forms", "/api/v1/forms/drafts"):
        r = client.post(path, headers=designer, data=body, content_type="application/xml")
        assert r.status_code == 422, (path, r.json)
        assert r.json["code"] == "422.9", r.json
        assert what in r.json["message"] and f"line {line}" in r.json["message"]
    assert client.get("/api/v1/forms", headers=designer).json == []


def test_a_plain_raw_xform_and_every_shipped_form_still_publish(client, designer, db, storage):
    r = client.post("/api/v1/forms", headers=designer, data=xform(), content_type="application/xml")
    assert r.status_code == 201, r.json
    for name in ("household", "big_repeat", "validate_repeat", "export_nested"):
        xml, _ = forms.convert_xlsform(xlsx_bytes(form_md(name)))
        forms.publish(db, storage, xml=xml, validate=False)


MEDIA_FORM = """A form whose labels show an SVG and link an HTML help file.

| survey |
| | type | name | label | media::image |
| | note | intro | Xin chào | logo.svg |
| | text | q | Câu hỏi | help.html |
| settings |
| | form_id | version | form_title |
| | withmedia | 1 | Có tệp |
"""


def test_what_khudan_serves_is_inert_in_a_browser(client, make_user, publish, db, storage):
    import io

    xml, _ = forms.convert_xlsform(xlsx_bytes(MEDIA_FORM))
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    html = b"<html><script>alert(1)</script></html>"
    forms.publish(db, storage, xml=xml, validate=False)
    for name, data in (("logo.svg", svg), ("help.html", html)):
        forms.put_media(db, storage, "withmedia", name, io.BytesIO(data))
    publish("household")
    make_user("thu", "collector")
    phone = CollectClient(flask_sender(client), "http://localhost", "thu", PASSWORD)
    replies = [
        phone.form_list()[0],
        phone.request("GET", "http://localhost/forms/withmedia.xml"),
        phone.request("GET", "http://localhost/forms/withmedia/manifest"),
    ]
    for name in ("logo.svg", "help.html"):
        reply = phone.request("GET", f"http://localhost/forms/withmedia/media/{name}")
        assert reply.status == 200, name
        assert reply.headers["content-disposition"].startswith("attachment"), name
        replies.append(reply)
    photo = jpeg(640, 480)
    replies += phone.submit(household_xml("uuid:a1", house_photo="h.jpg"), {"h.jpg": photo})
    for reply in replies:
        assert reply.headers["content-security-policy"] == SANDBOX, reply
        assert reply.headers["x-content-type-options"] == "nosniff"

    make_user("boss", "admin")
    token = client.post("/api/v1/sessions", json={"username": "boss", "password": PASSWORD})
    admin = {"Authorization": f"Bearer {token.json['token']}"}
    sub = client.get("/api/v1/submissions", headers=admin).json["items"][0]["id"]
    for url in (
        f"/api/v1/submissions/{sub}",
        f"/api/v1/submissions/{sub}/attachments/h.jpg",
        f"/api/v1/submissions/{sub}.xml",
        "/api/v1/forms/withmedia/versions/1.xml",
        "/api/v1/forms/withmedia/media/logo.svg",
    ):
        with client.get(url, headers=admin) as r:
            assert r.status_code == 200, url
            assert r.headers["Content-Security-Policy"] == SANDBOX, url
            assert r.headers["X-Content-Type-Options"] == "nosniff"
