"""Domain checks of the shipped forms' answers (server/domain/checks.py): CHK-01 roster size and
CHK-02 household code format. Pure: answers in, issues out."""

from __future__ import annotations

from pathlib import Path

import pytest

from khudan.domain.checks import HOUSEHOLD_CODE, Issue, check, household_code_format, roster_size
from khudan.services.forms import convert_xlsform
from khudan.xforms.answers import read_answers
from khudan.xforms.schema import read_xform
from khudan.xforms.submission import read_submission

FORMS = Path(__file__).resolve().parents[2] / "forms"
SAMPLES = Path(__file__).parent / "domain" / "data"
PATHS = {
    "household_size": "/data/household/household_size",
    "household_code": "/data/household/household_code",
    "respondent_household": "/data/respondent/respondent_household",
}


def members(n: int) -> dict[str, list[dict[str, str]]]:
    return {"member": [{"m_name": f"M{i}"} for i in range(n)]} if n else {}


@pytest.mark.parametrize(
    ("size", "listed", "expected"),
    [
        pytest.param("4", 4, [], id="CHK-01-equal"),
        pytest.param("5", 4, ["household_size=5 members=4"], id="CHK-01-fewer-listed"),
        pytest.param("1", 2, ["household_size=1 members=2"], id="CHK-01-more-listed"),
        pytest.param("3", 0, ["household_size=3 members=0"], id="CHK-01-none-listed"),
        pytest.param("", 2, [], id="CHK-01-size-missing-is-validations"),
        pytest.param("ba", 2, [], id="CHK-01-size-not-a-number-is-validations"),
    ],
)
def test_roster_size(size, listed, expected):
    issues = roster_size({"household_size": size}, members(listed), PATHS)
    assert [i.value for i in issues] == expected
    assert all(
        i.path == "/data/household/household_size" and i.rule == "roster-size" for i in issues
    )


def test_roster_issue_says_both_numbers_in_both_languages():
    (issue,) = roster_size({"household_size": "5"}, members(4), PATHS)
    assert issue.message_vi == "Số nhân khẩu khai là 5 nhưng danh sách có 4 thành viên."
    assert issue.message_en == "The household size is 5 but 4 members are listed."


@pytest.mark.parametrize(
    ("code", "flagged"),
    [
        pytest.param("NC-T01-017", False, id="CHK-02-ok"),
        pytest.param("hh_01.a", False, id="CHK-02-dot-underscore"),
        pytest.param("", False, id="CHK-02-empty-is-not-this-checks"),
        pytest.param("Hộ 01", True, id="CHK-02-accent-and-space"),
        pytest.param("x" * 31, True, id="CHK-02-too-long"),
        pytest.param("a/b", True, id="CHK-02-slash"),
    ],
)
def test_household_code_format(code, flagged):
    issues = household_code_format({"household_code": code}, PATHS)
    assert [(i.path, i.rule, i.value) for i in issues] == (
        [("/data/household/household_code", "household-code-format", code)] if flagged else []
    )


def test_household_code_of_the_satisfaction_survey():
    issues = household_code_format({"respondent_household": "hộ 1"}, PATHS)
    assert [i.path for i in issues] == ["/data/respondent/respondent_household"]


def test_household_code_said_once_when_the_forms_constraint_already_did():
    said = Issue("/data/household/household_code", "constraint", "hộ 1", "vi", "en")
    assert household_code_format({"household_code": "hộ 1"}, PATHS, [said]) == []


@pytest.mark.parametrize("name", ["poverty_review", "cultural_family", "satisfaction_survey"])
def test_household_code_regex_is_the_shipped_forms_constraint(name):
    fields = read_xform(convert_xlsform((FORMS / f"{name}.xlsx").read_bytes())[0]).fields
    constraints = {
        f["name"]: f.get("constraint")
        for f in fields
        if f["name"] in ("household_code", "respondent_household")
    }
    assert list(constraints.values()) == [f"regex(., '{HOUSEHOLD_CODE.pattern}')"]


def answers_of(sample: str, form: str):
    fields = read_xform(convert_xlsform((FORMS / f"{form}.xlsx").read_bytes())[0]).fields
    return read_answers(read_submission((SAMPLES / sample).read_bytes()).root, fields)


@pytest.mark.parametrize(
    ("sample", "form"),
    [
        ("pov1.xml", "poverty_review"),
        ("pov2.xml", "poverty_review"),
        ("cf.xml", "cultural_family"),
        ("sat.xml", "satisfaction_survey"),
    ],
)
def test_javarosa_filled_samples_pass_the_domain_checks(sample, form):
    a = answers_of(sample, form)
    assert check(a.values, a.repeats, a.paths) == []


def test_check_runs_every_rule_that_applies():
    a = answers_of("pov1.xml", "poverty_review")
    a.values["household_code"] = "Hộ 17"
    a.repeats["member"].pop()
    issues = check(a.values, a.repeats, a.paths)
    assert [(i.path, i.rule) for i in issues] == [
        ("/data/household/household_size", "roster-size"),
        ("/data/household/household_code", "household-code-format"),
    ]
