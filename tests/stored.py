"""What the database and storage hold, for assertions."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select, text

from khudan.models import Attachment, Base, Blob, SubmissionVersion


def sha(data: bytes) -> str:
    """The SHA-256 hex digest by which storage names a file."""
    return hashlib.sha256(data).hexdigest()


def empty(database) -> None:
    """Delete every row (tests commit for real, as the server does)."""
    tables = [t.name for t in Base.metadata.sorted_tables]
    with database.engine.begin() as conn:
        if database.engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for name in reversed(tables):
                conn.execute(text(f"DELETE FROM {name}"))
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")


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
