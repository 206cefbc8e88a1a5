"""khudan.domain.cultural_family: each test names the rule (CF-01..04) it checks."""

from __future__ import annotations

from fractions import Fraction

import pytest

from khudan.domain.cultural_family import assess, load_catalogue, thon_title
from khudan.domain.ruledata import Mark, RulesError

CRITERIA = (
    [f"c1_{n}" for n in range(1, 5)] + [f"c2_{n}" for n in range(1, 7)] + ["c3_1", "c3_2", "c3_3"]
)
DISQUALIFIERS = ["dq_1", "dq_2", "dq_3", "dq_4"]
MODEL_FAMILY = {**dict.fromkeys(CRITERIA, "yes"), **dict.fromkeys(DISQUALIFIERS, "no")}


def test_catalogue_matches_nd86():
    """CF-01: 3 groups, 13 criteria named as in the form, 4 disqualifiers of Điều 6 khoản 4."""
    catalogue = load_catalogue()
    assert [g.id for g in catalogue.groups] == ["g1", "g2", "g3"]
    assert [c.id for c in catalogue.criteria] == CRITERIA
    assert [d.id for d in catalogue.disqualifiers] == DISQUALIFIERS
    assert "86/2023" in catalogue.source
    assert catalogue.thon_default.mark is Mark.UNVERIFIED


@pytest.mark.parametrize(
    ("changes", "earned", "failed", "disqualified_by", "unanswered"),
    [
        pytest.param({}, True, (), (), (), id="CF-01-earned"),
        pytest.param({"c2_6": "no"}, False, ("c2_6",), (), (), id="CF-01-one-criterion-failed"),
        pytest.param(
            {"c1_1": "no", "c3_3": "no"}, False, ("c1_1", "c3_3"), (), (), id="CF-01-two-failed"
        ),
        pytest.param({"dq_4": "yes"}, False, (), ("dq_4",), (), id="CF-01-disqualified"),
        pytest.param(
            {"c2_6": "no", "dq_1": "yes"},
            False,
            ("c2_6",),
            ("dq_1",),
            (),
            id="CF-01-failed-and-disqualified",
        ),
        pytest.param({"c3_2": ""}, False, (), (), ("c3_2",), id="CF-02-criterion-unanswered"),
        pytest.param({"dq_2": ""}, False, (), (), ("dq_2",), id="CF-03-disqualifier-unanswered"),
    ],
)
def test_assess(changes, earned, failed, disqualified_by, unanswered):
    result = assess({**MODEL_FAMILY, **changes}, load_catalogue())
    assert (result.earned, result.failed, result.disqualified_by, result.unanswered) == (
        earned,
        failed,
        disqualified_by,
        unanswered,
    )


def test_missing_answer_counts_as_unanswered():
    """CF-02"""
    answers = {k: v for k, v in MODEL_FAMILY.items() if k != "c1_4"}
    assert assess(answers, load_catalogue()).unanswered == ("c1_4",)


def test_assess_refuses_an_answer_outside_yes_no():
    """CF-01: a code the rules do not know is a bug to surface, not a 'no'."""
    with pytest.raises(ValueError, match="c1_1"):
        assess({**MODEL_FAMILY, "c1_1": "maybe"}, load_catalogue())


@pytest.mark.parametrize(
    ("gdvh", "assessed", "earned"),
    [
        pytest.param(8, 10, True, id="CF-04-exactly-80pct"),
        pytest.param(7, 10, False, id="CF-04-70pct"),
        pytest.param(4, 5, True, id="CF-04-4-of-5"),
        pytest.param(79, 100, False, id="CF-04-79pct"),
        pytest.param(10, 10, True, id="CF-04-all"),
        pytest.param(0, 0, False, id="CF-04-no-household-assessed"),
    ],
)
def test_thon_title_default_threshold(gdvh, assessed, earned):
    assert thon_title(gdvh, assessed, "52", load_catalogue()) is earned


@pytest.mark.parametrize(
    ("gdvh", "assessed"),
    [
        pytest.param(11, 10, id="CF-04-more-than-assessed"),
        pytest.param(-1, 10, id="CF-04-negative"),
    ],
)
def test_thon_title_refuses_impossible_counts(gdvh, assessed):
    with pytest.raises(ValueError):
        thon_title(gdvh, assessed, "52", load_catalogue())


def test_documented_province_example_is_valid(rules_dir):
    """CF-04: an admin who copies the commented example gets a working province threshold."""
    path = rules_dir / "cultural_family_nd86.toml"
    lines = path.read_text().splitlines()
    start = lines.index('# [thon_title.province."52"]')
    example = [line.removeprefix("# ") for line in lines[start : start + 4]]
    path.write_text("\n".join([*lines, *example]) + "\n")
    assert load_catalogue(rules_dir).thon_threshold("52").min_gdvh_share == Fraction(85, 100)


def test_province_override_applies_to_that_province_only(rules_dir):
    """CF-04"""
    path = rules_dir / "cultural_family_nd86.toml"
    path.write_text(
        path.read_text()
        + '\n[thon_title.province."52"]\nmin_gdvh_share = 0.9\nmark = "V"\nsource = "test"\n'
    )
    catalogue = load_catalogue(rules_dir)
    assert thon_title(8, 10, "52", catalogue) is False
    assert thon_title(9, 10, "52", catalogue) is True
    assert thon_title(8, 10, "01", catalogue) is True


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        pytest.param(
            "min_gdvh_share = 0.8\n",
            "min_gdvh_share = 80\n",
            "between 0 and 1",
            id="CF-04-share-as-percent",
        ),
        pytest.param(
            'id = "c1_2"', 'id = "c1_1"', "'c1_1' appears twice", id="CF-01-duplicate-criterion"
        ),
    ],
)
def test_bad_rule_file_is_refused_at_load(rules_dir, old, new, words):
    path = rules_dir / "cultural_family_nd86.toml"
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(RulesError, match=words):
        load_catalogue(rules_dir)
