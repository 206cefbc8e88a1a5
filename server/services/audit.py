"""The audit log: one row per log-in, publish, review change, edit, user change and export."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import AuditEvent, User


def record(
    session: Session, actor_id: int | None, action: str, target: str | None = None, **details
) -> None:
    """Add an event to the caller's transaction: it is logged only if the change commits."""
    session.add(AuditEvent(actor_id=actor_id, action=action, target=target, details=details))


def search(
    session: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    since=None,
    until=None,
    page: int = 1,
    per_page: int = 100,
) -> tuple[list[dict], int]:
    """Events newest first, filtered as the API and the admins' page both offer; (page, total)."""
    query = select(AuditEvent, User.username).outerjoin(User, User.id == AuditEvent.actor_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(User.username == actor)
    if target:
        query = query.where(AuditEvent.target == target)
    if since:
        query = query.where(AuditEvent.logged_at >= since)
    if until:
        query = query.where(AuditEvent.logged_at < until)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(
        query.order_by(AuditEvent.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    items = [
        {
            "id": e.id,
            "actor": name,
            "action": e.action,
            "target": e.target,
            "details": e.details or {},
            "logged_at": e.logged_at,
        }
        for e, name in rows
    ]
    return items, total
