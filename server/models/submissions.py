"""Submissions as ODK Central models them: one logical submission, one row per version (an edit made
on a phone is a new version whose ``deprecatedID`` names the one it replaces), and per version the
files its XML refers to, present or still expected."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, created_at, intpk

if TYPE_CHECKING:
    from .blobs import Blob
    from .forms import Form, FormVersion


class ReviewState(enum.StrEnum):
    RECEIVED = "received"
    HAS_ISSUES = "hasIssues"
    EDITED = "edited"
    APPROVED = "approved"
    REJECTED = "rejected"


class Submission(Base):
    __tablename__ = "submissions"
    # The instanceID of the first version identifies the submission; the database, not a prior
    # SELECT, guarantees that simultaneous resends store one row.
    __table_args__ = (
        UniqueConstraint("form_pk", "instance_id"),
        Index("ix_submissions_form_state", "form_pk", "review_state"),
        # A household's submissions in a period (duplicate-household groups, recounts).
        Index("ix_submissions_household", "form_pk", "period", "commune_code", "household_code"),
    )

    id: Mapped[intpk]
    form_pk: Mapped[int] = mapped_column(ForeignKey("forms.id"))
    instance_id: Mapped[str] = mapped_column(String(255))
    # Where the household is, from the current version's answers (fields province, commune,
    # area_code): what area scoping filters on. Null for forms that ask none of them.
    province_code: Mapped[str | None] = mapped_column(String(64), index=True)
    commune_code: Mapped[str | None] = mapped_column(String(64), index=True)
    area_code: Mapped[str | None] = mapped_column(String(64), index=True)
    # The review period and household, where the form asks them: list filters, and the siblings
    # whose facts count again when this submission is rejected.
    period: Mapped[str | None] = mapped_column(String(16), index=True)
    household_code: Mapped[str | None] = mapped_column(String(100))
    # The current version's first geopoint (the map page), written by its job.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("submission_versions.id", use_alter=True)
    )
    review_state: Mapped[ReviewState] = mapped_column(String(16), default=ReviewState.RECEIVED)
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime | None]

    form: Mapped[Form] = relationship()
    current_version: Mapped[SubmissionVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )
    versions: Mapped[list[SubmissionVersion]] = relationship(
        back_populates="submission",
        foreign_keys="SubmissionVersion.submission_id",
        order_by="SubmissionVersion.id",
    )


class SubmissionVersion(Base):
    __tablename__ = "submission_versions"
    __table_args__ = (UniqueConstraint("form_pk", "instance_id"),)

    id: Mapped[intpk]
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    form_pk: Mapped[int] = mapped_column(ForeignKey("forms.id"))
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"))
    instance_id: Mapped[str] = mapped_column(String(255))
    deprecated_id: Mapped[str | None] = mapped_column(String(255))
    instance_name: Mapped[str | None] = mapped_column(String(1000))
    # The XML exactly as received, byte for byte.
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    xml_sha256: Mapped[str] = mapped_column(String(64))
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    device_id: Mapped[str | None]
    user_agent: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[created_at]
    # When its checks, photos and facts were worked out (by a job, after the 201); None: not yet.
    processed_at: Mapped[dt.datetime | None]

    submission: Mapped[Submission] = relationship(
        back_populates="versions", foreign_keys=[submission_id]
    )
    form_version: Mapped[FormVersion] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="Attachment.name"
    )


class Attachment(Base):
    """A file a submission version refers to; ``blob_id`` is empty until its bytes arrive."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("version_id", "name"),)

    id: Mapped[intpk]
    version_id: Mapped[int] = mapped_column(
        ForeignKey("submission_versions.id", ondelete="CASCADE")
    )
    name: Mapped[str]
    # Indexed: "which other submissions hold this photo?" is asked on every photo received.
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id"), index=True)
    received_at: Mapped[dt.datetime | None]
    checked_at: Mapped[dt.datetime | None]  # when the file was inspected (photo checks)

    version: Mapped[SubmissionVersion] = relationship(back_populates="attachments")
    blob: Mapped[Blob | None] = relationship()


class Comment(Base):
    """A supervisor's note on a submission; required when rejecting or flagging it."""

    __tablename__ = "submission_comments"

    id: Mapped[intpk]
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[created_at]
