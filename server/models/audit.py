"""Who did what, when: log-ins, publishes, review changes, edits, user changes, exports."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, intpk


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_action_at", "action", "logged_at"),)

    id: Mapped[intpk]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))  # e.g. user.login, form.publish
    target: Mapped[str | None] = mapped_column(String(255))  # e.g. submission:uuid:…, user:thu
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    logged_at: Mapped[created_at]
