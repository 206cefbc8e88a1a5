"""What the characteristic tables (8)-(11) count about a household besides its class: the target
groups it belongs to, its head's ethnicity, the causes of its poverty and the support it needs.

Rule IDs (tests name the one they check):

- CHR-01 ``no_labour_capacity``: no member of working age (DEP-01's ages) who can work, i.e.
  none whose work status is other than "unable to work" and who has no severe disability.
- CHR-02 ``meritorious``: the form's "người có công" question answered yes.
- CHR-03 ``social_assistance``: a member receives a monthly social allowance (any kind).
- CHR-04 ``ethnic_minority``: the head's ethnicity is not the majority (Kinh); a form without the
  ethnicity question answers the yes/no question instead.
- CHR-05 causes and support: the codes chosen that the rule file lists, in its order; others
  (an older form's) are dropped.

The lists, their order, labels and sources are data (rules/household_characteristics.toml).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from . import ruledata
from .deprivation import WORKING_AGE
from .ruledata import RULES_DIR, Mark

RULES_FILE = "household_characteristics.toml"
UNABLE_TO_WORK = "mat_kha_nang"
SEVERE_DISABILITY = frozenset({"nang", "dac_biet_nang"})
NO_ALLOWANCE = "khong"


@dataclass(frozen=True, slots=True)
class Ethnicity:
    code: str
    number: int  # its number in the General Statistics Office's list
    name: str


@dataclass(frozen=True, slots=True)
class Catalogue:
    target_groups: tuple[tuple[str, str], ...]  # (id, Vietnamese heading), in table order
    causes: tuple[tuple[str, str], ...]
    support: tuple[tuple[str, str], ...]
    ethnicities: tuple[Ethnicity, ...]
    majority: str
    sources: Mapping[str, tuple[str, Mark]]  # list -> (source, mark)

    def ethnicity_name(self, code: str | None) -> str:
        return next((e.name for e in self.ethnicities if e.code == code), code or "")


@dataclass(frozen=True, slots=True)
class Characteristics:
    """One household's answers, as the tables count them."""

    ethnicity: str | None
    ethnic_minority: bool | None
    no_labour_capacity: bool
    meritorious: bool | None
    social_assistance: bool
    causes: tuple[str, ...]
    support: tuple[str, ...]


def of(
    answers: Mapping[str, str],
    members: Sequence[Mapping[str, str]],
    year: int,
    catalogue: Catalogue,
) -> Characteristics:
    """CHR-01..05 for one household (``members``: one mapping per ``member`` repeat)."""
    ethnicity = answers.get("ethnicity") or None
    if ethnicity is not None:
        minority: bool | None = ethnicity != catalogue.majority
    else:
        minority = {"yes": True, "no": False}.get(answers.get("ethnic_minority") or "")
    return Characteristics(
        ethnicity=ethnicity,
        ethnic_minority=minority,
        no_labour_capacity=not any(_can_work(m, year) for m in members),
        meritorious={"yes": True, "no": False}.get(answers.get("meritorious") or ""),
        social_assistance=any(
            (m.get("m_social_allowance") or NO_ALLOWANCE) != NO_ALLOWANCE for m in members
        ),
        causes=_chosen(answers.get("poverty_causes"), catalogue.causes),
        support=_chosen(answers.get("support_needs"), catalogue.support),
    )


def _can_work(member: Mapping[str, str], year: int) -> bool:
    try:
        age = year - int(member.get("m_birth_year") or "")
    except ValueError:
        return False
    first, last = WORKING_AGE.get(member.get("m_sex") or "", (15, 61))
    return (
        first <= age <= last
        and member.get("m_work") != UNABLE_TO_WORK
        and member.get("m_disability") not in SEVERE_DISABILITY
    )


def _chosen(value: str | None, listed: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    picked = set((value or "").split())
    return tuple(code for code, _ in listed if code in picked)


@cache
def load_catalogue(rules_dir: str = str(RULES_DIR)) -> Catalogue:
    data = ruledata.read(Path(rules_dir) / RULES_FILE)
    sources = {}
    lists = {}
    for name in ("target_groups", "causes", "support", "ethnicities"):
        table = data.get(name)
        where = f"{RULES_FILE} [{name}]"
        if not isinstance(table, dict):
            raise ruledata.RulesError(f"{where}: missing")
        sources[name] = (
            ruledata.get(table, "source", str, where),
            ruledata.mark(table, where),
        )
        lists[name] = {k: v for k, v in table.items() if k not in ("source", "mark", "majority")}
    for name in ("target_groups", "causes", "support"):
        for key, label in lists[name].items():
            if not isinstance(label, str):
                raise ruledata.RulesError(f"{RULES_FILE} [{name}]: '{key}' must be text")
    ethnicities = []
    for code, value in lists["ethnicities"].items():
        if not (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], int)
            and isinstance(value[1], str)
        ):
            raise ruledata.RulesError(
                f"{RULES_FILE} [ethnicities]: '{code}' must be [number, name]"
            )
        ethnicities.append(Ethnicity(code, value[0], value[1]))
    majority = ruledata.get(data["ethnicities"], "majority", str, f"{RULES_FILE} [ethnicities]")
    if majority not in lists["ethnicities"]:
        raise ruledata.RulesError(f"{RULES_FILE} [ethnicities]: majority '{majority}' not listed")
    return Catalogue(
        target_groups=tuple(lists["target_groups"].items()),
        causes=tuple(lists["causes"].items()),
        support=tuple(lists["support"].items()),
        ethnicities=tuple(ethnicities),
        majority=majority,
        sources=sources,
    )
