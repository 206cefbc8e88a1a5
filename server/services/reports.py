"""Results per area and period, rolled up the area tree: poverty, cultural family, satisfaction.

One GROUP BY over the per-household facts gives the counts of each residential area; the same code
then adds children into parents along the tree, so a commune's and a province's figures are sums of
what lies under them (a district level, if loaded, is just another level). Two counts stand side by
side everywhere: households whose counting submission is approved, and all non-rejected ones (the
facts table already keeps only the latest non-rejected submission per household).

Rates are of the area's total households from the registry where every area under it has one;
otherwise of the households reviewed, and the figures say which.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import errors
from ..domain import cultural_family, satisfaction
from ..domain.poverty import PovertyClass
from ..models import (
    Area,
    CulturalFamilyFact,
    PovertyFact,
    ReviewState,
    SatisfactionFact,
    Submission,
)
from .scope import Scope, area_clause

CLASSES = [c.value for c in PovertyClass]
COUNTS = ("all", "approved")


@dataclass(slots=True)
class Figures:
    """Counts for one area under one counting rule (all non-rejected, or approved only)."""

    reviewed: int = 0
    classes: Counter = field(default_factory=Counter)  # national class -> households
    local_classes: Counter = field(default_factory=Counter)  # local standard, where configured
    by_kind: dict = field(default_factory=lambda: defaultdict(Counter))  # urban/rural -> class
    ethnic_minority: Counter = field(default_factory=Counter)  # class, DTTS households only
    deprivation: Counter = field(default_factory=Counter)  # indicator -> poor/near-poor lacking it

    def add(self, other: Figures) -> None:
        self.reviewed += other.reviewed
        self.classes.update(other.classes)
        self.local_classes.update(other.local_classes)
        for kind, counts in other.by_kind.items():
            self.by_kind[kind].update(counts)
        self.ethnic_minority.update(other.ethnic_minority)
        self.deprivation.update(other.deprivation)

    def as_dict(self, denominator: int | None) -> dict:
        base = denominator or self.reviewed
        return {
            "reviewed": self.reviewed,
            "classes": {c: self.classes.get(c, 0) for c in CLASSES},
            "rates": {c: _rate(self.classes.get(c, 0), base) for c in CLASSES},
            "local_classes": {c: self.local_classes.get(c, 0) for c in CLASSES}
            if self.local_classes
            else None,
            "urban": {c: self.by_kind["urban"].get(c, 0) for c in CLASSES},
            "rural": {c: self.by_kind["rural"].get(c, 0) for c in CLASSES},
            "ethnic_minority": {c: self.ethnic_minority.get(c, 0) for c in CLASSES},
            "deprivation": dict(sorted(self.deprivation.items())),
        }


@dataclass(slots=True)
class Node:
    area: Area
    figures: dict[str, Figures] = field(default_factory=lambda: {k: Figures() for k in COUNTS})
    children: list[Node] = field(default_factory=list)
    total: int | None = None  # registry households, when known for the whole subtree

    def as_dict(self, depth: int) -> dict:
        denominator = self.total
        out = {
            "code": self.area.code,
            "name": self.area.full_name,
            "level": self.area.level,
            "households_total": self.total,
            "rate_of": "registry" if self.total else "reviewed",
            **{k: self.figures[k].as_dict(denominator) for k in COUNTS},
        }
        if depth > 0:
            out["children"] = [
                c.as_dict(depth - 1) for c in self.children if c.figures["all"].reviewed or c.total
            ]
        return out


def poverty_summary(
    session: Session, scope: Scope, period: str, area_code: str | None = None, depth: int = 1
) -> dict:
    """Figures for ``area_code`` (default: each top area the user may see) and ``depth`` levels of
    children below it."""
    tree = _tree(session)
    leaf_figures = _leaf_figures(session, scope, period)
    roots = _rolled_up(tree, leaf_figures)
    if area_code is not None:
        node = roots.get(area_code)
        if node is None or not _visible(tree, scope, area_code):
            raise errors.NOT_FOUND(what=f"area {area_code}")
        return {"period": period, "areas": [node.as_dict(depth)]}
    tops = [roots[c] for c in _top_codes(tree, scope) if c in roots]
    return {"period": period, "areas": [n.as_dict(depth) for n in tops]}


def transitions(session: Session, scope: Scope, period: str, area_code: str | None = None) -> dict:
    """Household-by-household change from the previous period (all non-rejected counts).

    escaped: poor before, not poor now; still poor; fell back (tái nghèo): poor now, not poor
    before but poor in an earlier period; newly poor (phát sinh): poor now and never before. The
    same for near-poor. Start and end counts are those of the previous and this period.
    """
    previous = previous_period(period)
    query = select(
        PovertyFact.household_key,
        PovertyFact.period,
        PovertyFact.poverty_class,
        PovertyFact.area_code,
        PovertyFact.commune_code,
        PovertyFact.province_code,
    ).where(scope.clause(PovertyFact), PovertyFact.period <= period)
    if area_code is not None:
        query = query.where(area_clause(session, PovertyFact, area_code))
    history: dict[str, dict[str, str]] = defaultdict(dict)
    for key, p, cls, *_place in session.execute(query):
        if _comparable(p, period):
            history[key][p] = cls
    out = {}
    for cls in (PovertyClass.POOR.value, PovertyClass.NEAR_POOR.value):
        counts = Counter()
        for periods in history.values():
            now, before = periods.get(period), periods.get(previous)
            earlier = any(c == cls for p, c in periods.items() if p < previous)
            if before == cls:
                counts["start"] += 1
            if now == cls:
                counts["end"] += 1
            if before == cls and now is not None and now != cls:
                counts["escaped"] += 1
            elif before == cls and now == cls:
                counts["still"] += 1
            elif now == cls and before != cls:
                counts["fell_back" if earlier else "newly"] += 1
        out[cls] = {
            k: counts.get(k, 0) for k in ("start", "escaped", "still", "fell_back", "newly", "end")
        }
    return {"period": period, "previous_period": previous, "area": area_code, **out}


def previous_period(period: str) -> str:
    """2026 -> 2025; 2026-H1 -> 2025-H2; 2026-H2 -> 2026-H1."""
    match = re.fullmatch(r"(\d{4})(?:-H([12]))?", period)
    if not match:
        raise errors.INVALID_INPUT(reason=f"period {period!r} is not YYYY or YYYY-H1/H2")
    year, half = int(match.group(1)), match.group(2)
    if half is None:
        return str(year - 1)
    return f"{year}-H1" if half == "2" else f"{year - 1}-H2"


def _comparable(p: str, period: str) -> bool:
    """Years compare with years, half-years with half-years."""
    return ("-H" in p) == ("-H" in period)


def _leaf_figures(session: Session, scope: Scope, period: str) -> dict[tuple, dict[str, Figures]]:
    """Figures per place the households gave: (area code, commune code, province code)."""
    approved = (Submission.review_state == ReviewState.APPROVED.value).label("approved")
    place = (PovertyFact.area_code, PovertyFact.commune_code, PovertyFact.province_code)
    rows = session.execute(
        select(
            *place,
            PovertyFact.area_kind,
            PovertyFact.ethnic_minority,
            PovertyFact.poverty_class,
            PovertyFact.local_class,
            approved,
            func.count(),
        )
        .join(Submission, Submission.id == PovertyFact.submission_id)
        .where(PovertyFact.period == period, scope.clause(PovertyFact))
        .group_by(
            *place,
            PovertyFact.area_kind,
            PovertyFact.ethnic_minority,
            PovertyFact.poverty_class,
            PovertyFact.local_class,
            approved,
        )
    ).all()
    out: dict[tuple, dict[str, Figures]] = defaultdict(lambda: {k: Figures() for k in COUNTS})
    for area, commune, province, kind, dtts, cls, local, is_approved, n in rows:
        code = (area, commune, province)
        for key in ("all", "approved") if is_approved else ("all",):
            f = out[code][key]
            f.reviewed += n
            f.classes[cls] += n
            if local:
                f.local_classes[local] += n
            f.by_kind[kind][cls] += n
            if dtts:
                f.ethnic_minority[cls] += n
    # Deprivation needs each poor or near-poor household's indicators (kept as JSON per row).
    deprived = session.execute(
        select(*place, PovertyFact.indicators, approved)
        .join(Submission, Submission.id == PovertyFact.submission_id)
        .where(
            PovertyFact.period == period,
            scope.clause(PovertyFact),
            PovertyFact.poverty_class.in_([PovertyClass.POOR.value, PovertyClass.NEAR_POOR.value]),
        )
    )
    for area, commune, province, indicators, is_approved in deprived:
        code = (area, commune, province)
        lacking = [name for name, value in (indicators or {}).items() if value]
        for key in ("all", "approved") if is_approved else ("all",):
            out[code][key].deprivation.update(lacking)
    return out


def _tree(session: Session) -> dict[str, Area]:
    return {a.code: a for a in session.scalars(select(Area))}


def _rolled_up(tree: dict[str, Area], leaves: dict[tuple, dict[str, Figures]]) -> dict[str, Node]:
    nodes = {code: Node(area) for code, area in tree.items()}
    for node in nodes.values():
        parent = nodes.get(node.area.parent_code or "")
        if parent is not None:
            parent.children.append(node)
    for place, figures in leaves.items():
        # The most specific registered area the household gave (an unregistered thôn counts
        # in its commune).
        node = next((nodes[c] for c in place if c in nodes), None)
        while node is not None:  # each household counts in its area and every area above it
            for key in COUNTS:
                node.figures[key].add(figures[key])
            node = nodes.get(node.area.parent_code or "")

    def totals(node: Node) -> int | None:
        sums = [totals(c) for c in node.children]
        if node.area.households_total is not None:
            node.total = node.area.households_total
        elif sums and all(s is not None for s in sums):
            node.total = sum(sums)
        node.children.sort(key=lambda n: n.area.code)
        return node.total

    for node in nodes.values():
        if node.area.parent_code is None:
            totals(node)
    return nodes


def _top_codes(tree: dict[str, Area], scope: Scope) -> Iterable[str]:
    if scope.everything:
        return sorted(c for c, a in tree.items() if a.parent_code is None)
    return sorted(scope.provinces | scope.communes | scope.areas)


def _visible(tree: dict[str, Area], scope: Scope, code: str) -> bool:
    """An area is visible if it lies in (or is) one of the user's subtrees."""
    if scope.everything:
        return True
    allowed = scope.provinces | scope.communes | scope.areas
    current = tree.get(code)
    while current is not None:
        if current.code in allowed:
            return True
        current = tree.get(current.parent_code or "")
    return False


def _rate(count: int, base: int) -> float | None:
    return round(count / base, 4) if base else None


def cultural_family_summary(
    session: Session, scope: Scope, period: str, area_code: str | None = None, depth: int = 1
) -> dict:
    """Per area: households assessed, "Gia đình văn hóa" count and rate, the criteria failed most;
    for a residential area, whether it meets its province's "Thôn/Tổ dân phố văn hóa" share."""
    catalogue = cultural_family.load_catalogue()
    rows = session.execute(
        select(
            CulturalFamilyFact.area_code,
            CulturalFamilyFact.commune_code,
            CulturalFamilyFact.province_code,
            CulturalFamilyFact.earned,
            CulturalFamilyFact.failed,
        ).where(CulturalFamilyFact.period == period, scope.clause(CulturalFamilyFact))
    )
    leaves: dict[tuple, Counter] = defaultdict(Counter)
    for area, commune, province, earned, failed in rows:
        counts = leaves[(area, commune, province)]
        counts["assessed"] += 1
        counts["earned"] += int(bool(earned))
        counts.update(f"failed:{c}" for c in failed or [])

    def figures(node_area: Area, counts: Counter, total: int | None) -> dict:
        assessed, earned = counts["assessed"], counts["earned"]
        failed = Counter(
            {k.removeprefix("failed:"): v for k, v in counts.items() if k.startswith("failed:")}
        )
        out = {
            "assessed": assessed,
            "earned": earned,
            "rate": _rate(earned, assessed),
            "most_failed": [
                {"criterion": c, "households": n}
                for c, n in sorted(failed.items(), key=lambda x: (-x[1], x[0]))[:3]
            ],
        }
        if node_area.level == "area":
            province = _province_of(tree, node_area)
            out["thon_title"] = cultural_family.thon_title(earned, assessed, province, catalogue)
        return out

    tree = _tree(session)
    return _counter_report(tree, scope, leaves, figures, period, area_code, depth)


def satisfaction_summary(
    session: Session, scope: Scope, period: str, area_code: str | None = None, depth: int = 1
) -> dict:
    """Per area and criteria set: the share satisfied with each criterion, overall agreement,
    participation (of the registry's households) and whether the set's pass share is reached."""
    sets = satisfaction.load_sets()
    rows = session.execute(
        select(
            SatisfactionFact.area_code,
            SatisfactionFact.commune_code,
            SatisfactionFact.province_code,
            SatisfactionFact.criteria_set,
            SatisfactionFact.satisfied,
            SatisfactionFact.not_satisfied,
            SatisfactionFact.agree,
        ).where(SatisfactionFact.period == period, scope.clause(SatisfactionFact))
    )
    leaves: dict[tuple, Counter] = defaultdict(Counter)
    for area, commune, province, set_id, satisfied, not_satisfied, agree in rows:
        counts = leaves[(area, commune, province)]
        counts[f"respondents:{set_id}"] += 1
        counts[f"agree:{set_id}"] += int(bool(agree))
        counts.update(f"yes:{set_id}:{i}" for i in satisfied or [])
        counts.update(f"no:{set_id}:{i}" for i in not_satisfied or [])

    def figures(node_area: Area, counts: Counter, total: int | None) -> dict:
        out = {}
        for set_id, criteria_set in sets.sets.items():
            respondents = counts[f"respondents:{set_id}"]
            if not respondents:
                continue
            agreed = counts[f"agree:{set_id}"]
            items = {}
            for item in criteria_set.items:
                yes, no = counts[f"yes:{set_id}:{item.id}"], counts[f"no:{set_id}:{item.id}"]
                items[item.id] = {
                    "name": item.name_vi,
                    "satisfied": yes,
                    "answered": yes + no,
                    "share": _rate(yes, yes + no),
                }
            participation = _rate(respondents, total) if total else None
            needed = criteria_set.participation.share if criteria_set.participation else None
            out[set_id] = {
                "respondents": respondents,
                "agree": agreed,
                "agree_share": _rate(agreed, respondents),
                "participation": participation,
                "pass_share": float(criteria_set.pass_share.share),
                "passes": agreed / respondents >= criteria_set.pass_share.share
                and (needed is None or participation is None or participation >= needed),
                "items": items,
            }
        return out

    tree = _tree(session)
    return _counter_report(tree, scope, leaves, figures, period, area_code, depth)


def _counter_report(
    tree: dict[str, Area],
    scope: Scope,
    leaves: dict[tuple, Counter],
    figures,
    period: str,
    area_code: str | None,
    depth: int,
) -> dict:
    """Roll counters up the tree (the same walk as the poverty figures) and render each node."""
    children: dict[str | None, list[str]] = defaultdict(list)
    for code, a in tree.items():
        children[a.parent_code].append(code)
    sums: dict[str, Counter] = defaultdict(Counter)
    for place, counts in leaves.items():
        code = next((c for c in place if c in tree), None)
        while code is not None:
            sums[code].update(counts)
            code = tree[code].parent_code

    def total(code: str) -> int | None:
        own = tree[code].households_total
        if own is not None:
            return own
        below = [total(c) for c in children.get(code, [])]
        return sum(below) if below and all(t is not None for t in below) else None

    def render(code: str, level: int) -> dict:
        node_total = total(code)
        out = {
            "code": code,
            "name": tree[code].full_name,
            "level": tree[code].level,
            "households_total": node_total,
            **figures(tree[code], sums[code], node_total),
        }
        if level > 0:
            out["children"] = [
                render(c, level - 1)
                for c in sorted(children.get(code, []))
                if sums[c] or tree[c].households_total
            ]
        return out

    if area_code is not None:
        if area_code not in tree or not _visible(tree, scope, area_code):
            raise errors.NOT_FOUND(what=f"area {area_code}")
        return {"period": period, "areas": [render(area_code, depth)]}
    tops = [c for c in _top_codes(tree, scope) if c in tree]
    return {"period": period, "areas": [render(c, depth) for c in tops]}


def _province_of(tree: dict[str, Area], area: Area) -> str:
    while area.parent_code and area.parent_code in tree:
        area = tree[area.parent_code]
    return area.code
