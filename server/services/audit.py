"""The audit log: one row per log-in, publish, review change, edit, user change and export."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import AuditEvent


def record(
    session: Session, actor_id: int | None, action: str, target: str | None = None, **details
) -> None:
    """Add an event to the caller's transaction: it is logged only if the change commits."""
    session.add(AuditEvent(actor_id=actor_id, action=action, target=target, details=details))
