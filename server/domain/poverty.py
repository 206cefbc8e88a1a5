"""Multidimensional poverty classification (chuẩn nghèo đa chiều), table-driven by review year.

Rule IDs (tests name the one they check):

- POV-01 poor (hộ nghèo): income per person per month ≤ the poverty line of the household's area
  kind, and at least ``min_deprivations`` (3) deprived indicators.
- POV-02 near-poor (hộ cận nghèo): income ≤ the line and fewer deprived indicators.
- POV-03 medium living standard (hộ có mức sống trung bình): line < income ≤ the top of the medium
  band; income alone decides. Only where the standard defines a band (2022-2026; none was found for
  2027-2030, so no household is "medium" in those years).
- POV-04 not poor: every other household.
- POV-05 the national standard is chosen by review year, never by the date of entry; a year no rule
  file covers is an error, not a guess.
- POV-06 urban or rural comes from the commune's type (rules/area_kinds.toml), never from the collector.
- POV-07 a province may add a named local standard with higher lines for some years; it inherits the
  indicators and minimum number of deprivations of the national standard of those years, and the
  household is classified under both.

Sources: Nghị định 07/2021/NĐ-CP Điều 3 (years 2022-2025, and 2026 as Nghị định 351/2025/NĐ-CP keeps
it) and Nghị định 351/2025/NĐ-CP (2027-2030). The numbers, indicators and how well each is verified
are in rules/poverty_*.toml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import ruledata
from .ruledata import RULES_DIR, Mark, NotCovered, RulesError


class AreaKind(StrEnum):
    URBAN = "urban"
    RURAL = "rural"


class PovertyClass(StrEnum):
    POOR = "poor"
    NEAR_POOR = "near_poor"
    MEDIUM = "medium"
    NOT_POOR = "not_poor"


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    dimension: str
    label_vi: str
    label_en: str
    condition: str  # the deprivation condition, in the words of the rule file
    mark: Mark  # how well the condition is verified


@dataclass(frozen=True, slots=True)
class Standard:
    id: str
    name: str
    source: str
    years: tuple[int, ...]
    poverty_line: Mapping[AreaKind, int]  # VND per person per month
    medium_band: Mapping[AreaKind, tuple[int, int]] | None  # (line, top); None = no band
    min_deprivations: int
    indicators: tuple[Indicator, ...]
    province: str | None  # None for the national standard


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Every poverty standard the rule files define, and the urban/rural kind of each commune type."""

    standards: tuple[Standard, ...]  # the national ones, one per period
    local_standards: tuple[Standard, ...]
    area_kinds: Mapping[str, AreaKind]

    def has_year(self, year: int) -> bool:
        """POV-05: whether a national standard covers the review year."""
        return any(year in standard.years for standard in self.standards)

    def national(self, year: int) -> Standard:
        """POV-05: the national standard in force for a review year."""
        for standard in self.standards:
            if year in standard.years:
                return standard
        covered = ", ".join(f"{s.id} {s.years[0]}-{s.years[-1]}" for s in self.standards)
        raise NotCovered(
            f"No national poverty standard covers review year {year} (the rule files have "
            f"{covered}). Add a rules/poverty_<first>_<last>.toml for that period."
        )

    def local(self, province_code: str, year: int) -> Standard | None:
        """POV-07: the province's own standard for a review year, if it has one."""
        for standard in self.local_standards:
            if standard.province == province_code and year in standard.years:
                return standard
        return None

    def area_kind(self, commune_type: str) -> AreaKind:
        """POV-06: urban or rural, from the commune's type in the area registry."""
        try:
            return self.area_kinds[commune_type]
        except KeyError:
            known = ", ".join(sorted(self.area_kinds))
            raise NotCovered(
                f"Commune type {commune_type!r} is neither urban nor rural in rules/area_kinds.toml "
                f"(known: {known}); add it there."
            ) from None


def classify(
    income_per_capita: int, deprived_count: int, kind: AreaKind, standard: Standard
) -> PovertyClass:
    """POV-01..04: the class of one household under one standard."""
    if income_per_capita < 0:
        raise ValueError(f"income per person cannot be negative: {income_per_capita}")
    if not 0 <= deprived_count <= len(standard.indicators):
        raise ValueError(
            f"deprived_count must be 0..{len(standard.indicators)} under {standard.id}, "
            f"got {deprived_count}"
        )
    if income_per_capita <= standard.poverty_line[kind]:
        if deprived_count >= standard.min_deprivations:
            return PovertyClass.POOR
        return PovertyClass.NEAR_POOR
    if standard.medium_band is not None and income_per_capita <= standard.medium_band[kind][1]:
        return PovertyClass.MEDIUM
    return PovertyClass.NOT_POOR


def load_catalogue(rules_dir: Path | None = None) -> Catalogue:
    """The catalogue in ``rules_dir``; without one, the packaged rules, read once per process.

    Caching is safe across servers: the files ship with the code, so every process reads the same.
    """
    if rules_dir is None:
        return _packaged_catalogue()
    return _load(rules_dir)


@cache
def _packaged_catalogue() -> Catalogue:
    return _load(RULES_DIR)


def _load(rules_dir: Path) -> Catalogue:
    paths = sorted(rules_dir.glob("poverty_*.toml"))
    if not paths:
        raise RulesError(f"{rules_dir}: no poverty_*.toml rule file")
    national = tuple(_national(path) for path in paths)
    local_path = rules_dir / "local_standards.toml"
    local = tuple(
        _local(table, f"{local_path.name} standard {n}", national)
        for n, table in enumerate(
            ruledata.tables(ruledata.read(local_path), "standard", local_path.name), 1
        )
    )
    ruledata.unique_ids([s.id for s in national + local], "poverty rule files")
    _check_disjoint(national)
    _check_disjoint(local)
    return Catalogue(national, local, _area_kinds(rules_dir / "area_kinds.toml"))


def _national(path: Path) -> Standard:
    data = ruledata.read(path)
    where = path.name
    lines = _lines(data, where)
    medium_band = None
    if "medium_band" in data:
        band = ruledata.get(data, "medium_band", dict, where)
        medium_band = _band(band, lines, f"{where} [medium_band]")
    indicators = tuple(
        _indicator(table, f"{where} indicator {n}")
        for n, table in enumerate(ruledata.tables(data, "indicator", where), 1)
    )
    if not indicators:
        raise RulesError(f"{where}: no [[indicator]]")
    ruledata.unique_ids([i.id for i in indicators], where)
    min_deprivations = ruledata.get(data, "min_deprivations", int, where)
    if not 1 <= min_deprivations <= len(indicators):
        raise RulesError(f"{where}: 'min_deprivations' must be 1..{len(indicators)}")
    return Standard(
        id=ruledata.get(data, "id", str, where),
        name=ruledata.get(data, "name", str, where),
        source=ruledata.get(data, "source", str, where),
        years=_years(data, where),
        poverty_line=lines,
        medium_band=medium_band,
        min_deprivations=min_deprivations,
        indicators=indicators,
        province=None,
    )


def _local(table: Mapping[str, Any], where: str, national: tuple[Standard, ...]) -> Standard:
    years = _years(table, where)
    parent = next((s for s in national if set(years) <= set(s.years)), None)
    if parent is None:
        raise RulesError(
            f"{where}: its years must all fall within one national standard's years "
            f"(split it into one local standard per national period)"
        )
    lines = _lines(table, where)
    for kind, line in lines.items():
        if line <= parent.poverty_line[kind]:
            raise RulesError(
                f"{where}: the {kind} line {line:_} must be above the national line "
                f"{parent.poverty_line[kind]:_} of {parent.id}"
            )
    return Standard(
        id=ruledata.get(table, "id", str, where),
        name=ruledata.get(table, "name", str, where),
        source=ruledata.get(table, "source", str, where),
        years=years,
        poverty_line=lines,
        medium_band=None,
        min_deprivations=parent.min_deprivations,
        indicators=parent.indicators,
        province=ruledata.get(table, "province", str, where),
    )


def _years(table: Mapping[str, Any], where: str) -> tuple[int, ...]:
    years = ruledata.get(table, "years", list, where)
    if not years or not all(isinstance(y, int) and not isinstance(y, bool) for y in years):
        raise RulesError(f"{where}: 'years' must be a non-empty list of years")
    return tuple(sorted(set(years)))


def _lines(table: Mapping[str, Any], where: str) -> Mapping[AreaKind, int]:
    lines = ruledata.get(table, "poverty_line", dict, where)
    if set(lines) != set(AreaKind):
        raise RulesError(f"{where}: 'poverty_line' must give exactly 'rural' and 'urban'")
    return MappingProxyType(
        {AreaKind(k): ruledata.get(lines, k, int, f"{where} poverty_line") for k in lines}
    )


def _band(
    table: Mapping[str, Any], lines: Mapping[AreaKind, int], where: str
) -> Mapping[AreaKind, tuple[int, int]]:
    if set(table) != set(AreaKind):
        raise RulesError(f"{where}: must give exactly 'rural' and 'urban'")
    band: dict[AreaKind, tuple[int, int]] = {}
    for key, value in table.items():
        kind = AreaKind(key)
        # The band starts where the poverty line ends: a gap or an overlap would leave some
        # incomes in no class, or in two.
        if (
            not isinstance(value, list)
            or len(value) != 2
            or value[0] != lines[kind]
            or not isinstance(value[1], int)
            or value[1] <= value[0]
        ):
            raise RulesError(
                f"{where}: '{key}' must be [poverty line, top] with top above the line, got {value!r}"
            )
        band[kind] = (value[0], value[1])
    return MappingProxyType(band)


def _indicator(table: Mapping[str, Any], where: str) -> Indicator:
    return Indicator(
        id=ruledata.get(table, "id", str, where),
        dimension=ruledata.get(table, "dimension", str, where),
        label_vi=ruledata.get(table, "label_vi", str, where),
        label_en=ruledata.get(table, "label_en", str, where),
        condition=ruledata.get(table, "condition", str, where),
        mark=ruledata.mark(table, where),
    )


def _check_disjoint(standards: tuple[Standard, ...]) -> None:
    """One year, one standard: nationally, and for each province's local standards."""
    seen: dict[tuple[str | None, int], str] = {}
    for standard in standards:
        for year in standard.years:
            key = (standard.province, year)
            if key in seen:
                raise RulesError(
                    f"poverty standards {seen[key]} and {standard.id} both cover {year}"
                    + (f" in province {standard.province}" if standard.province else "")
                )
            seen[key] = standard.id


def _area_kinds(path: Path) -> Mapping[str, AreaKind]:
    kinds = ruledata.get(ruledata.read(path), "kind", dict, path.name)
    try:
        return MappingProxyType({k: AreaKind(v) for k, v in kinds.items()})
    except ValueError as exc:
        raise RulesError(
            f"{path.name}: every commune type must be 'urban' or 'rural': {exc}"
        ) from exc
