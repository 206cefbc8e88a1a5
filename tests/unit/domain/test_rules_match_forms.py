"""The rule data and the shipped XLSForms name the same fields and choice codes.

A renamed field or choice in forms/*.xlsx would otherwise make a rule silently read nothing, and an
unanswered code counts as "not clean water" or "criterion not met".
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import openpyxl
import pytest

from khudan.domain import deprivation as dep
from khudan.domain.characteristics import load_catalogue as load_characteristics
from khudan.domain.cultural_family import load_catalogue as load_cultural_family
from khudan.domain.poverty import load_catalogue as load_poverty
from khudan.domain.satisfaction import load_sets

FORMS = Path(__file__).resolve().parents[3] / "forms"


@cache
def sheet(form: str, name: str) -> tuple[dict[str, str], ...]:
    workbook = openpyxl.load_workbook(FORMS / f"{form}.xlsx", read_only=True)
    rows = workbook[name].iter_rows(values_only=True)
    header = next(rows)
    return tuple(dict(zip(header, row, strict=True)) for row in rows if any(row))


def fields(form: str, prefix: str = "") -> list[str]:
    return [r["name"] for r in sheet(form, "survey") if (r["name"] or "").startswith(prefix)]


def choices(form: str, list_name: str) -> set[str]:
    return {r["name"] for r in sheet(form, "choices") if r["list_name"] == list_name}


def test_every_form_indicator_is_recomputed_and_overridable():
    """DEP-01..14: ind_<id>, ovr_<id> and fin_<id> exist for exactly the indicators derive computes."""
    computed = {
        dep.form_field(indicator.id)
        for standard in load_poverty().standards
        for indicator in standard.indicators
    } - {None}
    assert computed == set(fields("poverty_review", "ind_"))
    ids = [name.removeprefix("ind_") for name in fields("poverty_review", "ind_")]
    assert {f"ovr_{i}" for i in ids} <= set(fields("poverty_review", "ovr_"))
    assert {f"fin_{i}" for i in ids} == set(fields("poverty_review", "fin_"))


@pytest.mark.parametrize(
    ("codes", "list_name"),
    [
        pytest.param(set(dep.WORKING_AGE), "sex", id="DEP-01-sex"),
        pytest.param({dep.UNEMPLOYED, dep.WAGE_WORK}, "work", id="DEP-01-work"),
        pytest.param({dep.NO_CONTRACT}, "contract", id="DEP-01-contract"),
        pytest.param(dep.DEPENDANT_ALLOWANCES, "allowance", id="DEP-02-allowance"),
        pytest.param(dep.MALNOURISHED, "nutrition", id="DEP-03-nutrition"),
        pytest.param({dep.YES, dep.NO}, "yes_no", id="DEP-04-yes-no"),
        pytest.param(dep.QUALIFIED_16_17 | dep.QUALIFIED_18_30, "education", id="DEP-05-education"),
        pytest.param(dep.SCHOOLING_7_11 | dep.SCHOOLING_12_15, "schooling", id="DEP-06-schooling"),
        pytest.param(dep.DURABLE_WALLS, "wall_material", id="DEP-07-walls"),
        pytest.param(dep.DURABLE_COLUMNS, "column_material", id="DEP-07-columns"),
        pytest.param(dep.DURABLE_ROOFS, "roof_material", id="DEP-07-roofs"),
        pytest.param(dep.CLEAN_WATER, "water", id="DEP-09-water"),
        pytest.param(dep.HYGIENIC_LATRINES, "latrine", id="DEP-10-latrine"),
        pytest.param({dep.INTERNET_USER}, "internet", id="DEP-11-internet"),
        pytest.param(dep.INFORMATION_DEVICES, "devices", id="DEP-12-devices"),
    ],
)
def test_deprivation_codes_are_form_choices(codes, list_name):
    assert codes <= choices("poverty_review", list_name)


def test_in_school_prefix_marks_exactly_the_attending_codes():
    """DEP-05, DEP-06: the form tests starts-with(schooling, 'dang_hoc')."""
    attending = {
        c for c in choices("poverty_review", "schooling") if c.startswith(dep.IN_SCHOOL_PREFIX)
    }
    assert attending == {
        "dang_hoc_mam_non",
        "dang_hoc_tieu_hoc",
        "dang_hoc_thcs",
        "dang_hoc_thpt",
        "dang_hoc_gdnn",
        "dang_hoc_dai_hoc",
    }


def test_cultural_family_criteria_are_the_form_questions():
    """CF-01"""
    catalogue = load_cultural_family()
    asked = [
        r["name"] for r in sheet("cultural_family", "survey") if r["type"] == "select_one yes_no"
    ]
    assert asked == [*catalogue.criterion_ids, *catalogue.disqualifier_ids]


def test_satisfaction_items_are_the_form_questions():
    """SAT-02"""
    sets = load_sets()
    assert set(sets.sets) == choices("satisfaction_survey", "criteria_set")
    asked = [
        r["name"]
        for r in sheet("satisfaction_survey", "survey")
        if r["type"] == "select_one satisfaction"
    ]
    assert asked == list(sets.item_ids)


def test_the_characteristic_lists_are_the_forms_choices():
    """CHR-05: tables (8)-(11) count the codes the form offers, and only those."""
    catalogue = load_characteristics()
    assert {e.code for e in catalogue.ethnicities} == choices("poverty_review", "ethnicity")
    assert {c for c, _ in catalogue.causes} == choices("poverty_review", "poverty_cause")
    assert {s for s, _ in catalogue.support} == choices("poverty_review", "support_need")
    labels = {
        r["name"]: r["label::Tiếng Việt (vi)"]
        for r in sheet("poverty_review", "choices")
        if r["list_name"] == "ethnicity"
    }
    assert all(labels[e.code] == e.name for e in catalogue.ethnicities)
    assert {"ethnicity", "meritorious", "poverty_causes", "support_needs"} <= set(
        fields("poverty_review")
    )
