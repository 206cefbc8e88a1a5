"""API log-in sessions (bearer tokens) and failed log-ins, kept in the database so any number of
app servers share them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, created_at, intpk
from .users import User


class ApiSession(Base):
    __tablename__ = "api_sessions"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    user: Mapped[User] = relationship()


class LoginFailure(Base):
    """One failed log-in; counted per username and per address over a recent window."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_username", "username", "failed_at"),
        Index("ix_login_failures_address", "address", "failed_at"),
    )

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(150))
    address: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[created_at]


class LoginThrottle(Base):
    """Failed log-ins of one name from one address, and when that pair may try again. One row a
    pair, changed by compare-and-set updates, so concurrent guesses cannot all pass one check."""

    __tablename__ = "login_throttles"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(150), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    next_allowed_at: Mapped[dt.datetime]
    last_failure_at: Mapped[dt.datetime | None]


class DigestNonce(Base):
    """The highest Digest nonce count (``nc``) seen for a nonce: a captured Authorization header
    replayed with the same or a lower count is refused, whichever app server it reaches."""

    __tablename__ = "digest_nonces"

    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    highest_nc: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
