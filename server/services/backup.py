"""Backups an office can restore, and the move from SQLite to PostgreSQL.

A backup is a folder: the database (SQLite's online backup API, a consistent copy while the server
runs; on PostgreSQL ``pg_dump`` in its custom format), the media files as they lie under
``KHUDAN_MEDIA_ROOT`` (in object storage: a list of every stored file with its hash, since the
bucket keeps its own copies), and ``manifest.json`` with the SHA-256 of every file. It is checked
after writing (every hash read back; SQLite's integrity check or ``pg_restore --list``) and before a
restore. A restore goes only into an empty instance, then upgrades the schema.

``migrate_db`` copies every table row by row from one database to another (SQLite to PostgreSQL),
in the order foreign keys need, and checks the counts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import make_url

from .. import models
from ..config import Settings
from ..db import Database
from ..models import Blob

MANIFEST = "manifest.json"
FORMAT = 1
VN = dt.timezone(dt.timedelta(hours=7))
Progress = Callable[[int, int], None]


class BackupError(Exception):
    """What stops a backup or a restore, in words an operator can act on."""


@dataclass(frozen=True, slots=True)
class Summary:
    path: Path
    database: str  # "sqlite" or "postgresql"
    media_files: int
    media_bytes: int


def backup(settings: Settings, dest: Path, progress: Progress | None = None) -> Summary:
    """Write a verified backup of the database and media into the new folder ``dest``."""
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty: give a new folder for the backup")
    dest.mkdir(parents=True, exist_ok=True)
    kind = _kind(settings.database_url)
    if kind == "sqlite":
        name = "database.sqlite3"
        _sqlite_copy(_sqlite_path(settings.database_url), dest / name)
    else:
        name = "database.pgdump"
        _run([_tool("pg_dump"), "-Fc", "--no-owner", "-f", str(dest / name), _libpq(settings)])
        _run([_tool("pg_restore"), "--list", str(dest / name)])
    files: dict[str, str] = {}
    media: dict = {"kind": "files"}
    if settings.storage_url:  # object storage keeps the files: list them with their hashes
        db = Database(settings.database_url)
        try:
            with db.session() as session:
                rows = session.execute(select(Blob.storage_key, Blob.sha256, Blob.size)).all()
        finally:
            db.dispose()
        media = {
            "kind": "manifest",
            "storage_url": settings.storage_url,
            "files": {key: {"sha256": sha, "size": size} for key, sha, size in rows},
        }
        count, size = len(rows), sum(r[2] for r in rows)
    else:
        count, size = _copy_tree(settings.media_root, dest / "media", files, progress)
    files[name] = _sha256(dest / name)
    manifest = {
        "format": FORMAT,
        "created_at": dt.datetime.now(VN).isoformat(timespec="seconds"),
        "database": {"kind": kind, "file": name},
        "media": media,
        "files": files,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    verify(dest)
    return Summary(dest, kind, count, size)


def verify(src: Path) -> dict:
    """The manifest of the backup in ``src`` once every file in it has its recorded hash."""
    try:
        manifest = json.loads((src / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{src} is not a khudan backup ({MANIFEST}: {exc})") from None
    for name, digest in manifest["files"].items():
        path = src / name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"{path} is missing or changed since the backup was written")
    return manifest


def restore(settings: Settings, src: Path, progress: Progress | None = None) -> Summary:
    """Restore the backup in ``src`` into this (empty) instance, then upgrade its schema."""
    manifest = verify(src)
    kind, name = manifest["database"]["kind"], manifest["database"]["file"]
    target = _kind(settings.database_url)
    db = Database(settings.database_url)
    try:
        if _holds_data(db):
            raise BackupError(
                "the database of this instance is not empty: restore into a new instance "
                "(another KHUDAN_DATABASE_URL or instance folder)"
            )
    finally:
        db.dispose()
    if kind == "sqlite" and target == "sqlite":
        path = _sqlite_path(settings.database_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        _sqlite_copy(src / name, path)
    elif kind == "sqlite":
        migrate_db(f"sqlite:///{(src / name).resolve()}", settings.database_url)
    elif target == "postgresql":
        _run(
            [
                _tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "-d",
                _libpq(settings),
                str(src / name),
            ]
        )
    else:
        raise BackupError(
            "a PostgreSQL backup restores into PostgreSQL: set KHUDAN_DATABASE_URL to an empty "
            "PostgreSQL database (then `khudan migrate-db` can copy it elsewhere)"
        )
    count = size = 0
    if manifest["media"]["kind"] == "files":
        media = src / "media"
        for done, (rel, digest) in enumerate(sorted(manifest["files"].items()), start=1):
            if not rel.startswith("media/"):
                continue
            out = settings.media_root / rel.removeprefix("media/")
            out.parent.mkdir(parents=True, exist_ok=True)
            if not out.exists() or _sha256(out) != digest:
                shutil.copy2(media / rel.removeprefix("media/"), out)
            count, size = count + 1, size + out.stat().st_size
            if progress:
                progress(done, len(manifest["files"]))
    db = Database(settings.database_url)
    try:
        db.migrate()  # a backup from an older khudan gets today's schema
    finally:
        db.dispose()
    return Summary(src, target, count, size)


def migrate_db(source_url: str, target_url: str, progress: Progress | None = None) -> dict:
    """Copy every row of ``source_url`` into the empty ``target_url``; {table: rows}."""
    if _kind(target_url) == "sqlite":
        _sqlite_path(target_url).parent.mkdir(parents=True, exist_ok=True)
    source, target = Database(source_url), Database(target_url)
    try:
        if not source.initialised():
            raise BackupError(f"{_shown(source_url)} holds no khudan database")
        if _holds_data(target):
            raise BackupError(f"{_shown(target_url)} is not empty: give an empty database")
        source.migrate()
        target.migrate()
        tables = [t for t in models.Base.metadata.sorted_tables]
        order = {t.name: i for i, t in enumerate(tables)}
        copied = {}
        with source.engine.connect() as src, target.engine.begin() as dst:
            for done, table in enumerate(tables, start=1):
                # A column pointing at a table copied later (a cycle, as submissions' current
                # version) is filled in once that table is there.
                later = [
                    fk.parent.name
                    for fk in table.foreign_keys
                    if order.get(fk.column.table.name, -1) >= order[table.name]
                ]
                rows = [dict(r._mapping) for r in src.execute(select(table))]
                if rows:
                    blanked = [{**r, **dict.fromkeys(later)} for r in rows]
                    for start in range(0, len(blanked), 1000):
                        dst.execute(insert(table), blanked[start : start + 1000])
                copied[table.name] = (rows, later)
                if progress:
                    progress(done, len(tables) * 2)
            for table in tables:
                rows, later = copied[table.name]
                keys = [c for c in table.primary_key.columns]
                for row in rows if later else []:
                    if any(row[c] is not None for c in later):
                        where = [k == row[k.name] for k in keys]
                        dst.execute(update(table).where(*where).values({c: row[c] for c in later}))
            if dst.dialect.name == "postgresql":  # new rows must not reuse a copied id
                for table in tables:
                    if "id" in table.c and table.c.id.autoincrement:
                        high = dst.execute(select(func.max(table.c.id))).scalar() or 0
                        dst.execute(
                            text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, false)"),
                            {"t": table.name, "v": high + 1},
                        )
            counts = {}
            for table in tables:
                n = dst.execute(select(func.count()).select_from(table)).scalar()
                if n != len(copied[table.name][0]):
                    raise BackupError(
                        f"{table.name}: {n} rows copied of {len(copied[table.name][0])}"
                    )
                counts[table.name] = n
        return counts
    finally:
        source.dispose()
        target.dispose()


def _holds_data(db: Database) -> bool:
    """Whether the database has any user, form or submission (an instance in use)."""
    if not db.initialised():
        return False
    with db.engine.connect() as conn:
        for model in (models.User, models.Form, models.Submission):
            if conn.execute(select(func.count()).select_from(model)).scalar():
                return True
    return False


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy even while writers run; then checked."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
        result = dst.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"the copy of {source} failed SQLite's integrity check: {result}")


def _copy_tree(root: Path, out: Path, files: dict, progress: Progress | None) -> tuple[int, int]:
    paths = sorted(
        p for p in root.rglob("*") if p.is_file() and "tmp" not in p.relative_to(root).parts[:1]
    )
    size = 0
    for done, path in enumerate(paths, start=1):
        rel = path.relative_to(root)
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        files[f"media/{rel.as_posix()}"] = _sha256(target)
        size += target.stat().st_size
        if progress:
            progress(done, len(paths))
    return len(paths), size


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _kind(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"backups cover SQLite and PostgreSQL, not {backend}")
    return backend


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


def _libpq(settings: Settings) -> str:
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return (
        make_url(settings.database_url)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} was not found on PATH: install the PostgreSQL client "
            "(apt-get install postgresql-client) of the server's major version"
        )
    return found


def _run(command: list[str]) -> None:
    done = subprocess.run(
        command, capture_output=True, text=True, env=os.environ.copy(), check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()}")
