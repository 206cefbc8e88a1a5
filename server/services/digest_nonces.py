"""Digest nonce counts, so a captured ``Authorization`` header cannot be replayed.

RFC 7616 lets a client reuse a nonce with a growing ``nc``; the server must refuse a count it has
already seen. The highest count per nonce is kept in the database (every app server and worker
sees it), one compare-and-set ``UPDATE`` per authenticated request, in the same transaction as a
submission's rows when the request sends one. A client that answers without
``qop`` sends no count: its nonce is good for one request.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import DigestNonce
from ..models.base import utcnow


def advance(session: Session, nonce: str, nc: int, lifetime: dt.timedelta) -> bool:
    """Record ``nc`` as the newest count of ``nonce``; False when it is not higher than one seen
    before (a replay, or requests that overtook each other). Commits."""
    for _ in range(2):
        try:
            moved = record(session, nonce, nc, lifetime)
        except IntegrityError:  # the same nonce's first use, twice at once: compare again
            session.rollback()
            continue
        if moved:
            session.commit()
        else:
            session.rollback()
        return moved
    return False


def record(session: Session, nonce: str, nc: int, lifetime: dt.timedelta) -> bool:
    """``advance`` inside the caller's transaction, committed with what else it writes (a
    submission: one commit, one fsync, not two). Raises IntegrityError when another request
    used the same new nonce at the same moment: the caller rolls back and tries again."""
    connection = session.connection()
    moved = connection.execute(_ADVANCE, {"seen": nonce, "count": nc}).rowcount
    if moved:
        return True
    if connection.execute(_SEEN, {"nonce": nonce}).first() is not None:
        return False
    now = utcnow()
    connection.execute(_EXPIRED, {"now": now})
    connection.execute(_NEW, {"new": nonce, "count": nc, "expires": now + lifetime})
    return True


# Built once, run as Core: every OpenRosa request of a phone records its count.
_NONCES = DigestNonce.__table__
_ADVANCE = (
    update(_NONCES)
    .where(_NONCES.c.nonce == bindparam("seen"), _NONCES.c.highest_nc < bindparam("count"))
    .values(highest_nc=bindparam("count"))
)
_SEEN = select(_NONCES.c.nonce).where(_NONCES.c.nonce == bindparam("nonce"))
_EXPIRED = delete(_NONCES).where(_NONCES.c.expires_at < bindparam("now"))
_NEW = insert(_NONCES).values(
    nonce=bindparam("new"), highest_nc=bindparam("count"), expires_at=bindparam("expires")
)
