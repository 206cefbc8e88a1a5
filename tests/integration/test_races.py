"""Two phones at the same moment, on PostgreSQL, where ingest transactions run side by side (SQLite
runs one writer at a time, so the race cannot happen there).

The test holds both transactions at a barrier right before the check that looks for the *other*
submission, so both have inserted theirs and neither has committed: without a lock each would look
too early and neither would be flagged (khudan.db.serialise). Two submissions of one household
need no lock: their facts share a unique (period, household) key, so the second waits for the
first, fails, and is retried whole, and then sees it.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from collect import CollectClient, flask_sender
from factories import household_xml, photo
from sqlalchemy import select

from khudan.models import SubmissionProblem, SubmissionVersion
from khudan.services import photos as photo_checks

PASSWORD = "correct horse"


@pytest.fixture
def phones(app, db, publish, make_user):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the race exists on PostgreSQL only")
    publish("household")
    make_user("thu", "collector", areas=("52",))
    return [
        CollectClient(flask_sender(app.test_client()), "http://localhost", "thu", PASSWORD)
        for _ in range(2)
    ]


def meet_before(monkeypatch, module, name: str) -> None:
    """Both transactions wait for each other once, right before ``module.name`` runs."""
    barrier = threading.Barrier(2, timeout=30)
    passed = threading.local()
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        if not getattr(passed, "done", False):
            passed.done = True
            barrier.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)


def send_both(phones, bodies) -> None:
    def send(pair):
        phone, (xml, files) = pair
        assert [r.status for r in phone.submit(xml, files)] == [201]

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(send, zip(phones, bodies, strict=True)))


def rules(db, instance_id: str) -> list[str]:
    with db.session() as s:
        return list(
            s.scalars(
                select(SubmissionProblem.rule)
                .join(SubmissionVersion, SubmissionVersion.id == SubmissionProblem.version_id)
                .where(SubmissionVersion.instance_id == instance_id)
            )
        )


def test_one_house_photographed_for_two_households_at_once_flags_both(phones, db, monkeypatch):
    # A re-encoded copy: another file (an exact copy would wait on the blobs' unique hash anyway),
    # found by its perceptual hash in the other, not yet committed, submission.
    meet_before(monkeypatch, photo_checks, "_reuse")
    send_both(
        phones,
        [
            (
                household_xml("uuid:race-p1", code="HH-08", house_photo="a.jpg"),
                {"a.jpg": photo(21, quality=92)},
            ),
            (
                household_xml("uuid:race-p2", code="HH-09", house_photo="b.jpg"),
                {"b.jpg": photo(21, quality=40)},
            ),
        ],
    )
    assert rules(db, "uuid:race-p1") == rules(db, "uuid:race-p2") == ["photo-reused"]


def test_the_lock_is_asked_for_once_a_transaction(db):
    """khudan.db.serialise: the advisory lock is held until the transaction ends, so a second
    call in it asks nothing; the next transaction, even one that has run no statement yet when
    it calls, asks again. SQLite needs no lock and asks nothing."""
    from sqlalchemy import event

    from khudan.db import serialise

    asked: list[str] = []

    def keep(conn, cursor, statement, *args) -> None:
        if "pg_advisory_xact_lock" in statement:
            asked.append(statement)

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        with db.session() as session:
            serialise(session, "photo-reuse")  # the transaction's first statement
            session.commit()
            serialise(session, "photo-reuse")  # the next one's first: asked again
            serialise(session, "photo-reuse")
            serialise(session, "another")
            session.rollback()
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert len(asked) == (3 if db.engine.dialect.name == "postgresql" else 0)
