"""People who log in, and the app-user tokens that configure a phone by QR code."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, created_at, intpk


class Role(enum.StrEnum):
    COLLECTOR = "collector"
    SUPERVISOR = "supervisor"
    DESIGNER = "designer"
    ADMIN = "admin"


class User(Base):
    __tablename__ = "users"

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(150), unique=True)
    role: Mapped[Role] = mapped_column(String(20))
    # A strong hash (scrypt) for web and API log-in, and MD5(user:realm:password) for HTTP Digest,
    # the only scheme ODK Collect offers over plain HTTP. The password itself is never stored.
    password_hash: Mapped[str]
    digest_ha1: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(default=True)
    # Who the person is, for the pages and lists (the username is a log-in, not a name).
    full_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[created_at]

    areas: Mapped[list[UserArea]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserArea.area_code"
    )

    @property
    def area_codes(self) -> list[str]:
        return [a.area_code for a in self.areas]


class UserArea(Base):
    """An area subtree a collector or supervisor works in (the area registry comes with issue #4)."""

    __tablename__ = "user_areas"
    __table_args__ = (UniqueConstraint("user_id", "area_code"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    area_code: Mapped[str] = mapped_column(String(64))
    user: Mapped[User] = relationship(back_populates="areas")


class AppToken(Base):
    """A secret in a phone's server URL (``/key/<token>``): Collect then needs no password.

    Only the SHA-256 of the token is kept, so a database leak does not hand out working phones.
    """

    __tablename__ = "app_tokens"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[created_at]
    revoked_at: Mapped[dt.datetime | None]
    user: Mapped[User] = relationship()
