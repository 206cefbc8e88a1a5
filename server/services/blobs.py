"""Database rows for stored files: one row per distinct content."""

from __future__ import annotations

import mimetypes

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .. import db
from ..models import Blob
from ..storage import Stored

# Types Collect and the review pages meet that Python's table lacks or gets wrong.
_TYPES = {
    ".csv": "text/csv",
    ".geojson": "application/geo+json",
    ".amr": "audio/amr",
    ".m4a": "audio/mp4",
    ".oga": "audio/ogg",
    ".webm": "video/webm",
}


def content_type_for(name: str) -> str:
    ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def id_for(session: Session, stored: Stored, content_type: str) -> int:
    """The id of the row for stored bytes, written if new: one statement for bytes not seen
    before (``INSERT … ON CONFLICT DO NOTHING RETURNING``), a second to find the row of bytes
    stored before (or by a transaction that committed them meanwhile: PostgreSQL makes this one
    wait for it)."""
    row = {
        "sha256": stored.sha256,
        "md5": stored.md5,
        "size": stored.size,
        "content_type": content_type,
        "storage_key": stored.key,
    }
    connection = session.connection()
    written = connection.execute(db.insert_new(session, _BLOBS, _BLOBS.c.id), row).scalar()
    if written is not None:
        return written
    return connection.execute(_ID_OF, {"sha256": stored.sha256}).scalar_one()


_BLOBS = Blob.__table__
_ID_OF = select(_BLOBS.c.id).where(_BLOBS.c.sha256 == bindparam("sha256"))
