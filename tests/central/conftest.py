"""Fixtures for the ODK Central subset (/v1): households sent by Collect, log-in as a role, and a
real HTTP server for the real clients (pyodk, python-odata)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from factories import domain_sample, household_xml, jpeg
from werkzeug.serving import make_server

from khudan.services import forms

FORMS = Path(__file__).resolve().parents[2] / "forms"
PHOTO = jpeg(color=(40, 90, 160))


@pytest.fixture
def households(publish, collector):
    """Three submissions of the household form (a repeat, photos, a geopoint), oldest first;
    the second has two members and a photo of the house."""
    publish("household")
    sent = [
        household_xml("uuid:h1", code="HH-01", members=(("An", ""),)),
        household_xml(
            "uuid:h2",
            code="HH-02",
            head="Trần Thị Bình",
            members=(("Bình", "b.jpg"), ("Cúc", "")),
            house_photo="house.jpg",
        ),
        household_xml("uuid:h3", code="HH-03"),
    ]
    files = [{}, {"b.jpg": PHOTO, "house.jpg": PHOTO}, {}]
    for xml, attached in zip(sent, files, strict=True):
        assert [r.status for r in collector.submit(xml, attached)] == [201]
    return ["uuid:h1", "uuid:h2", "uuid:h3"]


@pytest.fixture
def two_communes(db, official_areas, storage, collector):
    """A poverty review in Xã Nhơn Châu (21607) and one in Phường Quy Nhơn Bắc (21553)."""
    forms.publish_xlsform(db, storage, FORMS / "poverty_review.xlsx", validate=False)
    rural = domain_sample("pov1.xml")
    urban = domain_sample(
        "pov2.xml", **{"<household_code />": "<household_code>QNB-K01-004</household_code>"}
    )
    assert [r.status for r in collector.submit(rural)] == [201]
    assert [r.status for r in collector.submit(urban)] == [201]


@pytest.fixture
def central_login(client, make_user):
    """central_login("lan", "supervisor", areas=("21607",)) -> bearer headers from /v1/sessions."""

    def do(username: str = "admin1", role: str = "admin", areas: tuple[str, ...] = ()) -> dict:
        make_user(username, role, areas=areas)
        r = client.post("/v1/sessions", json={"email": username, "password": "correct horse"})
        assert r.status_code == 200, r.json
        return {"Authorization": f"Bearer {r.json['token']}"}

    return do


@pytest.fixture
def serve():
    """serve(app) -> the URL of that app on a real HTTP server (a thread on a free port)."""
    running = []

    def start(app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running.append((server, thread))
        return f"http://127.0.0.1:{server.port}"

    yield start
    for server, thread in running:
        server.shutdown()
        thread.join()
