"""Out of space: the disk under the media files or the database filled up.

Nothing is half-stored then (the transaction rolls back, a file written before it is orphaned at
worst), but a generic 500 told the collector nothing. The OpenRosa and API layers ask
``is_disk_full`` about an unexpected error and answer ``507.1`` ("server storage full, try later":
the phone keeps the form and sends it again), and log it at CRITICAL for the admin.
"""

from __future__ import annotations

import errno
import sqlite3

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_POSTGRES_DISK_FULL = "53100"  # SQLSTATE disk_full


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it: SQLAlchemy wraps the driver's error) means no space."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        if isinstance(exc, sqlite3.DatabaseError) and (
            getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or "database or disk is full" in str(exc)
        ):
            return True
        if getattr(exc, "sqlstate", None) == _POSTGRES_DISK_FULL:  # psycopg 3
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return False
