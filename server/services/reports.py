"""Results per area and period, rolled up the area tree: poverty, cultural family, satisfaction.

The database counts per residential area (GROUP BY over the per-household facts, the poverty ones
read from covering indexes); the same code then adds children into parents along the tree, so a
commune's and a province's figures are sums of what lies under them (a district level, if loaded,
is just another level). Two counts stand side by side everywhere: households whose counting
submission is approved (the facts keep a copy of that), and all non-rejected ones (the facts table
already keeps only the latest non-rejected submission per household).

Rates are of the area's total households from the registry where every area under it has one;
otherwise of the households reviewed, and the figures say which.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Integer, Row, bindparam, cast, func, select, union_all
from sqlalchemy.orm import Session

from .. import errors
from ..domain import cultural_family, satisfaction
from ..domain.poverty import PovertyClass
from ..models import (
    Area,
    CulturalFamilyFact,
    PovertyFact,
    SatisfactionFact,
)
from ..models.facts import DEPRIVED_CLASSES, INDICATORS
from .scope import Scope, area_clause

CLASSES = [c.value for c in PovertyClass]
COUNTS = ("all", "approved")
POVERTY_STEPS = 4  # areas, households, deprivations, figures rolled up
# Inlined, not bound: the partial index of the poor and near-poor serves only this very WHERE.
_DEPRIVED = bindparam("deprived", list(DEPRIVED_CLASSES), expanding=True, literal_execute=True)


def poverty_summary(
    session: Session,
    scope: Scope,
    period: str,
    area_code: str | None = None,
    depth: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Figures for ``area_code`` (default: each top area the user may see) and ``depth`` levels of
    children below it. ``progress(done, POVERTY_STEPS)`` is called after each step."""
    step = progress or (lambda done, total: None)
    tree = _start(session, scope, area_code)
    step(1, POVERTY_STEPS)
    where = [PovertyFact.period == period, *_inside(session, tree, scope, PovertyFact, area_code)]
    place = (PovertyFact.province_code, PovertyFact.commune_code, PovertyFact.area_code)
    kinds = (
        PovertyFact.area_kind,
        PovertyFact.ethnic_minority,
        PovertyFact.poverty_class,
        PovertyFact.local_class,
    )
    # Per place and kind of household: all, and how many approved (read from a covering index).
    n_approved = func.sum(cast(PovertyFact.approved, Integer))
    rows = session.execute(
        select(*place, *kinds, func.count(), n_approved).where(*where).group_by(*place, *kinds)
    )
    leaves: dict[tuple, Counter] = defaultdict(Counter)
    for province, commune, area, kind, dtts, cls, local, *numbers in rows:
        counts = leaves[(area, commune, province)]
        for key, n in zip(COUNTS, numbers, strict=True):
            if n:
                counts[key, "reviewed"] += n
                counts[key, "classes", cls] += n
                counts[key, kind, cls] += n
                if local:
                    counts[key, "local_classes", local] += n
                if dtts:
                    counts[key, "ethnic_minority", cls] += n
    step(2, POVERTY_STEPS)
    # Per place: the poor and near-poor households lacking each service.
    lacking = [func.sum(cast(getattr(PovertyFact, f"lacks_{i}"), Integer)) for i in INDICATORS]
    rows = session.execute(
        select(*place, PovertyFact.approved, *lacking)
        .where(*where, PovertyFact.poverty_class.in_(_DEPRIVED))
        .group_by(*place, PovertyFact.approved)
    )
    for province, commune, area, approved, *numbers in rows:
        counts = leaves[(area, commune, province)]
        for key in COUNTS if approved else COUNTS[:1]:
            for indicator, n in zip(INDICATORS, numbers, strict=True):
                if n:
                    counts[key, "deprivation", indicator] += n
    step(3, POVERTY_STEPS)

    def figures(_area, counts: Counter, total: int | None) -> dict:
        return {
            "rate_of": "registry" if total else "reviewed",
            **{key: _poverty_figures(counts, key, total) for key in COUNTS},
        }

    body = _report(tree, scope, leaves, figures, period, area_code, depth)
    step(POVERTY_STEPS, POVERTY_STEPS)
    return body


def _poverty_figures(counts: Counter, key: str, total: int | None) -> dict:
    """One counting rule's figures (``key``: all non-rejected, or approved only)."""
    # counts.get, not counts[...]: a Counter's missing keys cost a Python call each. Thousands of
    # areas are rendered, so the per-class dicts are built by C loops (map, zip).
    get = counts.get
    figures = {
        what: dict(zip(CLASSES, map(get, keys, _ZEROS), strict=True)) for what, keys in _KEYS[key]
    }
    classes, local = figures["classes"], figures["local_classes"]
    reviewed = get((key, "reviewed"), 0)
    # Nobody reviewed: no rate at all, rather than 0 % poor out of the registry's households.
    base = (total or reviewed) if reviewed else 0
    deprivation = zip(_SORTED_INDICATORS, map(get, _DEPRIVATION[key], _ZEROS), strict=True)
    return {
        "reviewed": reviewed,
        "classes": classes,
        "rates": {c: round(n / base, 4) for c, n in classes.items()}
        if base
        else dict.fromkeys(CLASSES),
        "local_classes": local if any(local.values()) else None,
        "urban": figures["urban"],
        "rural": figures["rural"],
        "ethnic_minority": figures["ethnic_minority"],
        "deprivation": {i: n for i, n in deprivation if n},
    }


# The keys of the poverty counters, made once: (all or approved, what, class or indicator).
_KEYS = {
    key: [
        (what, [(key, what, c) for c in CLASSES])
        for what in ("classes", "local_classes", "urban", "rural", "ethnic_minority")
    ]
    for key in COUNTS
}
_SORTED_INDICATORS = sorted(INDICATORS)
_DEPRIVATION = {key: [(key, "deprivation", i) for i in _SORTED_INDICATORS] for key in COUNTS}
_ZEROS = itertools.repeat(0)


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


def _rate(count: int, base: int) -> float | None:
    return round(count / base, 4) if base else None


def cultural_family_summary(
    session: Session, scope: Scope, period: str, area_code: str | None = None, depth: int = 1
) -> dict:
    """Per area: households assessed, "Gia đình văn hóa" count and rate, the criteria failed most;
    for a residential area, whether it meets its province's "Thôn/Tổ dân phố văn hóa" share."""
    catalogue = cultural_family.load_catalogue()
    tree = _start(session, scope, area_code)
    rows = session.execute(
        select(
            CulturalFamilyFact.area_code,
            CulturalFamilyFact.commune_code,
            CulturalFamilyFact.province_code,
            CulturalFamilyFact.earned,
            CulturalFamilyFact.failed,
        ).where(
            CulturalFamilyFact.period == period,
            *_inside(session, tree, scope, CulturalFamilyFact, area_code),
        )
    )
    leaves: dict[tuple, Counter] = defaultdict(Counter)
    for area, commune, province, earned, failed in rows:
        counts = leaves[(area, commune, province)]
        counts["assessed"] += 1
        counts["earned"] += int(bool(earned))
        counts.update(f"failed:{c}" for c in failed or [])

    def figures(node_area: Row, counts: Counter, total: int | None) -> dict:
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
            *_, province = tree.ancestry(node_area.code)
            out["thon_title"] = cultural_family.thon_title(earned, assessed, province, catalogue)
        return out

    return _report(tree, scope, leaves, figures, period, area_code, depth)


def satisfaction_summary(
    session: Session, scope: Scope, period: str, area_code: str | None = None, depth: int = 1
) -> dict:
    """Per area and criteria set: the share satisfied with each criterion, overall agreement,
    participation (of the registry's households) and whether the set's pass share is reached."""
    sets = satisfaction.load_sets()
    tree = _start(session, scope, area_code)
    rows = session.execute(
        select(
            SatisfactionFact.area_code,
            SatisfactionFact.commune_code,
            SatisfactionFact.province_code,
            SatisfactionFact.criteria_set,
            SatisfactionFact.satisfied,
            SatisfactionFact.not_satisfied,
            SatisfactionFact.agree,
        ).where(
            SatisfactionFact.period == period,
            *_inside(session, tree, scope, SatisfactionFact, area_code),
        )
    )
    leaves: dict[tuple, Counter] = defaultdict(Counter)
    for area, commune, province, set_id, satisfied, not_satisfied, agree in rows:
        counts = leaves[(area, commune, province)]
        counts[f"respondents:{set_id}"] += 1
        counts[f"agree:{set_id}"] += int(bool(agree))
        counts.update(f"yes:{set_id}:{i}" for i in satisfied or [])
        counts.update(f"no:{set_id}:{i}" for i in not_satisfied or [])

    def figures(_area: Row, counts: Counter, total: int | None) -> dict:
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

    return _report(tree, scope, leaves, figures, period, area_code, depth)


def _start(session: Session, scope: Scope, area_code: str | None) -> _Tree:
    """The areas of a report; an area the user may not see is not found."""
    tree = _Tree.load(session, scope, area_code)
    if area_code is not None and not tree.visible(scope, area_code):
        raise errors.NOT_FOUND(what=f"area {area_code}")
    return tree


def _inside(session: Session, tree: _Tree, scope: Scope, model, area_code: str | None) -> list:
    """WHERE clauses: the rows the user may see, within ``area_code`` when one is asked for.

    The province and commune above the area are named too: a seek in the (period, province,
    commune, area) indexes instead of a scan. (A row naming a commune of another province, a
    collector's error, counts only in the province it names.)"""
    clauses = [scope.clause(model)]
    if area_code is not None:
        clauses.append(area_clause(session, model, area_code))
        above = {"province": model.province_code, "commune": model.commune_code}
        for code in list(tree.ancestry(area_code))[1:]:
            if tree.areas[code].level in above:
                clauses.append(above[tree.areas[code].level] == code)
    return clauses


@dataclass(frozen=True, slots=True)
class _Tree:
    """The areas a report needs: all of them, or those under the areas it starts from and those
    above them. Rows of (code, full_name, level, parent_code, households_total)."""

    areas: dict[str, Row]
    children: dict[str | None, list[str]]  # sorted codes

    @classmethod
    def load(cls, session: Session, scope: Scope, area_code: str | None) -> _Tree:
        columns = (Area.code, Area.full_name, Area.level, Area.parent_code, Area.households_total)
        query = select(*columns)
        if area_code is not None or not scope.everything:
            roots = [area_code] if area_code is not None else sorted(_scope_codes(scope))
            down = select(*columns).where(Area.code.in_(roots)).cte("down", recursive=True)
            down = down.union_all(select(*columns).join(down, Area.parent_code == down.c.code))
            up = select(*columns).where(Area.code.in_(roots)).cte("up", recursive=True)
            up = up.union_all(select(*columns).join(up, Area.code == up.c.parent_code))
            query = union_all(select(down), select(up))
        areas = {row.code: row for row in session.execute(query)}
        children: dict[str | None, list[str]] = defaultdict(list)
        for code in sorted(areas):
            children[areas[code].parent_code].append(code)
        return cls(areas, children)

    def ancestry(self, code: str | None) -> Iterator[str]:
        """``code`` and the areas above it."""
        while code in self.areas:
            yield code
            code = self.areas[code].parent_code

    def visible(self, scope: Scope, code: str) -> bool:
        """An area is visible if it lies in (or is) one of the user's subtrees."""
        allowed = _scope_codes(scope)
        return code in self.areas and (
            scope.everything or any(c in allowed for c in self.ancestry(code))
        )

    def bottom_up(self) -> list[str]:
        """Every area after all the areas under it."""
        order: list[str] = []
        stack = [(code, False) for code in self.children.get(None, [])]
        while stack:
            code, expanded = stack.pop()
            if expanded:
                order.append(code)
            else:
                stack.append((code, True))
                stack.extend((c, False) for c in self.children.get(code, []))
        return order


def _report(
    tree: _Tree,
    scope: Scope,
    leaves: dict[tuple, Counter],
    figures: Callable[[Row, Counter, int | None], dict],
    period: str,
    area_code: str | None,
    depth: int,
) -> dict:
    """Add each place's counts into the most specific registered area it names (an unregistered
    thôn counts in its commune), roll them up the tree, and render ``depth`` levels from the top."""
    sums: dict[str, Counter] = {}
    for place, counts in leaves.items():
        code = next((c for c in place if c in tree.areas), None)
        if code is not None:
            sums.setdefault(code, Counter()).update(counts)
    totals: dict[str, int | None] = {}
    for code in tree.bottom_up():
        area = tree.areas[code]
        below = [totals[c] for c in tree.children.get(code, [])]
        totals[code] = area.households_total
        if totals[code] is None and below and None not in below:
            totals[code] = sum(below)
        if code in sums and area.parent_code in tree.areas:
            sums.setdefault(area.parent_code, Counter()).update(sums[code])

    def render(code: str, level: int) -> dict:
        area, total = tree.areas[code], totals[code]
        out = {
            "code": code,
            "name": area.full_name,
            "level": area.level,
            "households_total": total,
            **figures(area, sums.get(code, Counter()), total),
        }
        if level > 0:
            out["children"] = [
                render(c, level - 1) for c in tree.children.get(code, []) if c in sums or totals[c]
            ]
        return out

    if area_code is not None:
        codes = [area_code]
    elif scope.everything:
        codes = tree.children.get(None, [])
    else:
        codes = [c for c in sorted(_scope_codes(scope)) if c in tree.areas]
    return {"period": period, "areas": [render(c, depth) for c in codes]}


def _scope_codes(scope: Scope) -> frozenset[str]:
    return scope.provinces | scope.communes | scope.areas
