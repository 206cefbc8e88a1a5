"""What a problem about *another* submission tells a reader who may not open that one.

Tries: a supervisor of one thôn reads a household flagged as a duplicate of, and sharing a photo
with, submissions in the next thôn; neither the other's id, its instanceID nor its file name may
appear in the API, the review queue or the submission page. A supervisor of the whole commune sees
both and gets a link.
"""

from __future__ import annotations

import pytest
from factories import domain_sample, jpeg
from sqlalchemy import select

from khudan.models import Submission
from khudan.services import areas

PASSWORD = "correct horse"
FIRST = "uuid:fa22d4b7-ce38-4004-900a-b698b0fd8ee7"
OTHER = "uuid:0b1e0b1e-0000-4000-8000-00000000beef"
THIRD = "uuid:0b1e0b1e-0000-4000-8000-00000000cafe"


@pytest.fixture
def registry(db, official_areas):
    with db.session() as s:
        areas.import_areas(
            s,
            [
                {"commune_code": "21607", "code": "T01", "name": "Thôn Bắc"},
                {"commune_code": "21607", "code": "T02", "name": "Thôn Nam"},
            ],
        )
        s.commit()


def with_photo(xml: bytes, name: str) -> bytes:
    return xml.replace(b"<house_photo />", f"<house_photo>{name}</house_photo>".encode())


@pytest.fixture
def flagged(collector, registry, shipped, db) -> dict[str, int]:
    """Household NC-T01-017 sent from thôn T01, again from thôn T02, and another household of T02
    with the same photo as the first."""
    photo = jpeg(640, 480, color=(90, 120, 40))
    mine = with_photo(domain_sample("pov1.xml"), "mine.jpg")
    t02 = {"21607.T01<": "21607.T02<"}
    twin = domain_sample("pov1.xml", **{FIRST: OTHER, **t02})
    neighbour = with_photo(
        domain_sample("pov1.xml", **{FIRST: THIRD, "NC-T01-017": "NC-T02-001", **t02}),
        "secret-name.jpg",
    )
    assert collector.submit(mine, {"mine.jpg": photo})[0].status == 201
    assert collector.submit(twin)[0].status == 201
    assert collector.submit(neighbour, {"secret-name.jpg": photo})[0].status == 201
    with db.session() as s:
        ids = dict(s.execute(select(Submission.instance_id, Submission.id)).all())
    return {"mine": ids[FIRST], "theirs": (ids[OTHER], ids[THIRD])}


def bearer(client, make_user, name: str, *codes: str) -> dict:
    make_user(name, "supervisor", areas=codes)
    r = client.post("/api/v1/sessions", json={"username": name, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json['token']}"}


def test_the_api_names_another_submission_only_to_who_may_open_it(client, make_user, flagged):
    mine, theirs = flagged["mine"], flagged["theirs"]
    thon = bearer(client, make_user, "tam", "21607.T01")
    body = client.get(f"/api/v1/submissions/{mine}", headers=thon).json
    related = [p for p in body["problems"] if p["rule"] in ("duplicate-household", "photo-reused")]
    assert {p["rule"] for p in related} == {"duplicate-household", "photo-reused"}
    text = str(related)
    assert OTHER not in text and "secret-name.jpg" not in text
    assert all(f" {pk}" not in text for pk in theirs)
    assert all(p["related_submission_id"] is None and p["value"] is None for p in related)
    assert all("outside your areas" in p["message_en"] for p in related)
    assert client.get(f"/api/v1/submissions/{theirs[0]}", headers=thon).status_code == 404

    commune = bearer(client, make_user, "son", "21607")
    body = client.get(f"/api/v1/submissions/{mine}", headers=commune).json
    related = [p for p in body["problems"] if p["rule"] in ("duplicate-household", "photo-reused")]
    assert {p["related_submission_id"] for p in related} == set(theirs)
    assert OTHER in str(related) and "secret-name.jpg" in str(related)


def test_the_pages_do_not_name_it_either(client, web_login, flagged):
    web_login("tam", "supervisor", areas=("21607.T01",))
    queue = client.get("/app/review").text
    page = client.get(f"/app/submissions/{flagged['mine']}").text
    for html in (queue, page):
        assert OTHER not in html and "secret-name.jpg" not in html
        assert "ngoài địa bàn của bạn" in html
    assert all(f"/app/submissions/{pk}" not in page for pk in flagged["theirs"])
