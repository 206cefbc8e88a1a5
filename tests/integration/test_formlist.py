"""Form list, form download, manifest and media: what Collect fetches before going offline."""

from __future__ import annotations

import hashlib

from collect import CollectClient, flask_sender

from khudan.models import FormState
from khudan.services import forms

CSV = "name,label\nt1,Thôn 1\nt2,Thôn 2\n".encode()


def test_form_list_without_credentials_is_a_digest_challenge(client):
    r = client.get("/formList", headers={"X-OpenRosa-Version": "1.0"})
    assert r.status_code == 401
    challenges = r.headers.get_all("WWW-Authenticate")
    assert len(challenges) == 1 and challenges[0].startswith('Digest realm="khudan"')
    assert 'qop="auth"' in challenges[0]
    assert r.headers["X-OpenRosa-Version"] == "1.0"
    assert b'nature="error"' in r.data


def test_form_list_lists_open_forms_with_hash_of_the_served_bytes(collector, publish):
    publish("household", media={"villages.csv": CSV})
    publish("simple")
    reply, listed = collector.form_list()
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/xml; charset=utf-8"
    assert reply.headers["x-openrosa-version"] == "1.0"
    assert reply.headers["x-openrosa-accept-content-length"] == "100000000"
    assert "date" in reply.headers
    assert [f["formID"] for f in listed] == ["simple", "household"]  # sorted by title
    for entry in listed:
        download = collector.request("GET", entry["downloadUrl"])
        assert download.status == 200
        assert entry["hash"] == "md5:" + hashlib.md5(download.body).hexdigest()
        assert entry["version"] == "1"
    household = next(f for f in listed if f["formID"] == "household")
    simple = next(f for f in listed if f["formID"] == "simple")
    assert household["manifestUrl"] == "http://localhost/forms/household/manifest"
    assert "manifestUrl" not in simple  # only forms that use media have a manifest
    assert simple["name"] == "Biểu mẫu đơn giản & thử"  # escaped once in XML, read back intact


def test_form_list_honours_form_id_and_ignores_other_parameters(collector, publish):
    publish("household")
    publish("simple")
    reply = collector.request("GET", "http://localhost/formList?formID=simple&verbose=true")
    assert reply.status == 200
    assert b"<formID>simple</formID>" in reply.body and b"household" not in reply.body
    reply = collector.request("GET", "http://localhost/formList?formID=nosuch")
    assert reply.status == 200 and b"<xform>" not in reply.body


def test_closing_and_closed_forms_are_not_listed(collector, publish, db):
    publish("household")
    publish("simple")
    forms.set_state(db, "household", FormState.CLOSING)
    forms.set_state(db, "simple", FormState.CLOSED)
    _, listed = collector.form_list()
    assert listed == []


def test_a_designer_sees_an_empty_list_and_may_not_download(client, make_user, publish):
    publish("simple")
    make_user("dung", "designer")
    designer = CollectClient(flask_sender(client), "http://localhost", "dung", "correct horse")
    reply, listed = designer.form_list()
    assert reply.status == 200 and listed == []
    reply = designer.request("GET", "http://localhost/forms/simple.xml")
    assert reply.status == 403 and "designer" in reply.message


def test_form_list_requires_the_openrosa_version_header(collector, publish):
    publish("simple")
    reply = collector.request(
        "GET", "http://localhost/formList", headers={"X-OpenRosa-Version": ""}
    )
    assert reply.status == 400
    assert "X-OpenRosa-Version" in reply.message


def test_form_download_is_byte_exact_and_cacheable(collector, publish):
    publish("simple")
    first = collector.request("GET", "http://localhost/forms/simple.xml")
    assert first.status == 200 and first.body.startswith(b"<?xml")
    etag = first.headers["etag"]
    again = collector.request(
        "GET", "http://localhost/forms/simple.xml", headers={"If-None-Match": etag}
    )
    assert again.status == 304 and again.body == b""


def test_unknown_form_download_is_404(collector):
    reply = collector.request("GET", "http://localhost/forms/nosuch.xml")
    assert reply.status == 404
    assert "nosuch" in reply.message


def test_manifest_lists_present_media_with_md5_and_serves_them(collector, publish):
    publish("household", media={"villages.csv": CSV, "unused.png": b"x"})
    reply, files = collector.manifest("http://localhost/forms/household/manifest")
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/xml")
    assert files == [
        {
            "filename": "villages.csv",
            "hash": "md5:" + hashlib.md5(CSV).hexdigest(),
            "downloadUrl": "http://localhost/forms/household/media/villages.csv",
        }
    ]
    media = collector.request("GET", files[0]["downloadUrl"])
    assert media.status == 200 and media.body == CSV
    assert media.headers["content-type"].startswith("text/csv")
    assert media.headers["etag"] == f'"{hashlib.md5(CSV).hexdigest()}"'
    cached = collector.request(
        "GET", files[0]["downloadUrl"], headers={"If-None-Match": media.headers["etag"]}
    )
    assert cached.status == 304


def test_manifest_is_empty_until_media_is_uploaded(collector, publish):
    result = publish("household", media={})
    assert result.missing_media == ["villages.csv"]
    reply, files = collector.manifest("http://localhost/forms/household/manifest")
    assert reply.status == 200 and files == []
    assert (
        collector.request("GET", "http://localhost/forms/household/media/villages.csv").status
        == 404
    )


def test_media_update_without_version_bump_changes_the_manifest_hash(collector, publish):
    publish("household", media={"villages.csv": CSV})
    result = publish("household", media={"villages.csv": CSV + b"t3,Thon 3\n"})
    assert result.status == "media-updated"
    _, files = collector.manifest("http://localhost/forms/household/manifest")
    assert files[0]["hash"] == "md5:" + hashlib.md5(CSV + b"t3,Thon 3\n").hexdigest()


def test_public_url_is_used_for_every_link(collector_with, publish):
    c = collector_with(public_url="https://khudan.example.vn/odk")
    publish("household")
    _, listed = c.form_list()
    assert listed[0]["downloadUrl"] == "https://khudan.example.vn/odk/forms/household.xml"
    assert listed[0]["manifestUrl"] == "https://khudan.example.vn/odk/forms/household/manifest"
