"""What khudan found wrong with a submission. Never a reason to refuse it (a collector cannot fix a
sent form); shown to supervisors, and a submission with problems enters review as hasIssues."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, intpk


class SubmissionProblem(Base):
    __tablename__ = "submission_problems"

    id: Mapped[intpk]
    version_id: Mapped[int] = mapped_column(
        ForeignKey("submission_versions.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(String(500))  # the field, e.g. /data/b2/ind_water
    rule: Mapped[str] = mapped_column(String(64))  # a stable rule id, e.g. indicator-mismatch
    value: Mapped[str | None] = mapped_column(Text)
    message_vi: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    # The other submission a duplicate-household or photo-reused problem is about: named to a
    # reader only when that reader may open it.
    related_submission_id: Mapped[int | None]
    created_at: Mapped[created_at]
