"""Results per area and period, rolled up the area tree: poverty, cultural family, satisfaction.

The database counts per residential area (GROUP BY over the per-household facts, the poverty ones
read from covering indexes); the same code then adds children into parents along the tree, so a
commune's and a province's figures are sums of what lies under them (a district level, if loaded,
is just another level). Two counts stand side by side everywhere: households whose counting
submission is approved (the facts keep a copy of that), and all non-rejected ones (the facts table
already keeps only the latest non-rejected submission per household).

A rate (the official "Tỷ lệ hộ nghèo") is always of the registry: its denominator is the sum of
the registry's household counts of the units that have one, and its numerator counts the poor in
exactly those units. Each rate says, in ``rate_base``, how many households it is of, how many
residential units under the area have no registry count and how many reviewed households it
therefore leaves out. The share of the households *reviewed* is a separate figure with its own name
(``share_of_reviewed``), never the official rate.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import (
    Integer,
    Row,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from .. import errors
from ..domain import characteristics, cultural_family, periods, satisfaction
from ..domain.poverty import Indicator, PovertyClass, load_catalogue
from ..models import (
    Area,
    CulturalFamilyFact,
    Form,
    Job,
    PovertyFact,
    SatisfactionFact,
    Submission,
    SubmissionVersion,
)
from ..models.facts import DEPRIVED_CLASSES, INDICATORS, MOVED_WHERE, counted
from .facts import DOMAIN_OF_FORM
from .scope import Scope, area_clause

CLASSES = [c.value for c in PovertyClass]
_PLACE_COLUMNS = (PovertyFact.area_code, PovertyFact.commune_code, PovertyFact.province_code)
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
    where = [
        PovertyFact.period == period,
        counted(PovertyFact),
        *_inside(session, tree, scope, PovertyFact, area_code),
    ]
    place = (PovertyFact.province_code, PovertyFact.commune_code, PovertyFact.area_code)
    kinds = (
        PovertyFact.area_kind,
        PovertyFact.ethnic_minority,
        PovertyFact.poverty_class,
        PovertyFact.local_class,
    )
    # Per place and kind of household: all, and how many approved (read from a covering index).
    # Persons (nhân khẩu) too: household_size is in the same index.
    n_approved = func.sum(cast(PovertyFact.approved, Integer))
    size = func.coalesce(PovertyFact.household_size, 0)
    persons = (
        func.sum(size),
        func.sum(case((PovertyFact.approved.is_(True), size), else_=0)),
    )
    rows = session.execute(
        select(*place, *kinds, func.count(), n_approved, *persons)
        .where(*where)
        .group_by(*place, *kinds)
    )
    leaves: dict[tuple, Counter] = defaultdict(Counter)
    for province, commune, area, kind, dtts, cls, local, n_all, n_ok, p_all, p_ok in rows:
        counts = leaves[(area, commune, province)]
        for key, n, people in ((COUNTS[0], n_all, p_all), (COUNTS[1], n_ok, p_ok)):
            if n:
                counts[key, "reviewed"] += n
                counts[key, "classes", cls] += n
                counts[key, "persons", cls] += int(people or 0)
                counts[key, kind, cls] += n
                if local:
                    counts[key, "local_classes", local] += n
                if dtts:
                    counts[key, "ethnic_minority", cls] += n
    step(2, POVERTY_STEPS)
    # Per place and class: the poor and the near-poor households lacking each service.
    lacking = [func.sum(cast(getattr(PovertyFact, f"lacks_{i}"), Integer)) for i in INDICATORS]
    rows = session.execute(
        select(*place, PovertyFact.approved, PovertyFact.poverty_class, *lacking)
        .where(*where, PovertyFact.poverty_class.in_(_DEPRIVED))
        .group_by(*place, PovertyFact.approved, PovertyFact.poverty_class)
    )
    for province, commune, area, approved, cls, *numbers in rows:
        counts = leaves[(area, commune, province)]
        for key in COUNTS if approved else COUNTS[:1]:
            for indicator, n in zip(INDICATORS, numbers, strict=True):
                if n:
                    counts[key, "deprivation", cls, indicator] += n
    step(3, POVERTY_STEPS)
    indicators = standard_indicators(period)

    def figures(_area, counts: Counter, cover: _Coverage) -> dict:
        return {key: _poverty_figures(counts, key, cover, indicators) for key in COUNTS}

    body = _report(tree, scope, leaves, figures, period, area_code, depth)
    body["unprocessed"] = unprocessed(session, scope, "poverty", period, area_code)
    step(POVERTY_STEPS, POVERTY_STEPS)
    return body


def unprocessed(
    session: Session, scope: Scope, domain: str | None, period: str, area_code: str | None
) -> int:
    """Submissions of the domain's forms (``None``: of every form, as the review queue lists
    them) in the scope, period and area still being processed (``models.in_flight``: their
    current version's job waits, runs or is parked). Their figures are not in the report yet,
    and every report says how many there are. Starts from the small jobs table."""
    query = (
        select(func.count(func.distinct(Submission.id)))
        .select_from(Job)
        .join(SubmissionVersion, SubmissionVersion.id == Job.version_id)
        .join(  # by the primary key, the version current
            Submission,
            and_(
                Submission.id == SubmissionVersion.submission_id,
                Submission.current_version_id == SubmissionVersion.id,
            ),
        )
        .where(Submission.period == period, scope.clause(Submission))
    )
    if domain is not None:
        form_ids = [f for f, d in DOMAIN_OF_FORM.items() if d == domain]
        query = query.join(Form, Form.id == Submission.form_pk).where(Form.form_id.in_(form_ids))
    if area_code:
        query = query.where(area_clause(session, Submission, area_code))
    return session.scalar(query) or 0


def _lacking(get, key: str, cls: str, households: int, indicators) -> dict:
    """How many of the class's households lack each indicator, and what share of the class;
    built with C loops (thousands of areas are rendered)."""
    ids = [i.id for i in indicators]
    counts = list(map(get, [(key, "deprivation", cls, i) for i in ids], _ZEROS))
    shares = [round(n / households, 4) for n in counts] if households else [None] * len(ids)
    return {
        "households": dict(zip(ids, counts, strict=True)),
        "share": dict(zip(ids, shares, strict=True)),
    }


def standard_indicators(period: str) -> tuple[Indicator, ...]:
    """The indicators of the national standard in force for ``period``, in its official order
    (none for a period no standard covers)."""
    try:
        return load_catalogue().national(int(period[:4])).indicators
    except (ValueError, LookupError):
        return ()


CHARACTERISTICS = ("groups", "causes", "support")  # groups: target groups and ethnicity


def characteristics_summary(
    session: Session,
    scope: Scope,
    period: str,
    area_code: str | None = None,
    depth: int = 1,
    parts: tuple[str, ...] = CHARACTERISTICS,
) -> dict:
    """Of the poor and of the near-poor, per area (all non-rejected and approved only): how many
    households and persons, how many in each target group, of each ethnicity, giving each cause
    of poverty and needing each kind of support (tables (8)-(11)), with each count's share of the
    class. ``unknown`` counts households whose fact does not say (an older form, or a fact
    recorded before these were kept: run ``khudan facts rebuild``). ``parts``: which of
    ``CHARACTERISTICS`` to count (a table needs one; the others come out as zeros)."""
    catalogue = characteristics.load_catalogue()
    tree = _start(session, scope, area_code)
    f = PovertyFact
    where = [
        f.period == period,
        f.poverty_class.in_(_DEPRIVED),
        counted(f),
        *_inside(session, tree, scope, f, area_code),
    ]
    place = (f.province_code, f.commune_code, f.area_code)
    leaves: dict[tuple, Counter] = defaultdict(Counter)
    lists = {
        "groups": [g for g, _ in catalogue.target_groups],
        "causes": [c for c, _ in catalogue.causes],
        "support": [s for s, _ in catalogue.support],
    }
    # One GROUP BY per part, by a prefix of a covering index of the poor and near-poor
    # (ix_poverty_facts_traits), so SQLite groups as it reads: per place, class and approval
    # (and ethnicity), the households in each group, cause or kind of support are summed in SQL.
    # Every part also counts the households.
    keys = (*place, f.poverty_class, f.approved)
    for part in parts:
        if part == "groups":
            flags = [getattr(f, g) for g in lists["groups"]]
            columns = [
                f.ethnicity,
                func.sum(func.coalesce(f.household_size, 0)),
                *(func.sum(case((flag.is_(True), 1), else_=0)) for flag in flags),
                *(func.sum(case((flag.is_(None), 1), else_=0)) for flag in flags),
            ]
            group = (*keys, f.ethnicity)
        else:
            chosen = f.causes if part == "causes" else f.support
            padded = literal(" ") + chosen + literal(" ")
            columns = [
                *(
                    func.sum(case((padded.like(f"% {_like(c)} %", escape="\\"), 1), else_=0))
                    for c in lists[part]
                ),
                func.sum(case((chosen.is_(None), 1), else_=0)),
            ]
            group = keys
        rows = session.execute(select(*keys, func.count(), *columns).where(*where).group_by(*group))
        for province, commune, area, cls, ok, n, *values in rows:
            counts = leaves[(area, commune, province)]
            for key in COUNTS if ok else COUNTS[:1]:
                if part == parts[0]:  # each part counts every household once
                    counts[key, "households", cls] += n
                if part != "groups":
                    *found, unknown = values
                    for code, k in zip(lists[part], found, strict=True):
                        counts[key, part, cls, code] += k
                    counts[key, part, cls, "?"] += unknown
                    continue
                ethnicity, people, *flagged = values
                counts[key, "persons", cls] += int(people or 0)
                counts[key, "ethnicity", cls, ethnicity or "?"] += n
                counts[key, "ethnicity_persons", cls, ethnicity or "?"] += int(people or 0)
                width = len(lists["groups"])
                for g, yes, unknown in zip(
                    lists["groups"], flagged[:width], flagged[width:], strict=True
                ):
                    counts[key, "groups", cls, g] += yes
                    counts[key, "groups", cls, f"?{g}"] += unknown

    def figures(_area, counts: Counter, _cover: _Coverage) -> dict:
        out = {}
        for key in COUNTS:
            get = counts.get
            by_class = {}
            for cls in DEPRIVED_CLASSES:
                households = get((key, "households", cls), 0)
                one = {"households": households, "persons": get((key, "persons", cls), 0)}
                for what, codes in lists.items():
                    found = {c: get((key, what, cls, c), 0) for c in codes}
                    one[what] = {
                        "households": found,
                        "share": {c: _rate(n, households) for c, n in found.items()},
                        "unknown": get((key, what, cls, "?"), 0)
                        if what != "groups"
                        else {c: get((key, what, cls, f"?{c}"), 0) for c in codes},
                    }
                ethnic = {
                    k[3]: (n, get((key, "ethnicity_persons", cls, k[3]), 0))
                    for k, n in counts.items()
                    if k[:3] == (key, "ethnicity", cls)
                }
                one["ethnicity"] = {
                    "households": {
                        e.code: ethnic[e.code][0] for e in catalogue.ethnicities if e.code in ethnic
                    },
                    "persons": {
                        e.code: ethnic[e.code][1] for e in catalogue.ethnicities if e.code in ethnic
                    },
                    "unknown": ethnic.get("?", (0, 0))[0],
                }
                by_class[cls] = one
            out[key] = by_class
        return out

    body = _report(tree, scope, leaves, figures, period, area_code, depth)
    body["unprocessed"] = unprocessed(session, scope, "poverty", period, area_code)
    return body


def _like(code: str) -> str:
    """A code as a LIKE pattern matching itself only ("_" is a wildcard there)."""
    return code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _poverty_figures(
    counts: Counter, key: str, cover: _Coverage, indicators: tuple[Indicator, ...]
) -> dict:
    """One counting rule's figures (``key``: all non-rejected, or approved only)."""
    # counts.get, not counts[...]: a Counter's missing keys cost a Python call each. Thousands of
    # areas are rendered, so the per-class dicts are built by C loops (map, zip).
    get = counts.get
    figures = {
        what: dict(zip(CLASSES, map(get, keys, _ZEROS), strict=True)) for what, keys in _KEYS[key]
    }
    classes, local = figures["classes"], figures["local_classes"]
    reviewed = get((key, "reviewed"), 0)
    in_base = cover.covered.get((key, "reviewed"), 0)
    # Nobody reviewed in the units counted: no rate at all, rather than 0 % of their households.
    base = cover.base if in_base else 0
    covered = map(cover.covered.get, _KEYS[key][0][1], _ZEROS)
    return {
        "reviewed": reviewed,
        "classes": classes,
        "persons": figures["persons"],
        "rates": {c: round(n / base, 4) for c, n in zip(CLASSES, covered, strict=True)}
        if base
        else dict.fromkeys(CLASSES),
        "rate_base": {
            "households": cover.base or None,
            "units_left_out": cover.units_left_out,
            "reviewed_left_out": reviewed - in_base,
        },
        "share_of_reviewed": {c: round(n / reviewed, 4) for c, n in classes.items()}
        if reviewed
        else dict.fromkeys(CLASSES),
        "local_classes": local if any(local.values()) else None,
        "urban": figures["urban"],
        "rural": figures["rural"],
        "ethnic_minority": figures["ethnic_minority"],
        "deprivation": {
            cls: _lacking(get, key, cls, classes[cls], indicators) for cls in DEPRIVED_CLASSES
        },
    }


# The keys of the poverty counters, made once: (all or approved, what, class or indicator).
_KEYS = {
    key: [
        (what, [(key, what, c) for c in CLASSES])
        for what in ("classes", "local_classes", "urban", "rural", "ethnic_minority", "persons")
    ]
    for key in COUNTS
}
_ZEROS = itertools.repeat(0)


# The categories of the official tables "tổng hợp diễn biến hộ nghèo / hộ cận nghèo", in their
# order: (key, Vietnamese, English). start - the ones marked "-" + the ones marked "+" = end.
TRANSITIONS = {
    "poor": (
        ("start", "Số hộ nghèo đầu kỳ", "Poor at the start", ""),
        ("escaped_to_near_poor", "Thoát nghèo, thành hộ cận nghèo", "Escaped, now near-poor", "-"),
        ("escaped_above", "Thoát nghèo, vượt chuẩn cận nghèo", "Escaped, above near-poor", "-"),
        ("not_reviewed", "Không được rà soát kỳ này", "Not reviewed this period", "-"),
        ("still", "Vẫn là hộ nghèo", "Still poor", ""),
        ("fell_back", "Tái nghèo", "Fell back into poverty (tái nghèo)", "+"),
        (
            "new_from_near_poor",
            "Nghèo phát sinh từ hộ cận nghèo",
            "Newly poor, from near-poor",
            "+",
        ),
        (
            "new_from_not_poor",
            "Nghèo phát sinh từ hộ không nghèo",
            "Newly poor, from not poor",
            "+",
        ),
        (
            "new_first_reviewed",
            "Nghèo phát sinh, rà soát lần đầu",
            "Newly poor, first reviewed",
            "+",
        ),
        ("end", "Số hộ nghèo cuối kỳ", "Poor at the end", ""),
    ),
    "near_poor": (
        ("start", "Số hộ cận nghèo đầu kỳ", "Near-poor at the start", ""),
        ("became_poor", "Trở thành hộ nghèo", "Became poor", "-"),
        ("escaped_above", "Thoát cận nghèo", "Escaped, above near-poor", "-"),
        ("not_reviewed", "Không được rà soát kỳ này", "Not reviewed this period", "-"),
        ("still", "Vẫn là hộ cận nghèo", "Still near-poor", ""),
        ("fell_back", "Tái cận nghèo", "Fell back into near-poverty", "+"),
        ("new_from_poor", "Cận nghèo phát sinh từ hộ nghèo", "Newly near-poor, from poor", "+"),
        (
            "new_from_not_poor",
            "Cận nghèo phát sinh từ hộ không nghèo",
            "Newly near-poor, from not poor",
            "+",
        ),
        (
            "new_first_reviewed",
            "Cận nghèo phát sinh, rà soát lần đầu",
            "Newly near-poor, first reviewed",
            "+",
        ),
        ("end", "Số hộ cận nghèo cuối kỳ", "Near-poor at the end", ""),
    ),
}
_POOR, _NEAR = PovertyClass.POOR.value, PovertyClass.NEAR_POOR.value


def _moves(cls: str, before: str | None, now: str | None, earlier: set[str]) -> list[str]:
    """The categories one household falls in for class ``cls`` (``earlier``: its classes in the
    periods before the previous one)."""
    out = []
    if before == cls:
        out.append("start")
        if now == cls:
            out.append("still")
        elif now is None:
            out.append("not_reviewed")
        elif cls == _POOR:
            out.append("escaped_to_near_poor" if now == _NEAR else "escaped_above")
        else:
            out.append("became_poor" if now == _POOR else "escaped_above")
    elif now == cls:
        if cls in earlier and before is not None and before != _POOR:
            out.append("fell_back")
        elif before is None:
            out.append("new_first_reviewed")
        elif cls == _POOR:
            out.append("new_from_near_poor" if before == _NEAR else "new_from_not_poor")
        else:
            out.append("new_from_poor" if before == _POOR else "new_from_not_poor")
    if now == cls:
        out.append("end")
    return out


def transitions(
    session: Session,
    scope: Scope,
    period: str,
    area_code: str | None = None,
    counts: str = "all",
    with_households: bool = False,
) -> dict:
    """Household by household, how the poor and near-poor of the previous period moved, in the
    official categories (``TRANSITIONS``), for the area and per unit under it (``units``: its
    children; without an area, the top areas). ``counts="approved"`` uses approved reviews only.
    With ``with_households`` each number lists its households (code, head, area), because the
    village meeting discusses names."""
    previous = previous_period(period)
    tree = _start(session, scope, area_code)
    f = PovertyFact
    approved = counts == "approved"
    # Each fact carries its household's class in the previous period and whether it was poor or
    # near-poor before that (services/facts.link), so the moves are read from two periods' rows
    # in the partial index of the poor and near-poor (then or now), never paired here.
    where = [
        text(f"({MOVED_WHERE})"),  # spelled as the index's WHERE, so that it is used
        counted(f),
        *_inside(session, tree, scope, f, area_code),
    ]
    if approved:
        where.append(f.approved.is_(True))
    seen_after = f.next_approved if approved else f.next_counted
    # Grouped by a prefix of the index's columns, so that SQLite groups as it reads; the view
    # (all or approved) picks its columns in Python.
    place = (f.province_code, f.commune_code, f.area_code)
    links = (
        f.prev_class,
        f.prev_counted,
        f.prev_approved,
        f.earlier_poor,
        f.earlier_near,
        f.earlier_poor_approved,
        f.earlier_near_approved,
    )
    # This period's facts: the class before (if that fact counts) and now; then the previous
    # period's poor and near-poor with no counted fact now (their class now is none).
    now = ([*place, f.poverty_class, f.approved, f.out_of_scope, *links], [f.period == period])
    gone = (
        [*place, f.poverty_class],
        # (not "poverty_class IN …": that would lead SQLite to another, non-covering index; the
        # not-poor rows MOVED_WHERE lets in come out of _moves with no category)
        [f.period == previous, seen_after.is_(False)],
    )
    groups: Counter = Counter()
    members: dict[tuple, list] = defaultdict(list)
    for keys, extra in (now, gone):
        if with_households:  # a row per household, with its name
            query = select(*keys, literal(1), f.household_code, f.head_name)
        else:  # a row per kind of move and place
            query = select(*keys, func.count()).group_by(*keys)
        for row in session.execute(query.where(*where, *extra)):
            if keys is now[0]:
                province, commune, area, is_, _ok, _outside, prev, *flags, n = row[:14]
                counted_before, approved_before, poor, near, poor_ok, near_ok = flags
                if approved:
                    seen, poor_before, near_before = approved_before, poor_ok, near_ok
                else:
                    seen, poor_before, near_before = counted_before, poor, near
                was = prev if seen else None
            else:
                province, commune, area, was, n = row[:5]
                is_, poor_before, near_before = None, False, False
            who = row[len(keys) + 1 :]
            if was is None and is_ not in DEPRIVED_CLASSES:
                continue  # not poor or near-poor in either period
            earlier_classes = frozenset(
                c for c, flag in ((_POOR, poor_before), (_NEAR, near_before)) if flag
            )
            group = ((area, commune, province), was, is_, earlier_classes)
            groups[group] += n
            if who:
                members[group].append(
                    {"household_code": who[0], "head_name": who[1], "area_code": area or commune}
                )
    tops = [area_code] if area_code else _top_codes(tree, scope)
    units = {c: top for top in tops for c in tree.children.get(top, [])}

    @functools.cache
    def unit_of(place: tuple) -> tuple[str | None, str | None]:
        """(top area, unit under it) of a household's place."""
        for code in place:
            for c in tree.ancestry(code):
                if c in units:
                    return units[c], c
                if c in tops:
                    return c, None
        return None, None

    tables: dict[str | None, dict] = {}
    for group, n in groups.items():
        place, before, now, earlier = group
        top, unit = unit_of(place)
        if top is None:
            continue
        for cls in TRANSITIONS:
            for move in _moves(cls, before, now, earlier):
                for owner in {top, unit} - {None}:
                    table = tables.get(owner)
                    if table is None:  # (not setdefault: that builds an empty table each time)
                        table = tables[owner] = _empty_moves(with_households)
                    table[cls][move] += n
                    if with_households:
                        table["households"][cls][move].extend(members[group])

    def render(table: dict) -> dict:
        out = {cls: dict(table[cls]) for cls in TRANSITIONS}
        if with_households:
            out["households"] = table["households"]
        return out

    total = _empty_moves(with_households)
    for top in tops:
        if top in tables:
            for cls in TRANSITIONS:
                total[cls].update(tables[top][cls])
                if with_households:
                    for move, rows in tables[top]["households"][cls].items():
                        total["households"][cls][move].extend(rows)
    return {
        "period": period,
        "previous_period": previous,
        "area": area_code,
        "counts": counts,
        "unprocessed": unprocessed(session, scope, "poverty", period, area_code),
        **render(total),
        "units": [
            {
                "code": c,
                "name": tree.areas[c].full_name,
                "level": tree.areas[c].level,
                **render(tables[c]),
            }
            for top in tops
            for c in tree.children.get(top, [])
            if c in tables
        ],
    }


def moved(table: dict, cls: str) -> dict[str, int]:
    """A class's transitions in three: out of it (escaped; for the near-poor also to poor), back
    into it (fell back) and new to it (all kinds of phát sinh)."""
    m = table[cls]
    out = ("escaped_to_near_poor", "escaped_above", "became_poor")
    return {
        "escaped": sum(m.get(k, 0) for k in out),
        "fell_back": m["fell_back"],
        "newly": sum(n for k, n in m.items() if k.startswith("new_")),
    }


def _empty_moves(with_households: bool) -> dict:
    table = {
        cls: Counter(dict.fromkeys((k for k, *_ in moves), 0)) for cls, moves in TRANSITIONS.items()
    }
    if with_households:
        table["households"] = {
            cls: {k: [] for k, *_ in moves} for cls, moves in TRANSITIONS.items()
        }
    return table


def _top_codes(tree: _Tree, scope: Scope) -> list[str]:
    if scope.everything:
        return tree.children.get(None, [])
    return [c for c in sorted(_scope_codes(scope)) if c in tree.areas]


def previous_period(period: str) -> str:
    """2026 -> 2025; 2026-H1 -> 2025-H2; 2026-H2 -> 2026-H1."""
    before = periods.previous(period)
    if before is None:
        raise errors.INVALID_INPUT(reason=f"period {period!r} is not YYYY or YYYY-H1/H2")
    return before


def _rate(count: int, base: int) -> float | None:
    return round(count / base, 4) if base else None


def cultural_family_summary(
    session: Session, scope: Scope, period: str, area_code: str | None = None, depth: int = 1
) -> dict:
    """Per area, for all non-rejected and for approved assessments: households assessed, those
    earning "Gia đình văn hóa" and their share of those assessed, the criteria failed most, and
    the disqualified households with the reasons; for a residential area, its "Thôn/Tổ dân phố
    văn hóa" title: the share of the *registry's* households holding the family title against its
    province's minimum (rule data), "chưa đánh giá" when nobody was assessed and "không đủ dữ
    liệu" without a registry count."""
    catalogue = cultural_family.load_catalogue()
    reasons = {c.id: c.text_vi for c in catalogue.disqualifiers}
    tree = _start(session, scope, area_code)
    rows = session.execute(
        select(
            CulturalFamilyFact.area_code,
            CulturalFamilyFact.commune_code,
            CulturalFamilyFact.province_code,
            CulturalFamilyFact.approved,
            CulturalFamilyFact.earned,
            CulturalFamilyFact.failed,
            CulturalFamilyFact.disqualified_by,
            CulturalFamilyFact.household_code,
            CulturalFamilyFact.head_name,
        ).where(
            CulturalFamilyFact.period == period,
            counted(CulturalFamilyFact),
            *_inside(session, tree, scope, CulturalFamilyFact, area_code),
        )
    )
    leaves: dict[tuple, Counter] = defaultdict(Counter)
    excluded: dict[str, list[dict]] = defaultdict(list)  # thôn -> disqualified households
    for area, commune, province, approved, earned, failed, dq, code, head in rows:
        counts = leaves[(area, commune, province)]
        for key in COUNTS if approved else COUNTS[:1]:
            counts[key, "assessed"] += 1
            counts[key, "earned"] += int(bool(earned))
            counts.update((key, "failed", c) for c in failed or [])
            counts[key, "disqualified"] += int(bool(dq))
        if dq:
            excluded[area or commune].append(
                {
                    "household_code": code,
                    "head_name": head,
                    "approved": bool(approved),
                    "reasons": [reasons.get(d, d) for d in dq],
                }
            )

    def one(node_area: Row, counts: Counter, cover: _Coverage, key: str) -> dict:
        assessed, earned = counts[key, "assessed"], counts[key, "earned"]
        failed = {k[2]: n for k, n in counts.items() if k[:2] == (key, "failed")}
        out = {
            "assessed": assessed,
            "earned": earned,
            "rate": _rate(earned, assessed),
            "most_failed": [
                {"criterion": c, "households": n}
                for c, n in sorted(failed.items(), key=lambda x: (-x[1], x[0]))[:3]
            ],
            "disqualified": counts[key, "disqualified"],
        }
        if node_area.level == "area":
            *_, province = tree.ancestry(node_area.code)
            out["thon_title"] = _thon_title(earned, assessed, cover, province, catalogue)
            out["disqualified_households"] = [
                h for h in excluded.get(node_area.code, []) if key == "all" or h["approved"]
            ]
        return out

    def figures(node_area: Row, counts: Counter, cover: _Coverage) -> dict:
        return {key: one(node_area, counts, cover, key) for key in COUNTS}

    body = _report(tree, scope, leaves, figures, period, area_code, depth)
    body["unprocessed"] = unprocessed(session, scope, "cultural_family", period, area_code)
    return body


THON_TITLE = {
    "dat": "Đạt",
    "chua_dat": "Chưa đạt",
    "chua_danh_gia": "Chưa đánh giá",
    "khong_du_du_lieu": "Không đủ dữ liệu (chưa có số hộ trong sổ)",
}


def _thon_title(earned: int, assessed: int, cover: _Coverage, province: str, catalogue) -> dict:
    threshold = catalogue.thon_threshold(province)
    households = cover.households_total
    share = _rate(earned, households) if households else None
    if not assessed:
        status = "chua_danh_gia"
    elif not households or earned > households:
        status = "khong_du_du_lieu"
    else:
        earns = cultural_family.thon_title(earned, households, province, catalogue)
        status = "dat" if earns else "chua_dat"
    return {
        "status": status,
        "label_vi": THON_TITLE[status],
        "share_of_households": share,
        "households": households,
        "min_share": float(threshold.min_gdvh_share),
        "rule": {"source": threshold.source, "mark": threshold.mark},
    }


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
            counted(SatisfactionFact),
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

    def figures(_area: Row, counts: Counter, cover: _Coverage) -> dict:
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
            participation = _rate(cover.covered[f"respondents:{set_id}"], cover.base)
            needed = criteria_set.participation.share if criteria_set.participation else None
            out[set_id] = {
                "respondents": respondents,
                "agree": agreed,
                "agree_share": _rate(agreed, respondents),
                "participation": participation,
                "pass_share": float(criteria_set.pass_share.share),
                "participation_needed": float(needed) if needed is not None else None,
                **_satisfaction_verdict(
                    agreed / respondents >= criteria_set.pass_share.share,
                    None if needed is None or participation is None else participation >= needed,
                    needed is not None,
                ),
                "items": items,
            }
        return out

    body = _report(tree, scope, leaves, figures, period, area_code, depth)
    body["unprocessed"] = unprocessed(session, scope, "satisfaction", period, area_code)
    return body


VERDICTS = {
    "dat": ("Đạt", "Passes"),
    "chua_dat": ("Chưa đạt", "Does not pass"),
    "khong_du_du_lieu": ("Không đủ dữ liệu", "Not enough data"),
}


def _satisfaction_verdict(agreed_enough: bool, took_part: bool | None, rule: bool) -> dict:
    """Both rules must hold. One that cannot be evaluated (participation without the registry's
    household counts) makes the verdict "không đủ dữ liệu", never a pass."""
    if not agreed_enough or took_part is False:
        verdict = "chua_dat"
    elif rule and took_part is None:
        verdict = "khong_du_du_lieu"
    else:
        verdict = "dat"
    return {
        "passes": {"dat": True, "chua_dat": False}.get(verdict),
        "verdict": verdict,
        "verdict_vi": VERDICTS[verdict][0],
        "verdict_en": VERDICTS[verdict][1],
    }


def require_area(session: Session, scope: Scope, area_code: str | None) -> None:
    """404 for an area the reader may not see (as every report answers)."""
    _start(session, scope, area_code)


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


@dataclass(slots=True)
class _Coverage:
    """An area's registry households, and which of its counts a rate of them may use."""

    households_total: int | None  # the registry's count: its own, or the sum of all its parts
    base: int  # registry households of the units under it that have a count
    covered: Counter  # the counts of exactly those units
    units_left_out: int  # units under it (lowest registered level) with no registry count
    whole: bool = False  # every count under it is in the base: ``covered`` is all of them


_NOTHING = Counter()
_TOTAL = SimpleNamespace(code="", full_name="Tổng cộng", level="total")  # the areas shown, as one


def _report(
    tree: _Tree,
    scope: Scope,
    leaves: dict[tuple, Counter],
    figures: Callable[[Row, Counter, _Coverage], dict],
    period: str,
    area_code: str | None,
    depth: int,
) -> dict:
    """Add each place's counts into the most specific registered area it names (an unregistered
    thôn counts in its commune), roll them up the tree with the registry coverage of each area,
    and render ``depth`` levels from the top."""
    sums: dict[str, Counter] = {}
    for place, counts in leaves.items():
        code = next((c for c in place if c in tree.areas), None)
        if code is not None:
            sums.setdefault(code, Counter()).update(counts)
    direct = set(sums)  # areas that rows name as their most specific place
    cover: dict[str, _Coverage] = {}
    for code in tree.bottom_up():
        area = tree.areas[code]
        below = [cover[c] for c in tree.children.get(code, [])]
        if area.households_total is not None:
            cover[code] = _Coverage(
                area.households_total,
                area.households_total,
                sums.get(code, _NOTHING),
                0,
                whole=True,
            )
        elif below:
            whole = code not in direct and all(part.whole for part in below)
            if whole:  # the counts under it are exactly its units': no second sum
                covered = sums.get(code, _NOTHING)
            else:
                covered = Counter()
                for part in below:
                    if part.covered:
                        covered.update(part.covered)
            totals = [part.households_total for part in below]
            cover[code] = _Coverage(
                None if None in totals else sum(totals),
                sum(part.base for part in below),
                covered,
                sum(part.units_left_out for part in below),
                whole=whole,
            )
        else:
            cover[code] = _Coverage(None, 0, _NOTHING, 1)
        if code in sums and area.parent_code in tree.areas:
            sums.setdefault(area.parent_code, Counter()).update(sums[code])

    def render(code: str, level: int) -> dict:
        area, here = tree.areas[code], cover[code]
        out = {
            "code": code,
            "name": area.full_name,
            "level": area.level,
            "households_total": here.households_total,
            **figures(area, sums.get(code, Counter()), here),
        }
        if level > 0:
            out["children"] = [
                render(c, level - 1)
                for c in tree.children.get(code, [])
                if c in sums or cover[c].households_total
            ]
        return out

    if area_code is not None:
        codes = [area_code]
    elif scope.everything:
        codes = tree.children.get(None, [])
    else:
        codes = [c for c in sorted(_scope_codes(scope)) if c in tree.areas]
    # The areas shown, together: what a page's headline quotes, worked out here once.
    together, parts = Counter(), [cover[c] for c in codes]
    covered = Counter()
    for code in codes:
        together.update(sums.get(code, _NOTHING))
        covered.update(cover[code].covered)
    totals = [p.households_total for p in parts]
    whole = _Coverage(
        None if None in totals or not totals else sum(totals),
        sum(p.base for p in parts),
        covered,
        sum(p.units_left_out for p in parts),
    )
    return {
        "period": period,
        "areas": [render(c, depth) for c in codes],
        "total": {"households_total": whole.households_total, **figures(_TOTAL, together, whole)},
    }


def _scope_codes(scope: Scope) -> frozenset[str]:
    return scope.provinces | scope.communes | scope.areas
