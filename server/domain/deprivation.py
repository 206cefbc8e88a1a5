"""The deprivation indicators of a household, recomputed from the poverty review form's raw answers.

The server does not take the form's ``ind_*`` calculates on trust: it recomputes every indicator
from the answers and records a problem on the submission where the two disagree (an outdated form
on a phone, an edited or hand-made submission). So this module computes exactly what
forms/poverty_review.xlsx computes, approximations included (they are why a rule here may look
rougher than the decree; see rules/poverty_*.toml for the conditions and their marks):

- DEP-01 employment: a member of working age (age 15-61 for men, 15-56 for women, roughly the
  2025-26 retirement ages) is unemployed but able and wanting to work (m_work=that_nghiep), or works
  for wages without a labour contract. Civil servants answer "has a contract".
- DEP-02 dependants: more than half the members are dependants: under 16, or on a monthly social
  allowance as elderly or disabled (the disability level itself is not used). Exactly half is not.
- DEP-03 nutrition: a child under 16 is stunted, underweight or both; "no weighing record" is not.
- DEP-04 health insurance: a member aged 6 or over has no card.
- DEP-05 adult education: a member aged 16-30 not studying now, without lower-secondary (16-17) or
  upper-secondary / vocational / certified enterprise training (18-30).
- DEP-06 child schooling: a child aged 3-15 not at an age-right level, with a year of tolerance
  because age is a year difference: 3-6 any level, 7-11 primary or above, 12-15 lower-secondary or
  above.
- DEP-07 housing quality: at least 2 of walls, columns and roof are non-durable ("other" counts as
  non-durable).
- DEP-08 housing area: floor area divided by household size is under 8 m²; exactly 8 is not.
- DEP-09 water: the main source is not one of the clean sources (a tanker truck is not clean).
- DEP-10 sanitation: the latrine is not of a hygienic type.
- DEP-11 telecom: no member uses the internet (a phone subscription alone does not count).
- DEP-12 information: none of TV, radio or computer, and the loudspeakers cannot be heard.
- DEP-13 an indicator the form does not collect (waste treatment, from 2027) is None, never "not
  deprived", so that counts and reports can say it was not assessed.
- DEP-14 override: ``ovr_<id> = yes`` flips the derived value, as the form's ``fin_*`` does: the
  reviewer's justified judgement is what the village meeting examines.

Age is the review year minus the year of birth (the form asks no birth date). As in the form's
XPath, an unanswered age or code matches no condition: an unanswered water source is "not clean",
a member with no birth year is not a child. The form requires these answers, so blanks come from
questions its relevance hides (m_contract unless wage work) or from submissions it did not produce.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from .poverty import Standard

# Choice codes of forms/poverty_review.xlsx that the rules test for (a test checks each against the
# form's choice lists, so a renamed choice cannot silently change a result).
WORKING_AGE = MappingProxyType({"nam": (15, 61), "nu": (15, 56)})  # sex -> (first, last) age
UNEMPLOYED = "that_nghiep"
WAGE_WORK = "lam_cong"
NO_CONTRACT = "khong_hd"
DEPENDANT_ALLOWANCES = frozenset({"cao_tuoi", "khuyet_tat"})
MALNOURISHED = frozenset({"thap_coi", "nhe_can", "ca_hai"})
IN_SCHOOL_PREFIX = "dang_hoc"  # every "currently attending" schooling code starts with it
QUALIFIED_18_30 = frozenset({"thpt", "so_cap", "trung_cap", "cao_dang", "dai_hoc", "dao_tao_dn"})
QUALIFIED_16_17 = QUALIFIED_18_30 | {"thcs"}
SCHOOLING_12_15 = frozenset({"dang_hoc_thcs", "dang_hoc_thpt", "dang_hoc_gdnn"})
SCHOOLING_7_11 = SCHOOLING_12_15 | {"dang_hoc_tieu_hoc"}
DURABLE_WALLS = frozenset({"be_tong", "gach_da", "go_kim_loai"})
DURABLE_COLUMNS = frozenset({"be_tong", "gach_da", "sat_thep_go"})
DURABLE_ROOFS = frozenset({"be_tong", "ngoi", "tam_lop"})
CLEAN_WATER = frozenset(
    {"nuoc_may", "gieng_khoan", "gieng_dao_bv", "nuoc_khe_bv", "nuoc_mua", "nuoc_dong_chai"}
)
HYGIENIC_LATRINES = frozenset({"tu_hoai", "tham_doi", "hai_ngan", "chim_thong_hoi"})
INTERNET_USER = "yes"
INFORMATION_DEVICES = frozenset({"tivi", "radio", "may_tinh"})
YES, NO = "yes", "no"  # the yes_no list


@dataclass(frozen=True, slots=True)
class Member:
    """One ``member`` repeat instance: what the indicators read (None = unanswered)."""

    age: int | None  # review year - m_birth_year, the form's m_age
    sex: str | None
    schooling: str | None
    education: str | None
    work: str | None
    contract: str | None
    health_insurance: str | None
    social_allowance: str | None
    child_nutrition: str | None

    @classmethod
    def from_answers(cls, answers: Mapping[str, str], year: int) -> Member:
        birth_year = _int(answers, "m_birth_year")
        return cls(
            age=None if birth_year is None else year - birth_year,
            sex=_code(answers, "m_sex"),
            schooling=_code(answers, "m_schooling"),
            education=_code(answers, "m_education"),
            work=_code(answers, "m_work"),
            contract=_code(answers, "m_contract"),
            health_insurance=_code(answers, "m_health_insurance"),
            social_allowance=_code(answers, "m_social_allowance"),
            child_nutrition=_code(answers, "m_child_nutrition"),
        )


@dataclass(frozen=True, slots=True)
class Household:
    """A household as the poverty review form describes it (None = unanswered)."""

    year: int  # the review year (period); ages are counted in it
    size: int | None  # household_size: the form divides the floor area by it, not by the roster
    members: tuple[Member, ...]
    wall: str | None
    column: str | None
    roof: str | None
    floor_area: float | None  # m²
    water_source: str | None
    latrine: str | None
    internet: str | None
    devices: frozenset[str]  # select_multiple: the space-separated codes
    loudspeaker: str | None

    @classmethod
    def from_answers(
        cls, answers: Mapping[str, str], members: Sequence[Mapping[str, str]], year: int
    ) -> Household:
        """From the form's non-repeat answers by field name and one mapping per ``member``.

        Raises ValueError when a number field holds text that is not a number; ingest validates
        types against the form first, so that means a bug, not a collector's mistake.
        """
        return cls(
            year=year,
            size=_int(answers, "household_size"),
            members=tuple(Member.from_answers(m, year) for m in members),
            wall=_code(answers, "wall"),
            column=_code(answers, "column"),
            roof=_code(answers, "roof"),
            floor_area=_float(answers, "floor_area"),
            water_source=_code(answers, "water_source"),
            latrine=_code(answers, "latrine"),
            internet=_code(answers, "internet"),
            devices=frozenset(answers.get("devices", "").split()),
            loudspeaker=_code(answers, "loudspeaker"),
        )


def derive(household: Household, standard: Standard) -> dict[str, bool | None]:
    """Indicator id -> deprived, for every indicator of the standard, in its order (DEP-01..13)."""
    return {
        indicator.id: rule(household) if (rule := _RULES.get(indicator.id)) else None
        for indicator in standard.indicators
    }


def form_field(indicator_id: str) -> str | None:
    """The poverty review form's calculate holding its own value of an indicator; None when the
    form does not compute that indicator (DEP-13), so there is nothing to compare."""
    return f"ind_{indicator_id}" if indicator_id in _RULES else None


def apply_overrides(
    derived: Mapping[str, bool | None], answers: Mapping[str, str]
) -> dict[str, bool | None]:
    """DEP-14: the values after the collector's overrides (``ovr_<id> = yes`` flips one)."""
    return {
        id_: (not value) if value is not None and answers.get(f"ovr_{id_}") == YES else value
        for id_, value in derived.items()
    }


def _under(age: int | None, limit: int) -> bool:
    return age is not None and age < limit


def _between(age: int | None, first: int, last: int) -> bool:
    return age is not None and first <= age <= last


def _in_school(m: Member) -> bool:
    return (m.schooling or "").startswith(IN_SCHOOL_PREFIX)


def _employment(h: Household) -> bool:
    def flagged(m: Member) -> bool:
        ages = WORKING_AGE.get(m.sex or "")
        working_age = ages is not None and _between(m.age, *ages)
        return working_age and (
            m.work == UNEMPLOYED or (m.work == WAGE_WORK and m.contract == NO_CONTRACT)
        )

    return any(flagged(m) for m in h.members)


def _dependants(h: Household) -> bool:
    dependants = sum(
        _under(m.age, 16) or m.social_allowance in DEPENDANT_ALLOWANCES for m in h.members
    )
    return len(h.members) > 0 and 2 * dependants > len(h.members)


def _nutrition(h: Household) -> bool:
    return any(_under(m.age, 16) and m.child_nutrition in MALNOURISHED for m in h.members)


def _health_insurance(h: Household) -> bool:
    return any(m.age is not None and m.age >= 6 and m.health_insurance == NO for m in h.members)


def _adult_education(h: Household) -> bool:
    def flagged(m: Member) -> bool:
        if not _between(m.age, 16, 30) or _in_school(m):
            return False
        qualified = QUALIFIED_16_17 if _under(m.age, 18) else QUALIFIED_18_30
        return m.education not in qualified

    return any(flagged(m) for m in h.members)


def _child_schooling(h: Household) -> bool:
    def flagged(m: Member) -> bool:
        if not _between(m.age, 3, 15):
            return False
        if _between(m.age, 3, 6):
            return not _in_school(m)
        if _between(m.age, 7, 11):
            return m.schooling not in SCHOOLING_7_11
        return m.schooling not in SCHOOLING_12_15

    return any(flagged(m) for m in h.members)


def _housing_quality(h: Household) -> bool:
    non_durable = (
        (h.wall not in DURABLE_WALLS)
        + (h.column not in DURABLE_COLUMNS)
        + (h.roof not in DURABLE_ROOFS)
    )
    return non_durable >= 2


def _housing_area(h: Household) -> bool:
    # XPath: an empty number is NaN and x div 0 is infinite; neither is below 8.
    if h.floor_area is None or not h.size:
        return False
    return h.floor_area / h.size < 8


def _water(h: Household) -> bool:
    return h.water_source not in CLEAN_WATER


def _sanitation(h: Household) -> bool:
    return h.latrine not in HYGIENIC_LATRINES


def _telecom(h: Household) -> bool:
    return h.internet != INTERNET_USER


def _information(h: Household) -> bool:
    return not (h.devices & INFORMATION_DEVICES) and h.loudspeaker != YES


# Indicator id -> rule. The ids are the suffixes of the form's ind_<id>, ovr_<id> and fin_<id>.
_RULES: Mapping[str, Callable[[Household], bool]] = MappingProxyType(
    {
        "employment": _employment,
        "dependants": _dependants,
        "nutrition": _nutrition,
        "health_insurance": _health_insurance,
        "adult_education": _adult_education,
        "child_schooling": _child_schooling,
        "housing_quality": _housing_quality,
        "housing_area": _housing_area,
        "water": _water,
        "sanitation": _sanitation,
        "telecom": _telecom,
        "information": _information,
    }
)


def _code(answers: Mapping[str, str], name: str) -> str | None:
    return answers.get(name, "").strip() or None


def _int(answers: Mapping[str, str], name: str) -> int | None:
    text = answers.get(name, "").strip()
    try:
        return int(text) if text else None
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a whole number") from None


def _float(answers: Mapping[str, str], name: str) -> float | None:
    text = answers.get(name, "").strip()
    try:
        return float(text) if text else None
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a number") from None
