"""khudan.domain.satisfaction: each test names the rule (SAT-01..04) it checks."""

from __future__ import annotations

from fractions import Fraction

import pytest

from khudan.domain.ruledata import Mark, NotCovered, RulesError
from khudan.domain.satisfaction import default_set, load_sets, summarize


@pytest.mark.parametrize(
    ("commune_type", "year", "expected"),
    [
        pytest.param("xa", 2022, "qd318_2022", id="SAT-01-xa-2022"),
        pytest.param("xa", 2025, "qd318_2022", id="SAT-01-xa-2025"),
        pytest.param("xa", 2026, "qd51_2025", id="SAT-01-xa-2026"),
        pytest.param("xa", 2030, "qd51_2025", id="SAT-01-xa-2030"),
        pytest.param("phuong", 2025, "qd04_2022", id="SAT-01-phuong-2025"),
        pytest.param("phuong", 2027, "qd04_2022", id="SAT-01-phuong-2027"),
        pytest.param("dac_khu", 2026, None, id="SAT-01-dac-khu-collector-chooses"),
        pytest.param("", 2026, None, id="SAT-01-type-unknown"),
    ],
)
def test_default_set(commune_type, year, expected):
    assert default_set(commune_type, year) == expected


@pytest.mark.parametrize(
    ("set_id", "size", "pass_share", "pass_mark", "participation"),
    [
        pytest.param(
            "qd318_2022", 19, Fraction(4, 5), Mark.PARTLY, Fraction(7, 10), id="SAT-04-qd318"
        ),
        pytest.param(
            "qd51_2025", 10, Fraction(4, 5), Mark.UNVERIFIED, Fraction(7, 10), id="SAT-04-qd51"
        ),
        pytest.param("qd04_2022", 9, Fraction(9, 10), Mark.VERIFIED, None, id="SAT-04-qd04"),
    ],
)
def test_sets_and_thresholds(set_id, size, pass_share, pass_mark, participation):
    criteria_set = load_sets().criteria_set(set_id)
    assert [i.id for i in criteria_set.items] == [f"s_{set_id}_{n}" for n in range(1, size + 1)]
    assert (criteria_set.pass_share.share, criteria_set.pass_share.mark) == (pass_share, pass_mark)
    assert (criteria_set.participation and criteria_set.participation.share) == participation


def test_summarize_sorts_items_by_answer():
    """SAT-02, SAT-03: answers to other sets' items are ignored."""
    answers = {f"s_qd04_2022_{n}": "hai_long" for n in range(1, 10)}
    answers |= {"s_qd04_2022_2": "chua_hai_long", "s_qd04_2022_9": "", "agree": "no"}
    answers |= {"s_qd318_2022_1": "chua_hai_long"}
    result = summarize(answers, "qd04_2022")
    assert result.set_id == "qd04_2022"
    assert result.satisfied == tuple(f"s_qd04_2022_{n}" for n in (1, 3, 4, 5, 6, 7, 8))
    assert result.not_satisfied == ("s_qd04_2022_2",)
    assert result.unanswered == ("s_qd04_2022_9",)
    assert result.agree is False


@pytest.mark.parametrize(
    ("agree", "expected"),
    [
        pytest.param("yes", True, id="SAT-03-yes"),
        pytest.param("no", False, id="SAT-03-no"),
        pytest.param("", None, id="SAT-03-blank"),
    ],
)
def test_agree(agree, expected):
    assert summarize({"agree": agree}, "qd51_2025").agree is expected


@pytest.mark.parametrize(
    ("answers", "set_id", "error"),
    [
        pytest.param({}, "qd999", NotCovered, id="SAT-02-unknown-set"),
        pytest.param(
            {"s_qd51_2025_1": "rat_hai_long"}, "qd51_2025", ValueError, id="SAT-02-unknown-answer"
        ),
        pytest.param({"agree": "maybe"}, "qd51_2025", ValueError, id="SAT-03-unknown-answer"),
    ],
)
def test_summarize_refuses_what_the_rules_do_not_know(answers, set_id, error):
    with pytest.raises(error):
        summarize(answers, set_id)


def test_overlapping_defaults_are_refused_at_load(rules_dir):
    """SAT-01: with two defaults for one year, the pick would depend on their order."""
    path = rules_dir / "satisfaction_sets.toml"
    path.write_text(path.read_text().replace("first_year = 2026", "first_year = 2025"))
    with pytest.raises(RulesError, match="overlap for 'xa'"):
        load_sets(rules_dir)


def test_default_from_an_edited_rule_file(rules_dir):
    """SAT-01: đặc khu can be given a default by data alone."""
    path = rules_dir / "satisfaction_sets.toml"
    path.write_text(
        path.read_text() + '\n[[default]]\ncommune_type = "dac_khu"\nset = "qd51_2025"\n'
    )
    assert default_set("dac_khu", 2026, load_sets(rules_dir)) == "qd51_2025"
