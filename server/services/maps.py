"""The map page's points: the submissions a reader may see that match the queue's filters and
have a location (their current version's first geopoint), each with its category (poverty class
or review state) and the legend with every category's count. Capped at ``LIMIT`` points (the
newest); the answer says how many matched and how many have no location."""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from ..models import PovertyFact, ReviewState, SubmissionVersion, User
from .submission_view import CLASS_VI
from .submissions import STATE_LABELS, Filters, filtered

LIMIT = 5000  # points in one answer: clustered, a browser draws this many at once with ease
COLOURS = {  # colour-blind-safe, the same on the legend and the points
    "poor": "#b3261e",
    "near_poor": "#e08a00",
    "medium": "#2f6db5",
    "not_poor": "#2e7d32",
    "unknown": "#7a828a",
    ReviewState.RECEIVED.value: "#2f6db5",
    ReviewState.EDITED.value: "#6a3fa0",
    ReviewState.HAS_ISSUES.value: "#e08a00",
    ReviewState.APPROVED.value: "#2e7d32",
    ReviewState.REJECTED.value: "#b3261e",
}
COLOUR_BY = ("class", "state")


def points(session: Session, user: User, f: Filters, colour_by: str = "class") -> dict:
    """``{points: [{id, lat, lon, name, category}], legend: [{key, label, colour, count}],
    matched, placed, shown}``: matched the filters, of those with a location, and sent."""
    matching = filtered(session, user, f).subquery()
    matched = session.scalar(select(func.count()).select_from(matching)) or 0
    placed_where = and_(matching.c.latitude.is_not(None), matching.c.longitude.is_not(None))
    placed = session.scalar(select(func.count()).select_from(matching).where(placed_where)) or 0
    current = aliased(SubmissionVersion)
    fact = aliased(PovertyFact)
    category = fact.poverty_class if colour_by == "class" else matching.c.review_state
    rows = session.execute(
        select(
            matching.c.id,
            matching.c.latitude,
            matching.c.longitude,
            current.instance_name,
            category,
        )
        .join(current, current.id == matching.c.current_version_id)
        .outerjoin(fact, fact.version_id == matching.c.current_version_id)
        .where(placed_where)
        .order_by(matching.c.id.desc())
        .limit(LIMIT)
    ).all()
    counts: dict[str, int] = {}
    out = []
    for sid, lat, lon, name, cat in rows:
        key = cat or "unknown"
        counts[key] = counts.get(key, 0) + 1
        out.append({"id": sid, "lat": lat, "lon": lon, "name": name or f"#{sid}", "category": key})
    labels = {**CLASS_VI, "unknown": "Chưa phân loại"} if colour_by == "class" else STATE_LABELS
    legend = [
        {"key": k, "label": labels.get(k, k), "colour": COLOURS.get(k, "#7a828a"), "count": n}
        for k, n in sorted(
            counts.items(), key=lambda kv: list(labels).index(kv[0]) if kv[0] in labels else 99
        )
    ]
    return {
        "points": out,
        "legend": legend,
        "matched": matched,
        "placed": placed,
        "shown": len(out),
    }
