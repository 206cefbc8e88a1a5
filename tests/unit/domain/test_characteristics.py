"""CHR-01..05: what tables (8)-(11) count about a household, from its answers."""

from __future__ import annotations

import pytest

from khudan.domain import characteristics as chr_
from khudan.domain.ruledata import RulesError

CAT = chr_.load_catalogue()


def member(sex="nam", born=1980, work="lam_cong", disability="khong", allowance="khong"):
    return {
        "m_sex": sex,
        "m_birth_year": str(born),
        "m_work": work,
        "m_disability": disability,
        "m_social_allowance": allowance,
    }


@pytest.mark.parametrize(
    ("members", "idle"),
    [
        ([member()], False),  # CHR-01: a working-age man who can work
        ([member(born=1950, work="huu_tri")], True),  # only a man of 76
        ([member(born=2015)], True),  # only a child of 11
        ([member(work="mat_kha_nang")], True),  # working age, unable to work
        ([member(disability="dac_biet_nang")], True),  # working age, very severe disability
        ([member(sex="nu", born=1968)], True),  # a woman of 58: past DEP-01's working age
        ([member(sex="nu", born=1968), member(born=2008)], False),  # a son of 18 can work
        ([], True),
    ],
)
def test_chr01_no_labour_capacity(members, idle):
    assert chr_.of({}, members, 2026, CAT).no_labour_capacity is idle


def test_chr02_to_04_groups_and_ethnicity():
    traits = chr_.of(
        {"meritorious": "yes", "ethnicity": "gia_rai", "ethnic_minority": "no"},
        [member(allowance="khuyet_tat")],
        2026,
        CAT,
    )
    assert traits.meritorious is True and traits.social_assistance is True
    # The ethnicity decides, not a contradicting yes/no answer.
    assert (traits.ethnicity, traits.ethnic_minority) == ("gia_rai", True)
    assert chr_.of({"ethnicity": "kinh"}, [], 2026, CAT).ethnic_minority is False
    # An older form asked only yes/no: that answer stands, the ethnicity is unknown.
    older = chr_.of({"ethnic_minority": "yes"}, [member()], 2026, CAT)
    assert (older.ethnicity, older.ethnic_minority, older.meritorious) == (None, True, None)
    assert older.social_assistance is False
    assert CAT.ethnicity_name("gia_rai") == "Gia-rai" and len(CAT.ethnicities) == 54


def test_chr05_causes_and_support_in_the_rule_files_order():
    traits = chr_.of(
        {"poverty_causes": "om_dau thieu_dat retired_code", "support_needs": "nha_o y_te"},
        [],
        2026,
        CAT,
    )
    assert traits.causes == ("thieu_dat", "om_dau")  # an unknown code is dropped
    assert traits.support == ("y_te", "nha_o")


def test_a_broken_rule_file_names_itself(rules_dir):
    path = rules_dir / chr_.RULES_FILE
    path.write_text(path.read_text(encoding="utf-8").replace('kinh = [1, "Kinh"]', 'kinh = "Kinh"'))
    with pytest.raises(RulesError, match=r"\[ethnicities\]: 'kinh' must be \[number, name\]"):
        chr_.load_catalogue(str(rules_dir))
