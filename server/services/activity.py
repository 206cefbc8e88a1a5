"""What a supervisor's dashboard counts beyond the results: submissions per review state, the
periods there are submissions for, and each collector's recent work, all within the caller's areas
(and one area's subtree when asked). A GROUP BY each, never a row per submission."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..models import ReviewState, Submission, User
from ..models.base import utcnow
from .scope import area_clause
from .submissions import visible

# Not decided yet: new, edited on a phone, or with problems (found on arrival or flagged).
WAITING = (ReviewState.RECEIVED.value, ReviewState.EDITED.value, ReviewState.HAS_ISSUES.value)
MAX_COLLECTORS = 50


@dataclass(frozen=True, slots=True)
class CollectorActivity:
    username: str
    today: int
    last_7_days: int
    total: int
    last_seen: dt.datetime


def _within(session: Session, user: User, area: str | None):
    query = visible(session, user)
    return query.where(area_clause(session, Submission, area)) if area else query


def review_counts(session: Session, user: User, area: str | None = None) -> dict[str, int]:
    """Submissions per review state (every state present, zeros included)."""
    inner = _within(session, user, area).subquery()
    rows = session.execute(
        select(inner.c.review_state, func.count()).group_by(inner.c.review_state)
    ).all()
    counts = {state.value: 0 for state in ReviewState}
    counts.update({state: n for state, n in rows})
    return counts


def periods(session: Session, user: User) -> list[str]:
    """The periods submissions the user may see are for, latest first."""
    inner = _within(session, user, None).subquery()
    found = session.scalars(
        select(inner.c.period).where(inner.c.period.is_not(None)).distinct()
    ).all()
    return sorted(found, reverse=True)


def collectors(
    session: Session, user: User, area: str | None = None, now: dt.datetime | None = None
) -> list[CollectorActivity]:
    """Per collector who sent anything here: submissions today (UTC), in the last 7 days, in all,
    and when the latest arrived; the most recently active first."""
    now = now or utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    inner = _within(session, user, area).subquery()
    today = func.sum(case((inner.c.created_at >= midnight, 1), else_=0))
    week = func.sum(case((inner.c.created_at >= now - dt.timedelta(days=7), 1), else_=0))
    last = func.max(inner.c.created_at)
    rows = session.execute(
        select(User.username, today, week, func.count(), last)
        .join(inner, inner.c.submitter_id == User.id)
        .group_by(User.username)
        .order_by(last.desc(), User.username)
        .limit(MAX_COLLECTORS)
    ).all()
    return [CollectorActivity(name, t or 0, w or 0, n, seen) for name, t, w, n, seen in rows]
