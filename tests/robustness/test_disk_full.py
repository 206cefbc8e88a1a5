"""A full disk (#18): the submission is not stored (nothing half-stored, as before), and Collect is
told so with 507 and a message it shows ("server storage full, try later") instead of a bare 500;
the server logs it at CRITICAL. The storage is the one seam faked: a real LocalStorage whose
writes fail with ENOSPC, as a full disk makes them fail. SQLite's own "database or disk is full"
is produced for real with a page limit."""

from __future__ import annotations

import dataclasses
import errno
import logging
import sqlite3

import pytest
from collect import CollectClient, flask_sender
from factories import household_xml, jpeg
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from stored import count

from khudan import errors
from khudan.app import create_app
from khudan.models import Submission
from khudan.services.capacity import is_disk_full

PASSWORD = "correct horse"


class FullDisk:
    """A storage whose writes fail as on a full disk; reads still work."""

    def __init__(self, real):
        self._real = real

    def put_stream(self, stream):
        stream.read(1024)
        raise OSError(errno.ENOSPC, "No space left on device")

    def put_derived(self, key, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self._real, name)


def test_a_submission_on_a_full_disk_is_507_with_a_message_and_stores_nothing(
    settings, db, make_user, publish, caplog
):
    publish("household")
    make_user("thu", "collector")
    app = create_app(settings, db=db)
    runtime = app.extensions["khudan"]
    app.extensions["khudan"] = dataclasses.replace(runtime, storage=FullDisk(runtime.storage))
    phone = CollectClient(flask_sender(app.test_client()), "http://localhost", "thu", PASSWORD)
    xml = household_xml(house_photo="house.jpg")
    with caplog.at_level(logging.CRITICAL):
        [reply] = phone.submit(xml, {"house.jpg": jpeg()})
    assert reply.status == 507
    assert reply.message == errors.STORAGE_FULL().message
    assert count(db, Submission) == 0
    assert any(r.levelno == logging.CRITICAL and "DISK FULL" in r.message for r in caplog.records)


def test_sqlite_database_full_is_recognised(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/tiny.db")
    with pytest.raises(OperationalError) as full, engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x TEXT)"))
        conn.execute(text("PRAGMA max_page_count = 3"))
        for _ in range(100):
            conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": "x" * 4000})
    assert is_disk_full(full.value)


def test_other_errors_are_not_taken_for_a_full_disk():
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(sqlite3.OperationalError("database is locked"))
    assert not is_disk_full(ValueError("x"))
    chained = RuntimeError("commit failed")
    chained.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert is_disk_full(chained)


def test_postgresql_disk_full_is_recognised_by_its_sqlstate():
    psycopg = pytest.importorskip("psycopg")
    assert is_disk_full(psycopg.errors.DiskFull("could not extend file: No space left on device"))
    assert not is_disk_full(psycopg.errors.SerializationFailure("could not serialize"))
