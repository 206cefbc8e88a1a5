"""The work left after a submission is acknowledged (a transactional outbox).

The request that stores a submission version writes its job in the same transaction, so the job
exists if and only if the version does. Workers claim jobs with a lease (``locked_until``): a
worker killed mid-job leaves a lease that runs out, and another worker runs the job again. A job
that keeps failing is ``parked`` with its error, for an admin to see; it is never dropped.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text, exists
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, intpk


class JobState(enum.StrEnum):
    PENDING = "pending"
    PARKED = "parked"


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "state", "run_after"),)

    id: Mapped[intpk]
    version_id: Mapped[int] = mapped_column(
        ForeignKey("submission_versions.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(10), default=JobState.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    run_after: Mapped[dt.datetime]
    locked_until: Mapped[dt.datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]


def in_flight(current_version_id):
    """The one meaning of "still being processed" (the API's ``processing`` and the review queue's
    filter, the exports' empty ``processed_at``, the reports' ``unprocessed``): the submission's
    current version has a job, waiting, running or parked. A version edited away no longer counts
    (its checks change no figure); a later photo of the current version does (its check may still
    find a reused photo)."""
    return exists().where(Job.version_id == current_version_id)
