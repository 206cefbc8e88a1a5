"""URLs from the Host header (#18): without KHUDAN_PUBLIC_URL the form list is built from the
request's Host, so khudan answers only the names it is configured for and refuses others with 400
(the live ``khudan serve`` case is in test_slow_clients.py, which has a server running)."""

from __future__ import annotations

import pytest
from collect import CollectClient, flask_sender

from khudan.app import create_app
from khudan.hosts import hostname, listening_hosts

PASSWORD = "correct horse"


@pytest.fixture
def app_for_lan(settings, db, make_user, publish):
    publish("simple")
    make_user("thu", "collector")
    return create_app(settings.but(allowed_hosts=("khudan.lan", "192.168.1.10")), db=db)


def test_an_unknown_host_is_refused_and_never_reaches_a_url(app_for_lan):
    client = app_for_lan.test_client()
    r = client.get("/formList", headers={"X-OpenRosa-Version": "1.0", "Host": "evil.example:8080"})
    assert r.status_code == 400
    assert b"evil.example" in r.data and b"KHUDAN_ALLOWED_HOSTS" in r.data
    assert r.mimetype == "text/xml"  # Collect shows the message
    api = client.get("/api/v1/forms", headers={"Host": "evil.example"})
    assert api.status_code == 400 and api.json["code"] == "400.22"
    page = client.get("/", headers={"Host": "evil.example"})  # outside every blueprint
    assert page.status_code == 400 and page.json["code"] == "400.22"


@pytest.mark.parametrize("base", ["http://khudan.lan", "http://192.168.1.10:8080"])
def test_a_configured_host_builds_the_form_list_urls(app_for_lan, base):
    phone = CollectClient(flask_sender(app_for_lan.test_client()), base, "thu", PASSWORD)
    reply, listed = phone.form_list()
    assert reply.status == 200
    urls = [form["downloadUrl"] for form in listed]
    assert urls and all(u.startswith(base + "/") for u in urls)


def test_serve_allows_what_it_listens_on():
    assert listening_hosts("127.0.0.1") == ("127.0.0.1", "::1", "localhost")
    everywhere = listening_hosts("0.0.0.0", "https://khudan.example.vn/")  # noqa: S104
    assert {"127.0.0.1", "localhost", "khudan.example.vn"} <= set(everywhere)
    assert len(everywhere) > 4  # and the machine's own names and addresses
    assert [hostname(h) for h in ("a.vn:80", "[::1]:8080", "::1", "A.VN")] == [
        "a.vn",
        "::1",
        "::1",
        "a.vn",
    ]
