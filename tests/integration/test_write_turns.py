"""Who goes first when work competes: SQLite writers of several processes take turns on a file
lock, a process's job threads let its requests go first, and the registry the checks read is
cached without missing a change."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time

from sqlalchemy import update

from khudan.db import Database
from khudan.models import Area
from khudan.services import areas, jobs

HOLD = """
import sys, time
from khudan.db import Database
with Database(sys.argv[1]).write_lock():
    print("held", flush=True)
    time.sleep(1.0)
"""


def test_sqlite_writers_of_two_processes_take_turns(tmp_path):
    url = f"sqlite:///{tmp_path / 'k.db'}"
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout.readline().strip() == "held"
        start = time.monotonic()
        with Database(url).write_lock():
            waited = time.monotonic() - start
    assert waited >= 0.5  # it waited for the other process's writer, not only its own threads
    assert (tmp_path / "k.db.writelock").exists()


def test_requests_are_counted_while_they_run():
    requests = jobs.Requests()
    inside = threading.Event()
    release = threading.Event()

    def app(environ, start_response):
        inside.set()
        release.wait(10)
        raise RuntimeError("a failing request is counted out too")

    counted = requests.middleware(app)

    def call():
        with contextlib.suppress(RuntimeError):
            counted({}, None)

    caller = threading.Thread(target=call)
    caller.start()
    assert inside.wait(5)
    assert requests.in_flight == 1
    start = time.monotonic()
    requests.wait_idle(0.2)  # gives up after its timeout
    assert time.monotonic() - start >= 0.15
    release.set()
    caller.join(5)
    assert requests.in_flight == 0
    start = time.monotonic()
    requests.wait_idle(5)
    assert time.monotonic() - start < 1


def test_the_registry_the_checks_read_follows_changes(db, registry, monkeypatch):
    monkeypatch.setattr(areas, "REGISTRY_RECHECK_SECONDS", 3600)
    with db.session() as s:
        assert b"21607.T09" not in areas.registry_csv(s)
    # A change made by this process is seen at once, though the key was just read.
    with db.session() as s:
        areas.import_areas(s, [{"commune_code": "21607", "code": "T09", "name": "Thôn Chín"}])
        s.commit()
    with db.session() as s:
        assert b"21607.T09" in areas.registry_csv(s)
    # One made by another process (here: without this module) is seen at the next recheck.
    with db.session() as s:
        s.execute(update(Area).where(Area.code == "21607.T09").values(full_name="Thôn Chín Mới"))
        s.commit()
    with db.session() as s:
        assert "Thôn Chín Mới" not in areas.registry_csv(s).decode()
    monkeypatch.setattr(areas, "REGISTRY_RECHECK_SECONDS", 0)
    with db.session() as s:
        assert "Thôn Chín Mới" in areas.registry_csv(s).decode()


def test_a_disposed_database_leaves_no_lock_file_open(tmp_path):
    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    url = f"sqlite:///{tmp_path / 'k.db'}"
    Database(url).dispose()
    before = open_files()
    for _ in range(20):
        db = Database(url)
        with db.write_lock():
            pass
        db.dispose()
    assert open_files() == before
    db = Database(url)
    db.dispose()
    with db.write_lock():  # a disposed database still serves (it opens the file again)
        pass
    db.dispose()
