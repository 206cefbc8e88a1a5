"""Log-in for the API and web pages: bearer tokens with an expiry, and failed log-ins counted per
username and per address (in the database, so every app server sees the same count)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import errors
from ..models import ApiSession, LoginFailure, User
from ..models.base import utcnow
from . import users

SESSION_HOURS = 12
WINDOW_MINUTES = 15
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20


def log_in(
    session: Session, username: str, password: str, address: str
) -> tuple[User, str, dt.datetime]:
    """(user, token, expiry) for good credentials; Problem 401 or 429 otherwise."""
    check_not_throttled(session, username, address)
    user = users.get_user(session, username)
    if user is None:
        users.spend_a_password_check(password)  # as long as a real account's: names stay secret
    if user is None or not users.check_password(user, password):
        session.add(LoginFailure(username=username[:150], address=address[:64]))
        session.commit()
        raise errors.AUTH_FAILED()
    token = secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(hours=SESSION_HOURS)
    session.add(ApiSession(user_id=user.id, token_sha256=_sha256(token), expires_at=expires))
    session.flush()
    return user, token, expires


def check_not_throttled(session: Session, username: str, address: str) -> None:
    since = utcnow() - dt.timedelta(minutes=WINDOW_MINUTES)
    recent = select(func.count()).select_from(LoginFailure).where(LoginFailure.failed_at >= since)
    by_user = session.scalar(recent.where(LoginFailure.username == username))
    by_address = session.scalar(recent.where(LoginFailure.address == address))
    if by_user >= MAX_FAILURES_PER_USER or by_address >= MAX_FAILURES_PER_ADDRESS:
        raise errors.TOO_MANY_LOGINS(minutes=WINDOW_MINUTES)


def record_failure(session: Session, username: str, address: str) -> None:
    session.add(LoginFailure(username=username[:150], address=address[:64]))
    session.commit()


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
