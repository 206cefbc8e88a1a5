"""Log-in for the API and web pages: bearer tokens with an expiry; password guessing is slowed
by ``throttle`` (in the database, so every app server sees the same count)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import errors
from ..models import ApiSession, User
from ..models.base import utcnow
from . import throttle, users

SESSION_HOURS = 12


def log_in(
    session: Session, username: str, password: str, address: str
) -> tuple[User, str, dt.datetime]:
    """(user, token, expiry) for good credentials; Problem 401 or 429 otherwise."""
    user = check_credentials(session, username, password, address)
    if user is None:
        raise errors.AUTH_FAILED()
    token = secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(hours=SESSION_HOURS)
    session.add(ApiSession(user_id=user.id, token_sha256=_sha256(token), expires_at=expires))
    session.flush()
    return user, token, expires


def check_credentials(session: Session, username: str, password: str, address: str) -> User | None:
    """The enabled user with this password, or None (the failure logged); 429 while this address
    must wait before guessing this name again (``throttle``)."""
    throttle.claim(session, address, username)
    user = users.get_user(session, username)
    if user is None:
        users.spend_a_password_check(password)  # as long as a real account's: names stay secret
    if user is None or not user.enabled or not users.check_password(user, password):
        throttle.failed(session, address, username)
        return None
    throttle.succeeded(session, address, username)
    return user


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalar(select(ApiSession).where(ApiSession.token_sha256 == _sha256(token)))
    if row is None or row.revoked_at is not None or not row.user.enabled:
        return None
    if _aware(row.expires_at) <= utcnow():
        return None
    return row.user


def log_out(session: Session, token: str) -> None:
    row = session.scalar(select(ApiSession).where(ApiSession.token_sha256 == _sha256(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()


def end_sessions(session: Session, user: User) -> int:
    """Log a user out everywhere (after a password reset); returns how many sessions ended."""
    rows = session.scalars(
        select(ApiSession).where(ApiSession.user_id == user.id, ApiSession.revoked_at.is_(None))
    ).all()
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    return len(rows)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; ours are all UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
