"""Stored files, named by content: a photo sent twice is kept once, and a name from a client never
becomes a path."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, intpk


class Blob(Base):
    __tablename__ = "blobs"

    id: Mapped[intpk]
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    md5: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(127))
    storage_key: Mapped[str]
    created_at: Mapped[created_at]
