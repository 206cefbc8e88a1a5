"""What the database and storage hold, for assertions."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select, text

from khudan.models import Area, Attachment, Base, Blob, SubmissionVersion
from khudan.services import areas


def sha(data: bytes) -> str:
    """The SHA-256 hex digest by which storage names a file."""
    return hashlib.sha256(data).hexdigest()


# The official provinces and communes: 3,400 rows that two hundred tests need, and 0.1 s (SQLite)
# to 0.5 s (PostgreSQL, a foreign-key check a row) to load again each time. Loaded through
# ``load_official`` they are kept by ``empty`` while they are exactly as loaded; the ``db`` fixture
# drops them (``drop_official``) before a test that does not ask for them.
OFFICIAL_LEVELS = ("province", "commune")
_AREAS = Area.__table__
_OFFICIAL_ROWS = select(_AREAS).where(_AREAS.c.level.in_(OFFICIAL_LEVELS)).order_by(_AREAS.c.code)
_NOT_OFFICIAL = f" WHERE level NOT IN {OFFICIAL_LEVELS!r}"
_LOADED: dict[str, list[tuple]] = {}  # database URL -> the official rows as loaded
_KEPT: set[str] = set()  # database URLs whose official rows are there, as loaded


def load_official(database) -> None:
    """``areas.load_official`` into an empty registry, unless the rows are still there as loaded."""
    key = str(database.engine.url)
    if key in _KEPT:
        return
    with database.session() as s:
        areas.load_official(s)
        s.commit()
    with database.engine.connect() as conn:
        _LOADED.setdefault(key, list(conn.execute(_OFFICIAL_ROWS)))
    _KEPT.add(key)


def drop_official(database) -> None:
    """Empty the registry if ``empty`` kept the official rows (a test that wants none)."""
    key = str(database.engine.url)
    if key in _KEPT:
        _KEPT.discard(key)
        with database.engine.begin() as conn:
            conn.execute(_AREAS.delete())
        areas._CHECKED.clear()


# Sequences used since they last started (PostgreSQL): ``empty`` starts them again, as TRUNCATE's
# RESTART IDENTITY would.
_USED_SEQUENCES = text(
    "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() "
    "AND last_value IS NOT NULL"
)


def empty(database) -> None:
    """Delete every row (tests commit for real, as the server does), but the official areas when
    ``load_official`` loaded them and they are unchanged; ids start at 1 again.

    DELETE, not TRUNCATE, on PostgreSQL too: TRUNCATE makes new files for each of the 32 tables,
    55-200 ms a test on this machine against about 20 for the deletes."""
    key = str(database.engine.url)
    with database.engine.begin() as conn:
        keep = key in _KEPT and list(conn.execute(_OFFICIAL_ROWS)) == _LOADED[key]
        deletes = [  # the tables that refer to others first
            f"DELETE FROM {table.name}" + (_NOT_OFFICIAL if keep and table is _AREAS else "")
            for table in reversed(Base.metadata.sorted_tables)
        ]
        if database.engine.dialect.name == "postgresql":
            restarts = [f"ALTER SEQUENCE {name} RESTART" for name in conn.scalars(_USED_SEQUENCES)]
            conn.exec_driver_sql("; ".join(deletes + restarts))
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for statement in deletes:
                conn.exec_driver_sql(statement)
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    if not keep:
        _KEPT.discard(key)
    areas._CHECKED.clear()  # the registry changed under this process's checks


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def attachment_hashes(db, instance_id: str) -> dict[str, str | None]:
    """name -> sha256 of the stored bytes (None while missing) for one submission version."""
    return {name: blob.sha256 if blob else None for name, blob in _attachments(db, instance_id)}


def attachment_bytes(db, storage, instance_id: str) -> dict[str, bytes]:
    """name -> stored bytes, read back through the storage interface, for the files present."""
    stored = {}
    for name, blob in _attachments(db, instance_id):
        if blob is not None:
            with storage.open(blob.storage_key) as fh:
                stored[name] = fh.read()
    return stored


def _attachments(db, instance_id: str) -> list[tuple[str, Blob | None]]:
    with db.session() as s:
        rows = s.execute(
            select(Attachment.name, Blob)
            .join(SubmissionVersion, Attachment.version_id == SubmissionVersion.id)
            .outerjoin(Blob, Attachment.blob_id == Blob.id)
            .where(SubmissionVersion.instance_id == instance_id)
        )
        return [(name, blob) for name, blob in rows]
