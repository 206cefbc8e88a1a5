"""``khudan serve`` for real (gunicorn, several workers) driven over HTTP the way ODK Collect is.

These tests start the server as a subprocess on a free loopback port, against the same test
database, so they also check what only a real server shows: the start-up work (migrate, publish
forms/, create an admin), concurrent requests in several processes, and that a 201 survives the
process being killed right after it.
"""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
import requests
from collect import CollectClient, requests_sender
from factories import household_xml, noisy_jpeg
from khudan_server import VILLAGES_CSV, KhudanServer
from sqlalchemy import select
from stored import count

from khudan.models import Attachment, Blob, Submission, SubmissionVersion
from khudan.storage import LocalStorage

pytestmark = pytest.mark.needs("java")


def answers_collect(url: str) -> bool:
    """Up once /submission asks a phone to log in."""
    probe = requests.head(f"{url}/submission", timeout=1, headers={"X-OpenRosa-Version": "1.0"})
    return probe.status_code == 401


@pytest.fixture
def live(tmp_path, database_url, db, make_user):
    make_user("thu")
    server = KhudanServer(
        tmp_path,
        database_url,
        answers_collect,
        KHUDAN_SECRET_KEY="live-test",
        KHUDAN_MAX_REQUEST_BYTES="200000",
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


def collector(live: KhudanServer) -> CollectClient:
    return CollectClient(requests_sender(), live.url, "thu", "correct horse")


def test_collects_whole_sequence_against_khudan_serve(live, db):
    phone = collector(live)
    # Start-up published forms/ with its media and created an admin.
    assert "Created user 'admin' with password:" in live.output()

    reply, listed = phone.form_list()
    assert reply.status == 200 and [f["formID"] for f in listed] == ["household"]
    form = phone.request("GET", listed[0]["downloadUrl"])
    assert listed[0]["hash"] == "md5:" + hashlib.md5(form.body).hexdigest()
    _, files = phone.manifest(listed[0]["manifestUrl"])
    media = phone.request("GET", files[0]["downloadUrl"])
    assert media.body == VILLAGES_CSV
    assert files[0]["hash"] == "md5:" + hashlib.md5(VILLAGES_CSV).hexdigest()

    photos = {f"{i}.jpg": noisy_jpeg(300, 300, seed=i) for i in range(3)}
    assert all(50_000 < len(p) < 150_000 for p in photos.values())
    xml = household_xml(
        "uuid:live-1", members=(("An", "1.jpg"), ("Bình", "2.jpg")), house_photo="0.jpg"
    )
    replies = phone.submit(xml, photos)  # split: the server accepts 200 kB per POST
    assert len(replies) >= 2 and all(r.status == 201 for r in replies)
    assert "successful" in replies[-1].message

    resend = phone.submit(xml, photos)
    assert [r.status for r in resend] == [201] * len(resend)

    edit = household_xml(
        "uuid:live-2",
        head="Trần Thị Bé",
        house_photo="0.jpg",
        members=(("An", "1.jpg"),),
        deprecated_id="uuid:live-1",
    )
    assert [r.status for r in phone.submit(edit)] == [201]

    assert count(db, Submission) == 1 and count(db, SubmissionVersion) == 2
    storage = LocalStorage(live.media)
    with db.session() as s:
        rows = s.execute(select(Attachment.name, Blob.storage_key).join(Blob)).all()
    stored = {}
    for name, key in rows:
        with storage.open(key) as fh:
            stored[name] = fh.read()
    assert stored == photos
    # One access-log line per request, as the issue asks. The server writes a line after it has
    # answered, so the last one may reach the log a moment after the client has its answer.
    deadline = time.monotonic() + 5
    while True:
        log_lines = [ln for ln in live.output().splitlines() if "org.odk.collect.android" in ln]
        if len(log_lines) >= len(phone.requests) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(log_lines) == len(phone.requests)


def test_twenty_simultaneous_posts_of_one_submission_store_one(live, db):
    xml = household_xml("uuid:race", house_photo="h.jpg")
    photo = noisy_jpeg(60, 60, seed=7)
    phones = [collector(live) for _ in range(20)]
    for p in phones:  # each phone has already answered a challenge, as Collect would have
        assert p.preflight().status == 204
    barrier = threading.Barrier(20)
    results: list[int] = []

    def send(phone: CollectClient) -> None:
        barrier.wait()
        results.extend(r.status for r in phone.submit(xml, {"h.jpg": photo}))

    threads = [threading.Thread(target=send, args=(p,)) for p in phones]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [201] * 20, live.output()[-3000:]
    assert count(db, Submission) == 1
    assert count(db, SubmissionVersion) == 1
    assert count(db, Attachment) == 1
    assert count(db, Blob) == 2  # the photo once, and the form's villages.csv
    assert "Traceback" not in live.output()


def test_an_acknowledged_submission_survives_a_kill_right_after_201(live, db):
    phone = collector(live)
    photo = noisy_jpeg(100, 100, seed=3)
    xml = household_xml("uuid:durable", house_photo="h.jpg")
    replies = phone.submit(xml, {"h.jpg": photo})
    assert [r.status for r in replies] == [201]
    live.kill()  # the instant the 201 is read
    with db.session() as s:
        version = s.scalar(
            select(SubmissionVersion).where(SubmissionVersion.instance_id == "uuid:durable")
        )
        assert version is not None and version.xml == xml
        key = s.scalar(
            select(Blob.storage_key).where(Blob.sha256 == hashlib.sha256(photo).hexdigest())
        )
    with LocalStorage(live.media).open(key) as fh:
        assert fh.read() == photo
    live.start()  # and the restarted server knows it: a resend is a duplicate
    again = collector(live).submit(xml, {"h.jpg": photo})
    assert [r.status for r in again] == [201] and "already" in again[0].message
    assert count(db, Submission) == 1
