"""The API's conventions (#16): one language per error message, chosen by Accept-Language; 401
says how to authenticate; lists page in Link headers as well as in the body; a submission is found
by the instanceID a phone shows; a CSV says its charset once; every time has its zone."""

from __future__ import annotations

import datetime as dt

from factories import household_xml


def test_a_401_says_how_to_authenticate(client):
    r = client.get("/api/v1/submissions")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="khudan"'


def test_lists_page_in_link_headers_too(client, login):
    admin = login()
    for n in range(4):
        login(f"u{n}", "supervisor")  # five log-ins in the audit log in all
    r = client.get("/api/v1/audit?per_page=2&page=2&action=user.login", headers=admin)
    assert r.status_code == 200 and r.json["total"] == 5
    links = dict(
        (part.split('rel="')[1].rstrip('"'), part.split(">")[0].lstrip("<"))
        for part in r.headers["Link"].split(", ")
    )
    assert set(links) == {"first", "prev", "next", "last"}
    assert "&page=3" in links["next"] and "action=user.login" in links["next"]
    assert "&page=3" in links["last"] and "&page=1" in links["prev"]
    first = client.get("/api/v1/audit?per_page=2&action=user.login", headers=admin)
    assert 'rel="prev"' not in first.headers["Link"]


def test_a_submission_is_found_by_any_of_its_instance_ids(client, login, collector, publish):
    publish("household")
    collector.submit(household_xml("uuid:first"))
    collector.submit(household_xml("uuid:second", deprecated_id="uuid:first"))
    admin = login()
    by_old = client.get("/api/v1/submissions/by-instance/uuid:first", headers=admin)
    by_new = client.get("/api/v1/submissions/by-instance/uuid:second", headers=admin)
    assert by_old.status_code == by_new.status_code == 200
    assert by_old.json["id"] == by_new.json["id"]
    assert [v["instance_id"] for v in by_new.json["versions"]] == ["uuid:second", "uuid:first"]
    missing = client.get("/api/v1/submissions/by-instance/uuid:nope", headers=admin)
    assert missing.status_code == 404
    # Every time leaving the API has its zone.
    for version in by_new.json["versions"]:
        assert dt.datetime.fromisoformat(version["created_at"]).tzinfo is not None


def test_a_csv_states_its_charset_once(client, login, collector, publish):
    publish("household")
    collector.submit(household_xml("uuid:c1"))
    r = client.get("/api/v1/forms/household/submissions.csv", headers=login())
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
