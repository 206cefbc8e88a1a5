"""A form's draft: the next definition a designer is trying out before phones get it, with its
media files, and the test submissions sent to it by Collect through the draft's test link.

Test submissions live only here: they are never counted, never reviewed, and are deleted with the
draft when it is published or discarded.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, created_at, intpk

if TYPE_CHECKING:
    from .blobs import Blob


class FormDraft(Base):
    __tablename__ = "form_drafts"

    id: Mapped[intpk]
    form_id: Mapped[str] = mapped_column(unique=True)  # one draft per form at a time
    version: Mapped[str]
    title: Mapped[str]
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    md5: Mapped[str] = mapped_column(String(32))
    xlsx: Mapped[bytes | None] = mapped_column(LargeBinary)
    fields: Mapped[list] = mapped_column(JSON)
    media_expected: Mapped[list] = mapped_column(JSON)
    # What pyxform and ODK Validate (JavaRosa) said about the definition.
    findings: Mapped[list] = mapped_column(JSON)
    # The secret in the test link a tester's Collect uses (like Central's draftToken); kept as it
    # is so the QR code can be shown again, and it opens nothing but this draft.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime | None]

    media: Mapped[list[DraftMedia]] = relationship(
        back_populates="draft", cascade="all, delete-orphan", order_by="DraftMedia.filename"
    )


class DraftMedia(Base):
    __tablename__ = "form_draft_media"
    __table_args__ = (UniqueConstraint("draft_id", "filename"),)

    id: Mapped[intpk]
    draft_id: Mapped[int] = mapped_column(ForeignKey("form_drafts.id", ondelete="CASCADE"))
    filename: Mapped[str]
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"))

    draft: Mapped[FormDraft] = relationship(back_populates="media")
    blob: Mapped[Blob] = relationship()


class DraftTestSubmission(Base):
    """A submission sent to a draft for testing (kept apart from real ones)."""

    __tablename__ = "draft_test_submissions"
    __table_args__ = (UniqueConstraint("draft_id", "instance_id"),)

    id: Mapped[intpk]
    draft_id: Mapped[int] = mapped_column(
        ForeignKey("form_drafts.id", ondelete="CASCADE"), index=True
    )
    instance_id: Mapped[str] = mapped_column(String(255))
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    device_id: Mapped[str | None]
    created_at: Mapped[created_at]

    files: Mapped[list[DraftTestAttachment]] = relationship(
        cascade="all, delete-orphan", order_by="DraftTestAttachment.name"
    )


class DraftTestAttachment(Base):
    __tablename__ = "draft_test_attachments"
    __table_args__ = (UniqueConstraint("submission_id", "name"),)

    id: Mapped[intpk]
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("draft_test_submissions.id", ondelete="CASCADE")
    )
    name: Mapped[str]
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"))
