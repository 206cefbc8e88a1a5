"""khudan.domain.deprivation: each test names the rule (DEP-01..14) it checks.

The builders start from a household deprived of nothing and change one answer, so each case shows
the edge of one indicator.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from khudan.domain.deprivation import Household, apply_overrides, derive, form_field
from khudan.domain.poverty import load_catalogue

YEAR = 2026
DATA = Path(__file__).with_name("data")

# An adult the indicators have nothing to say about.
ADULT = {
    "m_sex": "nam",
    "m_birth_year": "1986",
    "m_schooling": "da_thoi_hoc",
    "m_education": "thpt",
    "m_work": "tu_lam_nong",
    "m_health_insurance": "yes",
    "m_social_allowance": "khong",
}
DWELLING = {
    "wall": "be_tong",
    "column": "be_tong",
    "roof": "be_tong",
    "floor_area": "100",
    "water_source": "nuoc_may",
    "latrine": "tu_hoai",
    "internet": "yes",
    "devices": "tivi",
    "loudspeaker": "yes",
}


def member(age: int | None = None, **answers: str) -> dict[str, str]:
    """ADULT with an age in the review year and other answers; age None leaves the birth year blank."""
    birth_year = "" if age is None else str(YEAR - age)
    return {**ADULT, "m_birth_year": birth_year, **answers}


def household(members: list[dict[str, str]] | None = None, **answers: str) -> Household:
    members = [member(40)] if members is None else members
    return Household.from_answers(
        {"household_size": str(len(members)), **DWELLING, **answers}, members, YEAR
    )


def child(age: int, **answers: str) -> dict[str, str]:
    at_school = {"m_schooling": "dang_hoc_tieu_hoc", "m_education": "", "m_work": ""}
    return member(age, **{**at_school, "m_child_nutrition": "binh_thuong", **answers})


def indicator(h: Household, indicator_id: str) -> bool | None:
    return derive(h, load_catalogue().national(h.year))[indicator_id]


def case(rule: str, indicator_id: str, deprived: bool, *members, **answers):
    """One row: the household built from members (default: one adult) and dwelling answers."""
    h = household(list(members) if members else None, **answers)
    return pytest.param(h, indicator_id, deprived, id=rule)


@pytest.mark.parametrize(
    ("h", "indicator_id", "deprived"),
    [
        case("DEP-01-man-61-unemployed", "employment", True, member(61, m_work="that_nghiep")),
        case("DEP-01-man-62-unemployed", "employment", False, member(62, m_work="that_nghiep")),
        case("DEP-01-woman-56", "employment", True, member(56, m_sex="nu", m_work="that_nghiep")),
        case("DEP-01-woman-57", "employment", False, member(57, m_sex="nu", m_work="that_nghiep")),
        case("DEP-01-age-15-unemployed", "employment", True, member(15, m_work="that_nghiep")),
        case("DEP-01-age-14-unemployed", "employment", False, member(14, m_work="that_nghiep")),
        case(
            "DEP-01-wages-no-contract",
            "employment",
            True,
            member(30, m_work="lam_cong", m_contract="khong_hd"),
        ),
        case(
            "DEP-01-wages-contract",
            "employment",
            False,
            member(30, m_work="lam_cong", m_contract="co_hd"),
        ),
        case("DEP-01-homemaker", "employment", False, member(30, m_work="noi_tro")),
        case("DEP-01-sex-blank", "employment", False, member(30, m_sex="", m_work="that_nghiep")),
        case(
            "DEP-02-exactly-half", "dependants", False, child(10), child(12), member(40), member(40)
        ),
        case(
            "DEP-02-three-of-five",
            "dependants",
            True,
            child(10),
            child(12),
            child(14),
            member(40),
            member(40),
        ),
        case("DEP-02-15-of-30", "dependants", False, *[child(8)] * 15, *[member(40)] * 15),
        case("DEP-02-15-of-29-is-51pct", "dependants", True, *[child(8)] * 15, *[member(40)] * 14),
        case("DEP-02-age-16-not-a-child", "dependants", False, child(15), member(16)),
        case("DEP-02-age-15-is-a-child", "dependants", True, child(15), child(15), member(16)),
        case(
            "DEP-02-elderly-allowance",
            "dependants",
            True,
            *[member(70, m_social_allowance="cao_tuoi")] * 2,
            member(40),
        ),
        case(
            "DEP-02-disability-allowance",
            "dependants",
            True,
            *[member(40, m_social_allowance="khuyet_tat")] * 2,
            member(40),
        ),
        case(
            "DEP-02-other-allowance",
            "dependants",
            False,
            *[member(70, m_social_allowance="khac")] * 2,
            member(40),
        ),
        case(
            "DEP-02-elderly-no-allowance", "dependants", False, member(80), member(80), member(40)
        ),
        case("DEP-03-age-15-stunted", "nutrition", True, child(15, m_child_nutrition="thap_coi")),
        case("DEP-03-age-16-stunted", "nutrition", False, child(16, m_child_nutrition="thap_coi")),
        case("DEP-03-underweight", "nutrition", True, child(4, m_child_nutrition="nhe_can")),
        case("DEP-03-both", "nutrition", True, child(4, m_child_nutrition="ca_hai")),
        case("DEP-03-no-record", "nutrition", False, child(4, m_child_nutrition="khong_ro")),
        case("DEP-04-age-6-uninsured", "health_insurance", True, child(6, m_health_insurance="no")),
        case(
            "DEP-04-age-5-uninsured", "health_insurance", False, child(5, m_health_insurance="no")
        ),
        case(
            "DEP-04-age-80-uninsured", "health_insurance", True, member(80, m_health_insurance="no")
        ),
        case("DEP-04-blank", "health_insurance", False, member(40, m_health_insurance="")),
        case("DEP-05-17-primary-only", "adult_education", True, member(17, m_education="tieu_hoc")),
        case("DEP-05-17-lower-secondary", "adult_education", False, member(17, m_education="thcs")),
        case("DEP-05-18-lower-secondary", "adult_education", True, member(18, m_education="thcs")),
        case("DEP-05-18-vocational", "adult_education", False, member(18, m_education="so_cap")),
        case(
            "DEP-05-enterprise-training",
            "adult_education",
            False,
            member(25, m_education="dao_tao_dn"),
        ),
        case("DEP-05-age-30", "adult_education", True, member(30, m_education="tieu_hoc")),
        case("DEP-05-age-31", "adult_education", False, member(31, m_education="tieu_hoc")),
        case("DEP-05-age-15", "adult_education", False, member(15, m_education="tieu_hoc")),
        case(
            "DEP-05-studying-now",
            "adult_education",
            False,
            member(16, m_education="tieu_hoc", m_schooling="dang_hoc_thpt"),
        ),
        case(
            "DEP-06-age-3-not-at-school",
            "child_schooling",
            True,
            child(3, m_schooling="chua_di_hoc"),
        ),
        case("DEP-06-age-2", "child_schooling", False, child(2, m_schooling="chua_di_hoc")),
        case(
            "DEP-06-age-6-preschool",
            "child_schooling",
            False,
            child(6, m_schooling="dang_hoc_mam_non"),
        ),
        case(
            "DEP-06-age-7-preschool",
            "child_schooling",
            True,
            child(7, m_schooling="dang_hoc_mam_non"),
        ),
        case(
            "DEP-06-age-11-primary",
            "child_schooling",
            False,
            child(11, m_schooling="dang_hoc_tieu_hoc"),
        ),
        case(
            "DEP-06-age-12-primary",
            "child_schooling",
            True,
            child(12, m_schooling="dang_hoc_tieu_hoc"),
        ),
        case(
            "DEP-06-age-12-lower-secondary",
            "child_schooling",
            False,
            child(12, m_schooling="dang_hoc_thcs"),
        ),
        case(
            "DEP-06-age-15-dropped-out",
            "child_schooling",
            True,
            child(15, m_schooling="da_thoi_hoc"),
        ),
        case(
            "DEP-06-age-16-dropped-out",
            "child_schooling",
            False,
            member(16, m_schooling="da_thoi_hoc"),
        ),
        case("DEP-07-one-of-three", "housing_quality", False, roof="la_tranh"),
        case("DEP-07-two-of-three", "housing_quality", True, roof="la_tranh", column="tre_go_tap"),
        case(
            "DEP-07-three-of-three",
            "housing_quality",
            True,
            roof="la_tranh",
            column="khac",
            wall="dat_vach",
        ),
        case("DEP-07-other-is-non-durable", "housing_quality", True, wall="khac", roof="khac"),
        case(
            "DEP-07-durable",
            "housing_quality",
            False,
            roof="ngoi",
            column="sat_thep_go",
            wall="go_kim_loai",
        ),
        case("DEP-08-exactly-8", "housing_area", False, *[member(40)] * 4, floor_area="32"),
        case("DEP-08-under-8", "housing_area", True, *[member(40)] * 4, floor_area="31.9"),
        case("DEP-08-7.2", "housing_area", True, *[member(40)] * 5, floor_area="36.0"),
        case("DEP-08-blank", "housing_area", False, floor_area=""),
        case("DEP-09-protected-well", "water", False, water_source="gieng_dao_bv"),
        case("DEP-09-unprotected-well", "water", True, water_source="gieng_dao_kbv"),
        case("DEP-09-bottled", "water", False, water_source="nuoc_dong_chai"),
        case("DEP-09-tanker", "water", True, water_source="nuoc_xe_bon"),
        case("DEP-09-blank", "water", True, water_source=""),
        case("DEP-10-ventilated-pit", "sanitation", False, latrine="chim_thong_hoi"),
        case("DEP-10-simple-pit", "sanitation", True, latrine="ho_don_gian"),
        case("DEP-10-none", "sanitation", True, latrine="khong_co"),
        case("DEP-11-phone-only", "telecom", True, internet="phone_only"),
        case("DEP-11-nothing", "telecom", True, internet="no"),
        case("DEP-12-nothing", "information", True, devices="none", loudspeaker="no"),
        case("DEP-12-devices-blank", "information", True, devices="", loudspeaker="no"),
        case("DEP-12-loudspeaker", "information", False, devices="none", loudspeaker="yes"),
        case(
            "DEP-12-radio-and-computer",
            "information",
            False,
            devices="radio may_tinh",
            loudspeaker="no",
        ),
    ],
)
def test_indicator_edges(h, indicator_id, deprived):
    assert indicator(h, indicator_id) is deprived


def test_empty_roster_has_no_dependants():
    """DEP-02: the form guards the division with count(member) > 0."""
    assert indicator(household([]), "dependants") is False


def test_household_deprived_of_nothing():
    """DEP-01..12: the builders' base household."""
    assert not any(derive(household(), load_catalogue().national(YEAR)).values())


@pytest.mark.parametrize(
    ("year", "deprived"),
    [
        pytest.param(2026, True, id="DEP-04-born-2020-is-6-in-2026"),
        pytest.param(2025, False, id="DEP-04-born-2020-is-5-in-2025"),
    ],
)
def test_age_is_counted_in_the_review_year(year, deprived):
    members = [{**ADULT, "m_birth_year": "2020", "m_health_insurance": "no"}]
    h = Household.from_answers({"household_size": "1", **DWELLING}, members, year)
    assert (h.members[0].age, indicator(h, "health_insurance")) == (year - 2020, deprived)


def test_blank_birth_year_matches_no_age_condition():
    """DEP-02, DEP-04: as in XPath, an empty age compares false."""
    h = household([member(None, m_health_insurance="no")])
    assert (indicator(h, "dependants"), indicator(h, "health_insurance")) == (False, False)


@pytest.mark.parametrize(
    ("year", "expected_ids"),
    [
        pytest.param(
            2026,
            [
                "employment",
                "dependants",
                "nutrition",
                "health_insurance",
                "adult_education",
                "child_schooling",
                "housing_quality",
                "housing_area",
                "water",
                "sanitation",
                "telecom",
                "information",
            ],
            id="DEP-13-2026-all-twelve",
        ),
        pytest.param(
            2027,
            [
                "employment",
                "dependants",
                "health_insurance",
                "nutrition",
                "adult_education",
                "child_schooling",
                "housing_area",
                "housing_quality",
                "telecom",
                "water",
                "sanitation",
                "waste_treatment",
            ],
            id="DEP-13-2027-waste-not-collected",
        ),
    ],
)
def test_derive_follows_the_standard_of_the_year(year, expected_ids):
    h = household(internet="no")
    derived = derive(h, load_catalogue().national(year))
    assert list(derived) == expected_ids
    assert derived["telecom"] is True
    assert {k for k, v in derived.items() if v is None} == (
        {"waste_treatment"} if year >= 2027 else set()
    )


def test_only_waste_treatment_is_not_computed_by_the_form():
    """DEP-13: every other indicator of every shipped standard has a calculate in the form."""
    ids = {i.id for standard in load_catalogue().standards for i in standard.indicators}
    fields = {i: form_field(i) for i in ids}
    assert {i for i, field in fields.items() if field is None} == {"waste_treatment"}
    assert all(field == f"ind_{i}" for i, field in fields.items() if field)


@pytest.mark.parametrize(
    ("derived", "answers", "expected"),
    [
        pytest.param(
            {"water": True},
            {"ovr_water": "yes"},
            {"water": False},
            id="DEP-14-flip-to-not-deprived",
        ),
        pytest.param(
            {"sanitation": False},
            {"ovr_sanitation": "yes"},
            {"sanitation": True},
            id="DEP-14-flip-to-deprived",
        ),
        pytest.param(
            {"water": True}, {"ovr_water": "no"}, {"water": True}, id="DEP-14-no-override"
        ),
        pytest.param({"water": True}, {}, {"water": True}, id="DEP-14-override-absent"),
        pytest.param(
            {"waste_treatment": None},
            {"ovr_waste_treatment": "yes"},
            {"waste_treatment": None},
            id="DEP-14-not-assessed-stays",
        ),
    ],
)
def test_apply_overrides(derived, answers, expected):
    assert apply_overrides(derived, answers) == expected


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        pytest.param({"household_size": "four"}, "household_size", id="DEP-08-size-not-a-number"),
        pytest.param({"floor_area": "big"}, "floor_area", id="DEP-08-area-not-a-number"),
    ],
)
def test_number_fields_must_hold_numbers(answers, words):
    with pytest.raises(ValueError, match=words):
        household(**answers)


def read_submission(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Non-repeat leaves by field name, and one mapping of leaves per <member>."""
    root = ET.parse(path).getroot()
    answers: dict[str, str] = {}
    members: list[dict[str, str]] = []

    def walk(element: ET.Element) -> None:
        for node in element:
            if node.tag == "member":
                members.append({leaf.tag: (leaf.text or "").strip() for leaf in node})
            elif len(node):
                walk(node)
            else:
                answers[node.tag] = (node.text or "").strip()

    walk(root)
    return answers, members


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("pov1.xml", id="DEP-all-pov1-2025"),
        pytest.param("pov2.xml", id="DEP-all-pov2-2026"),
    ],
)
def test_derive_agrees_with_the_form_filled_by_javarosa(name):
    """DEP-01..14: the server's values equal the form's own ind_* and fin_* in a real submission."""
    answers, members = read_submission(DATA / name)
    year = int(answers["period"])
    h = Household.from_answers(answers, members, year)
    derived = derive(h, load_catalogue().national(year))
    final = apply_overrides(derived, answers)
    form_derived = {i: answers[form_field(i)] == "1" for i in derived}
    form_final = {i: answers[f"fin_{i}"] == "1" for i in derived}
    assert derived == form_derived
    assert final == form_final
    assert sum(final.values()) == int(answers["deprivation_count"])
