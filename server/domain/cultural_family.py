"""The "Gia đình văn hóa" (cultural family) title of a household, and the thôn title's household share.

Rule IDs (tests name the one they check):

- CF-01 a household earns the title only when it meets every criterion of Phụ lục I ("yes") and
  every disqualifying case of Điều 6 khoản 4 is answered "no".
- CF-02 an unanswered criterion is not met; it is listed as unanswered, not as failed, so a
  supervisor can tell a gap in the form from a "no".
- CF-03 an unanswered disqualifier blocks the title too, since nobody has checked it. (The form's
  own ``eligible`` calculate lets a blank one through, but the form requires every answer.)
- CF-04 thôn / tổ dân phố văn hóa: the share of assessed households holding the title is at least
  the province's minimum. It is the one Phụ lục II condition the forms let the server count; the
  others are judged by the commune council. The default minimum (80%) is unverified.

"Earned" means the household meets the standard the village meeting then examines; the meeting's
result and the chairman's decision are recorded next to it, not decided here.

Source: Nghị định 86/2023/NĐ-CP, Phụ lục I, Phụ lục II and Điều 6 khoản 4; the criteria, their
marks and the thôn thresholds are in rules/cultural_family_nd86.toml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import ruledata
from .ruledata import RULES_DIR, Mark, RulesError

RULES_FILE = "cultural_family_nd86.toml"


@dataclass(frozen=True, slots=True)
class Clause:
    """One criterion or disqualifying case; ``id`` is its field name in the form."""

    id: str
    text_vi: str
    text_en: str
    mark: Mark


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    title_vi: str
    title_en: str
    mark: Mark
    criteria: tuple[Clause, ...]


@dataclass(frozen=True, slots=True)
class ThonThreshold:
    min_gdvh_share: Fraction
    mark: Mark
    source: str


@dataclass(frozen=True, slots=True)
class CulturalFamilyCatalogue:
    source: str
    groups: tuple[Group, ...]
    disqualifiers: tuple[Clause, ...]
    thon_default: ThonThreshold
    thon_by_province: Mapping[str, ThonThreshold]

    @property
    def criteria(self) -> tuple[Clause, ...]:
        return tuple(c for g in self.groups for c in g.criteria)

    @property
    def criterion_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.criteria)

    @property
    def disqualifier_ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.disqualifiers)

    def thon_threshold(self, province_code: str) -> ThonThreshold:
        return self.thon_by_province.get(province_code, self.thon_default)


@dataclass(frozen=True, slots=True)
class CulturalFamilyResult:
    earned: bool
    failed: tuple[str, ...]  # criteria answered "no"
    disqualified_by: tuple[str, ...]  # disqualifiers answered "yes"
    unanswered: tuple[str, ...]  # criteria and disqualifiers left blank


def assess(answers: Mapping[str, str], catalogue: CulturalFamilyCatalogue) -> CulturalFamilyResult:
    """CF-01..03: the title of one household from the form's answers by field name."""
    failed: list[str] = []
    disqualified_by: list[str] = []
    unanswered: list[str] = []
    for criterion in catalogue.criteria:
        met = _yes_no(answers, criterion.id)
        if met is None:
            unanswered.append(criterion.id)
        elif not met:
            failed.append(criterion.id)
    for case in catalogue.disqualifiers:
        applies = _yes_no(answers, case.id)
        if applies is None:
            unanswered.append(case.id)
        elif applies:
            disqualified_by.append(case.id)
    return CulturalFamilyResult(
        earned=not (failed or disqualified_by or unanswered),
        failed=tuple(failed),
        disqualified_by=tuple(disqualified_by),
        unanswered=tuple(unanswered),
    )


def thon_title(
    gdvh_households: int,
    households: int,
    province_code: str,
    catalogue: CulturalFamilyCatalogue,
) -> bool:
    """CF-04: whether a thôn's share of cultural-family households reaches its province's minimum.

    The share is of all the thôn's households (the registry's count), not of those assessed: an
    unassessed household does not hold the title. It is exact (8 of 10 reaches 0.8). A thôn with
    no household does not qualify.
    """
    if not 0 <= gdvh_households <= households:
        raise ValueError(
            f"need 0 <= households with the title ({gdvh_households}) <= households ({households})"
        )
    if households == 0:
        return False
    minimum = catalogue.thon_threshold(province_code).min_gdvh_share
    return Fraction(gdvh_households, households) >= minimum


def load_catalogue(rules_dir: Path | None = None) -> CulturalFamilyCatalogue:
    """The catalogue in ``rules_dir``; without one, the packaged rules, read once per process."""
    if rules_dir is None:
        return _packaged_catalogue()
    return _load(rules_dir / RULES_FILE)


@cache
def _packaged_catalogue() -> CulturalFamilyCatalogue:
    return _load(RULES_DIR / RULES_FILE)


def _load(path: Path) -> CulturalFamilyCatalogue:
    data = ruledata.read(path)
    where = path.name
    groups = tuple(
        _group(table, f"{where} group {n}")
        for n, table in enumerate(ruledata.tables(data, "group", where), 1)
    )
    disqualifiers = tuple(
        _clause(table, f"{where} disqualifier {n}")
        for n, table in enumerate(ruledata.tables(data, "disqualifier", where), 1)
    )
    if not groups or not disqualifiers:
        raise RulesError(f"{where}: needs [[group]] and [[disqualifier]] tables")
    ruledata.unique_ids(
        [g.id for g in groups]
        + [c.id for g in groups for c in g.criteria]
        + [d.id for d in disqualifiers],
        where,
    )
    thon = ruledata.get(data, "thon_title", dict, where)
    provinces = ruledata.get(thon, "province", dict, where) if "province" in thon else {}
    return CulturalFamilyCatalogue(
        source=ruledata.get(data, "source", str, where),
        groups=groups,
        disqualifiers=disqualifiers,
        thon_default=_threshold(thon, "default", f"{where} [thon_title]"),
        thon_by_province=MappingProxyType(
            {
                code: _threshold(provinces, code, f"{where} [thon_title.province]")
                for code in provinces
            }
        ),
    )


def _group(table: Mapping[str, Any], where: str) -> Group:
    criteria = tuple(
        _clause(c, f"{where} criterion {n}")
        for n, c in enumerate(ruledata.tables(table, "criteria", where), 1)
    )
    if not criteria:
        raise RulesError(f"{where}: no criteria")
    return Group(
        id=ruledata.get(table, "id", str, where),
        title_vi=ruledata.get(table, "title_vi", str, where),
        title_en=ruledata.get(table, "title_en", str, where),
        mark=ruledata.mark(table, where),
        criteria=criteria,
    )


def _clause(table: Mapping[str, Any], where: str) -> Clause:
    return Clause(
        id=ruledata.get(table, "id", str, where),
        text_vi=ruledata.get(table, "text_vi", str, where),
        text_en=ruledata.get(table, "text_en", str, where),
        mark=ruledata.mark(table, where),
    )


def _threshold(tables: Mapping[str, Any], key: str, where: str) -> ThonThreshold:
    table = ruledata.get(tables, key, dict, where)
    where = f"{where} {key}"
    return ThonThreshold(
        min_gdvh_share=ruledata.share(table, "min_gdvh_share", where),
        mark=ruledata.mark(table, where),
        source=ruledata.get(table, "source", str, where),
    )


def _yes_no(answers: Mapping[str, str], name: str) -> bool | None:
    value = answers.get(name, "").strip()
    if value not in ("yes", "no", ""):
        raise ValueError(f"{name}: expected 'yes' or 'no', got {value!r}")
    return None if not value else value == "yes"
