"""What ingest reads of a form version, kept per process so a submission does not read it again.

A published version never changes (publishing other XML under the same version is refused), so
its field schema, and what ingest derives from it, is kept by (version id, MD5 of its XForm): a
new version, or the same id in a database restored or refilled (tests do), is another key. Media files can be
replaced at any time, so which files a version has is asked on every submission; only their
bytes, named by SHA-256, are kept. Both caches are bounded.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..models import Blob, FormMedia, FormVersion
from ..storage import Storage

MAX_VERSIONS = 64
MAX_MEDIA = 64


@dataclass(frozen=True, slots=True)
class FormSchema:
    """A version's field schema (shared: never modify it) and what ingest derives from it."""

    fields: list[dict]
    binary_paths: frozenset[str]
    choice_files: frozenset[str]  # media files the choices of a question are read from


class _Bounded:
    """A small thread-safe LRU mapping."""

    def __init__(self, size: int):
        self._size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_SCHEMAS = _Bounded(MAX_VERSIONS)
_MEDIA_BYTES = _Bounded(MAX_MEDIA)

_VERSIONS, _MEDIA_ROWS, _BLOBS = FormVersion.__table__, FormMedia.__table__, Blob.__table__
_FIELDS = select(_VERSIONS.c.fields).where(_VERSIONS.c.id == bindparam("version_pk"))
_MEDIA = (
    select(_MEDIA_ROWS.c.filename, _BLOBS.c.sha256, _BLOBS.c.storage_key)
    .join(_BLOBS, _MEDIA_ROWS.c.blob_id == _BLOBS.c.id)
    .where(_MEDIA_ROWS.c.form_version_id == bindparam("version_pk"))
)


def schema(session: Session, version_pk: int, md5: str) -> FormSchema:
    """The schema of a version (``md5``: of its XForm, as stored), read once per process."""
    key = (version_pk, md5)
    found = _SCHEMAS.get(key)
    if found is None:
        fields = session.connection().execute(_FIELDS, {"version_pk": version_pk}).scalar_one()
        found = FormSchema(
            fields,
            frozenset(f["path"] for f in fields if f["type"] == "binary"),
            frozenset((f.get("choices") or {}).get("media") for f in fields) - {None},
        )
        _SCHEMAS.put(key, found)
    return found


def media(
    session: Session, storage: Storage, version_pk: int, names: Collection[str]
) -> dict[str, bytes]:
    """The bytes of the version's media files among ``names``, as they are now."""
    out, params = {}, {"version_pk": version_pk}
    for filename, sha256, storage_key in session.connection().execute(_MEDIA, params):
        if filename in names:
            data = _MEDIA_BYTES.get(sha256)
            if data is None:
                with storage.open(storage_key) as fh:
                    data = fh.read()
                _MEDIA_BYTES.put(sha256, data)
            out[filename] = data
    return out
