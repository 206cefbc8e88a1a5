"""Residents' satisfaction survey (lấy ý kiến sự hài lòng): which criteria set applies, and what one
household answered about it.

Rule IDs (tests name the one they check):

- SAT-01 default set, as the form's ``criteria_default`` picks it: phường → QĐ 04/2022 (đô thị văn
  minh) every year; xã → QĐ 318/2022 up to 2025 and QĐ 51/2025 from 2026; đặc khu and other types →
  none, the collector chooses. The rule is data (rules/satisfaction_sets.toml, ``[[default]]``).
- SAT-02 each item of the chosen set is satisfied ("hai_long"), not yet satisfied ("chua_hai_long")
  or unanswered; answers to other sets' items are ignored, as the form's relevance hides them.
- SAT-03 the final question: "yes" agrees to the recognition, "no" does not, blank is unknown.
- SAT-04 the pass share and the participation share of each set are data for area reports:
  90% for đô thị văn minh (QĐ 04/2022, verified); 80% and 70% for xã (provincial practice,
  unverified defaults).

Sources: Quyết định 318/QĐ-TTg (2022), 51/2025/QĐ-TTg and 04/2022/QĐ-TTg; MTTQ guidance
78/HD-MTTW-BTT (2017) and 91/HD-MTTW-BTT (2022) for the survey itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import ruledata
from .ruledata import RULES_DIR, Mark, NotCovered, RulesError

RULES_FILE = "satisfaction_sets.toml"
SATISFIED = "hai_long"
NOT_SATISFIED = "chua_hai_long"


@dataclass(frozen=True, slots=True)
class Item:
    id: str  # the form's field name, s_<set>_<n>
    name_vi: str
    name_en: str


@dataclass(frozen=True, slots=True)
class Threshold:
    share: Fraction
    mark: Mark


@dataclass(frozen=True, slots=True)
class CriteriaSet:
    id: str
    name_vi: str
    name_en: str
    source: str
    mark: Mark
    items: tuple[Item, ...]
    pass_share: Threshold  # of responding households satisfied and agreeing
    participation: Threshold | None  # of the area's households answering; None = not found


@dataclass(frozen=True, slots=True)
class DefaultRule:
    commune_type: str
    set_id: str
    first_year: int | None  # None: no lower bound
    last_year: int | None  # None: no upper bound

    def covers(self, commune_type: str, year: int) -> bool:
        return (
            commune_type == self.commune_type
            and (self.first_year is None or year >= self.first_year)
            and (self.last_year is None or year <= self.last_year)
        )


@dataclass(frozen=True, slots=True)
class SatisfactionCatalogue:
    sets: Mapping[str, CriteriaSet]
    defaults: tuple[DefaultRule, ...]

    @property
    def item_ids(self) -> tuple[str, ...]:
        """Every item field of every set, in file order: the fields the survey form must carry."""
        return tuple(i.id for s in self.sets.values() for i in s.items)

    def criteria_set(self, set_id: str) -> CriteriaSet:
        try:
            return self.sets[set_id]
        except KeyError:
            known = ", ".join(self.sets)
            raise NotCovered(
                f"No criteria set {set_id!r} in rules/{RULES_FILE} (known: {known})"
            ) from None


@dataclass(frozen=True, slots=True)
class SatisfactionResult:
    set_id: str
    satisfied: tuple[str, ...]  # item ids, in the set's order
    not_satisfied: tuple[str, ...]
    unanswered: tuple[str, ...]
    agree: bool | None


def default_set(
    commune_type: str, year: int, sets: SatisfactionCatalogue | None = None
) -> str | None:
    """SAT-01: the set a survey in this commune type and year is about, unless the collector changes it."""
    catalogue = sets or load_sets()
    return next((r.set_id for r in catalogue.defaults if r.covers(commune_type, year)), None)


def summarize(
    answers: Mapping[str, str], set_id: str, sets: SatisfactionCatalogue | None = None
) -> SatisfactionResult:
    """SAT-02, SAT-03: one household's answers (by field name) about the set it was asked."""
    criteria_set = (sets or load_sets()).criteria_set(set_id)
    by_answer: dict[str, list[str]] = {SATISFIED: [], NOT_SATISFIED: [], "": []}
    for item in criteria_set.items:
        value = answers.get(item.id, "").strip()
        if value not in by_answer:
            raise ValueError(
                f"{item.id}: expected {SATISFIED!r} or {NOT_SATISFIED!r}, got {value!r}"
            )
        by_answer[value].append(item.id)
    agree = answers.get("agree", "").strip()
    if agree not in ("yes", "no", ""):
        raise ValueError(f"agree: expected 'yes' or 'no', got {agree!r}")
    return SatisfactionResult(
        set_id=set_id,
        satisfied=tuple(by_answer[SATISFIED]),
        not_satisfied=tuple(by_answer[NOT_SATISFIED]),
        unanswered=tuple(by_answer[""]),
        agree=None if not agree else agree == "yes",
    )


def load_sets(rules_dir: Path | None = None) -> SatisfactionCatalogue:
    """The sets in ``rules_dir``; without one, the packaged rules, read once per process."""
    if rules_dir is None:
        return _packaged_sets()
    return _load(rules_dir / RULES_FILE)


@cache
def _packaged_sets() -> SatisfactionCatalogue:
    return _load(RULES_DIR / RULES_FILE)


def _load(path: Path) -> SatisfactionCatalogue:
    data = ruledata.read(path)
    where = path.name
    sets = [
        _set(table, f"{where} set {n}")
        for n, table in enumerate(ruledata.tables(data, "set", where), 1)
    ]
    ruledata.unique_ids([s.id for s in sets] + [i.id for s in sets for i in s.items], where)
    defaults = tuple(
        _default(table, f"{where} default {n}")
        for n, table in enumerate(ruledata.tables(data, "default", where), 1)
    )
    for rule in defaults:
        if rule.set_id not in {s.id for s in sets}:
            raise RulesError(f"{where}: a default names the unknown set {rule.set_id!r}")
    _check_defaults_disjoint(defaults, where)
    return SatisfactionCatalogue(MappingProxyType({s.id: s for s in sets}), defaults)


def _set(table: Mapping[str, Any], where: str) -> CriteriaSet:
    items = tuple(
        Item(
            id=ruledata.get(item, "id", str, f"{where} item {n}"),
            name_vi=ruledata.get(item, "name_vi", str, f"{where} item {n}"),
            name_en=ruledata.get(item, "name_en", str, f"{where} item {n}"),
        )
        for n, item in enumerate(ruledata.tables(table, "items", where), 1)
    )
    if not items:
        raise RulesError(f"{where}: no items")
    return CriteriaSet(
        id=ruledata.get(table, "id", str, where),
        name_vi=ruledata.get(table, "name_vi", str, where),
        name_en=ruledata.get(table, "name_en", str, where),
        source=ruledata.get(table, "source", str, where),
        mark=ruledata.mark(table, where),
        items=items,
        pass_share=_threshold(table, "pass", where),
        participation=_threshold(table, "participation", where)
        if "participation" in table
        else None,
    )


def _threshold(table: Mapping[str, Any], key: str, where: str) -> Threshold:
    value = ruledata.get(table, key, dict, where)
    return Threshold(
        share=ruledata.share(value, "share", f"{where} {key}"),
        mark=ruledata.mark(value, f"{where} {key}"),
    )


def _default(table: Mapping[str, Any], where: str) -> DefaultRule:
    bounds = {
        key: ruledata.get(table, key, int, where) if key in table else None
        for key in ("first_year", "last_year")
    }
    return DefaultRule(
        commune_type=ruledata.get(table, "commune_type", str, where),
        set_id=ruledata.get(table, "set", str, where),
        **bounds,
    )


def _check_defaults_disjoint(defaults: tuple[DefaultRule, ...], where: str) -> None:
    """Two defaults for one commune type must not share a year, or the pick would depend on order."""
    for n, a in enumerate(defaults):
        for b in defaults[n + 1 :]:
            (a_first, a_last), (b_first, b_last) = _span(a), _span(b)
            if a.commune_type == b.commune_type and a_first <= b_last and b_first <= a_last:
                raise RulesError(
                    f"{where}: defaults {a.set_id!r} and {b.set_id!r} overlap for "
                    f"{a.commune_type!r}; give them disjoint years"
                )


def _span(rule: DefaultRule) -> tuple[float, float]:
    return (
        -math.inf if rule.first_year is None else rule.first_year,
        math.inf if rule.last_year is None else rule.last_year,
    )
