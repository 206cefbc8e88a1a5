"""Backups and the move to PostgreSQL, done as an operator would: `khudan backup`, `khudan
restore` into an empty instance, `khudan migrate-db --to URL`; then every user, form, submission
and photo is looked for in what came out. The test database is SQLite or PostgreSQL as the run
says (KHUDAN_DATABASE_URL); a fresh, empty database of the same kind is made for the other side.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from collect import CollectClient, flask_sender
from factories import household_xml, jpeg
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from khudan.cli import main
from khudan.db import Database
from khudan.models import Attachment, Blob, Form, Submission, User

PASSWORD = "correct horse"


@pytest.fixture
def fresh_url(database_url, tmp_path):
    """An empty database of the run's kind, dropped afterwards."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'fresh' / 'khudan.db'}"
        return
    name = f"khudan_fresh_{uuid.uuid4().hex[:8]}"
    server = create_engine(
        make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


@pytest.fixture
def in_use(client, make_user, publish):
    """An instance in use: an admin, a collector, the household form and two households, one
    with photos (a member's and the house)."""
    make_user("boss", "admin")
    make_user("thu", "collector")
    publish("household")
    phone = CollectClient(flask_sender(client), "http://localhost", "thu", PASSWORD)
    photos = {
        "h.jpg": jpeg(640, 480, color=(10, 90, 30)),
        "m.jpg": jpeg(320, 240, color=(200, 5, 5)),
    }
    xml = household_xml("uuid:b1", members=(("An", "m.jpg"),), house_photo="h.jpg")
    assert phone.submit(xml, photos)[0].status == 201
    assert phone.submit(household_xml("uuid:b2", code="HH-02"))[0].status == 201
    return {name: hashlib.sha256(data).hexdigest() for name, data in photos.items()}


def khudan(*args: str, url: str, media: Path, instance: Path):
    env = {
        "KHUDAN_DATABASE_URL": url,
        "KHUDAN_MEDIA_ROOT": str(media),
        "KHUDAN_INSTANCE_DIR": str(instance),
        "KHUDAN_SECRET_KEY": "backup-test",
    }
    return CliRunner().invoke(main, list(args), env=env)


def contents(url: str, media: Path) -> dict:
    """What an instance holds, and whether each photo's file is there with its bytes."""
    db = Database(url)
    try:
        with db.session() as s:
            photos = {
                name: (sha, (media / "blobs" / key).is_file() and _sha(media / "blobs" / key))
                for name, sha, key in s.execute(
                    select(Attachment.name, Blob.sha256, Blob.storage_key).join(
                        Blob, Blob.id == Attachment.blob_id
                    )
                )
            }
            return {
                "users": sorted(s.scalars(select(User.username))),
                "forms": sorted(s.scalars(select(Form.form_id))),
                "submissions": sorted(s.scalars(select(Submission.instance_id))),
                "photos": photos,
            }
    finally:
        db.dispose()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_backup_restores_into_an_empty_instance_with_everything(
    in_use, settings, database_url, fresh_url, tmp_path
):
    before = contents(database_url, settings.media_root)
    assert len(before["submissions"]) == 2
    assert {n: sha for n, (sha, _) in before["photos"].items()} == in_use
    backup = tmp_path / "backup-2026-12-03"
    r = khudan(
        "backup", str(backup), url=database_url, media=settings.media_root, instance=tmp_path / "i"
    )
    assert r.exit_code == 0, r.output
    assert "written and verified" in r.output and (backup / "manifest.json").is_file()

    media = tmp_path / "restored-media"
    r = khudan("restore", str(backup), url=fresh_url, media=media, instance=tmp_path / "j")
    assert r.exit_code == 0, r.output
    after = contents(fresh_url, media)
    assert after == before
    assert all(ok == sha for sha, ok in after["photos"].values())  # the files, byte for byte

    # Restoring again over data is refused: nothing is overwritten.
    r = khudan("restore", str(backup), url=fresh_url, media=media, instance=tmp_path / "j")
    assert r.exit_code == 1 and "not empty" in r.output


def test_a_damaged_backup_is_refused_before_anything_is_written(
    in_use, settings, database_url, fresh_url, tmp_path
):
    backup = tmp_path / "b"
    assert (
        khudan(
            "backup",
            str(backup),
            url=database_url,
            media=settings.media_root,
            instance=tmp_path / "i",
        ).exit_code
        == 0
    )
    photo = next(p for p in (backup / "media" / "blobs").rglob("*") if p.is_file())
    photo.write_bytes(photo.read_bytes()[:-10])
    r = khudan("restore", str(backup), url=fresh_url, media=tmp_path / "m", instance=tmp_path / "j")
    assert r.exit_code == 1 and "changed since the backup" in r.output
    db = Database(fresh_url)
    try:
        assert not db.initialised()  # refused before the database was touched
    finally:
        db.dispose()


def test_migrate_db_copies_every_row_into_an_empty_database(
    in_use, settings, database_url, fresh_url, tmp_path
):
    before = contents(database_url, settings.media_root)
    r = khudan(
        "migrate-db",
        "--to",
        fresh_url,
        url=database_url,
        media=settings.media_root,
        instance=tmp_path / "i",
    )
    assert r.exit_code == 0, r.output
    assert contents(fresh_url, settings.media_root) == before
    # The copy is usable: a new row gets a new id (sequences moved past the copied ones).
    db = Database(fresh_url)
    try:
        with db.session() as s:
            s.add(User(username="new", role="collector", password_hash="x", digest_ha1="x"))
            s.commit()
    finally:
        db.dispose()
    r = khudan(
        "migrate-db",
        "--to",
        fresh_url,
        url=database_url,
        media=settings.media_root,
        instance=tmp_path / "i",
    )
    assert r.exit_code == 1 and "not empty" in r.output


def test_from_sqlite_to_postgresql(in_use, settings, database_url, fresh_url, tmp_path):
    """The move the README describes: an office's SQLite instance into PostgreSQL. (The run's
    database goes to an SQLite file first, when the run is on PostgreSQL.)"""
    if not database_url.startswith("postgresql"):
        pytest.skip("needs a PostgreSQL server: set KHUDAN_DATABASE_URL (.ci/run does)")
    before = contents(database_url, settings.media_root)
    office = f"sqlite:///{tmp_path / 'office' / 'khudan.db'}"
    media, here = settings.media_root, tmp_path / "i"
    assert (
        khudan("migrate-db", "--to", office, url=database_url, media=media, instance=here).exit_code
        == 0
    )
    r = khudan("migrate-db", "--to", fresh_url, url=office, media=media, instance=here)
    assert r.exit_code == 0, r.output
    assert contents(fresh_url, media) == before
