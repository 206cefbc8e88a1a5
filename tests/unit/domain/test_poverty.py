"""khudan.domain.poverty: each test names the rule (POV-01..07) it checks."""

from __future__ import annotations

import pytest

from khudan.domain.poverty import AreaKind, PovertyClass, classify, load_catalogue
from khudan.domain.ruledata import Mark, NotCovered, RulesError

RURAL, URBAN = AreaKind.RURAL, AreaKind.URBAN
POOR, NEAR, MEDIUM, NOT_POOR = (
    PovertyClass.POOR,
    PovertyClass.NEAR_POOR,
    PovertyClass.MEDIUM,
    PovertyClass.NOT_POOR,
)


@pytest.mark.parametrize(
    ("year", "kind", "income", "deprived", "expected"),
    [
        pytest.param(2026, RURAL, 1_500_000, 3, POOR, id="POV-01-rural-at-line-3-deprived"),
        pytest.param(2026, RURAL, 1_500_000, 12, POOR, id="POV-01-rural-at-line-all-deprived"),
        pytest.param(2022, RURAL, 0, 3, POOR, id="POV-01-rural-no-income-2022"),
        pytest.param(2026, RURAL, 1_500_000, 2, NEAR, id="POV-02-rural-at-line-2-deprived"),
        pytest.param(2026, RURAL, 0, 0, NEAR, id="POV-02-rural-no-income-none-deprived"),
        # One dong above the line is no longer poor or near-poor, whatever the deprivations.
        pytest.param(2026, RURAL, 1_500_001, 3, MEDIUM, id="POV-03-rural-line-plus-1"),
        pytest.param(2026, RURAL, 2_250_000, 12, MEDIUM, id="POV-03-rural-band-top"),
        pytest.param(2026, RURAL, 2_250_001, 3, NOT_POOR, id="POV-04-rural-band-top-plus-1"),
        pytest.param(2026, URBAN, 2_000_000, 3, POOR, id="POV-01-urban-at-line-3-deprived"),
        pytest.param(2026, RURAL, 2_000_000, 3, MEDIUM, id="POV-03-same-income-rural-is-medium"),
        pytest.param(2026, URBAN, 2_000_000, 2, NEAR, id="POV-02-urban-at-line-2-deprived"),
        pytest.param(2026, URBAN, 2_000_001, 3, MEDIUM, id="POV-03-urban-line-plus-1"),
        pytest.param(2026, URBAN, 3_000_000, 0, MEDIUM, id="POV-03-urban-band-top"),
        pytest.param(2026, URBAN, 3_000_001, 9, NOT_POOR, id="POV-04-urban-band-top-plus-1"),
        # The same household in 2027: the new line makes it poor.
        pytest.param(2027, RURAL, 2_000_000, 3, POOR, id="POV-05-same-household-2027-poor"),
        pytest.param(2027, RURAL, 2_200_000, 3, POOR, id="POV-01-2027-rural-at-line"),
        pytest.param(2027, RURAL, 2_200_000, 2, NEAR, id="POV-02-2027-rural-at-line"),
        # 2027-2030 has no medium band: above the line is simply not poor.
        pytest.param(2027, RURAL, 2_200_001, 3, NOT_POOR, id="POV-03-2027-no-band"),
        pytest.param(2030, URBAN, 2_800_000, 3, POOR, id="POV-01-2030-urban-at-line"),
        pytest.param(2030, URBAN, 2_800_000, 2, NEAR, id="POV-02-2030-urban-at-line"),
        pytest.param(2030, URBAN, 2_800_001, 12, NOT_POOR, id="POV-04-2030-urban-line-plus-1"),
    ],
)
def test_classify(year, kind, income, deprived, expected):
    standard = load_catalogue().national(year)
    assert classify(income, deprived, kind, standard) is expected


@pytest.mark.parametrize(
    ("income", "deprived"),
    [
        pytest.param(-1, 0, id="POV-01-negative-income"),
        pytest.param(1_000_000, -1, id="POV-01-negative-count"),
        pytest.param(1_000_000, 13, id="POV-01-more-than-12-deprived"),
    ],
)
def test_classify_refuses_impossible_inputs(income, deprived):
    with pytest.raises(ValueError):
        classify(income, deprived, RURAL, load_catalogue().national(2026))


@pytest.mark.parametrize(
    ("year", "standard_id"),
    [
        pytest.param(2022, "nd07_2021", id="POV-05-2022"),
        pytest.param(2025, "nd07_2021", id="POV-05-2025"),
        pytest.param(2026, "nd07_2021", id="POV-05-2026-keeps-nd07"),
        pytest.param(2027, "nd351_2025", id="POV-05-2027"),
        pytest.param(2030, "nd351_2025", id="POV-05-2030"),
    ],
)
def test_national_standard_by_review_year(year, standard_id):
    assert load_catalogue().has_year(year)
    assert load_catalogue().national(year).id == standard_id


@pytest.mark.parametrize(
    "year", [pytest.param(2021, id="POV-05-2021"), pytest.param(2031, id="POV-05-2031")]
)
def test_unknown_year_is_a_clear_error(year):
    assert not load_catalogue().has_year(year)
    with pytest.raises(NotCovered, match=rf"review year {year}.*nd07_2021 2022-2026.*poverty_"):
        load_catalogue().national(year)


@pytest.mark.parametrize(
    ("year", "lines", "band", "dropped", "added"),
    [
        pytest.param(
            2026,
            {RURAL: 1_500_000, URBAN: 2_000_000},
            {RURAL: (1_500_000, 2_250_000), URBAN: (2_000_000, 3_000_000)},
            None,
            None,
            id="POV-05-nd07",
        ),
        pytest.param(
            2027,
            {RURAL: 2_200_000, URBAN: 2_800_000},
            None,
            "information",
            "waste_treatment",
            id="POV-05-nd351",
        ),
    ],
)
def test_standard_contents(year, lines, band, dropped, added):
    standard = load_catalogue().national(year)
    ids = [i.id for i in standard.indicators]
    assert dict(standard.poverty_line) == lines
    assert (dict(standard.medium_band) if standard.medium_band else None) == band
    assert standard.min_deprivations == 3
    assert standard.province is None
    assert len(ids) == 12
    assert len({i.dimension for i in standard.indicators}) == 6
    assert all(isinstance(i.mark, Mark) for i in standard.indicators)
    assert dropped not in ids
    assert added is None or added in ids


@pytest.mark.parametrize(
    ("commune_type", "kind"),
    [
        pytest.param("xa", RURAL, id="POV-06-xa"),
        pytest.param("phuong", URBAN, id="POV-06-phuong"),
        pytest.param("dac_khu", RURAL, id="POV-06-dac-khu-default"),
        pytest.param("thi_tran", URBAN, id="POV-06-thi-tran-before-2025"),
    ],
)
def test_area_kind_from_commune_type(commune_type, kind):
    assert load_catalogue().area_kind(commune_type) is kind


def test_unknown_commune_type_names_the_rule_file():
    """POV-06"""
    with pytest.raises(NotCovered, match=r"'huyen'.*area_kinds\.toml"):
        load_catalogue().area_kind("huyen")


def test_dac_khu_is_configurable(rules_dir):
    """POV-06"""
    path = rules_dir / "area_kinds.toml"
    path.write_text(path.read_text().replace('dac_khu = "rural"', 'dac_khu = "urban"'))
    assert load_catalogue(rules_dir).area_kind("dac_khu") is URBAN


def test_packaged_catalogue_is_read_once_and_has_no_local_standard():
    """POV-07: none is verified, so none ships active."""
    assert load_catalogue() is load_catalogue()
    assert load_catalogue().local_standards == ()
    assert load_catalogue().local("52", 2027) is None


GIA_LAI = """
[[standard]]
id = "gia_lai_2027_2028"
province = "52"
name = "Chuẩn nghèo riêng tỉnh Gia Lai"
source = "test"
years = [2027, 2028]
poverty_line = { rural = 2_500_000, urban = 3_000_000 }
"""


def uncommented_example(text: str, first_line: str) -> str:
    """The commented example at the end of a shipped rule file, made active."""
    example = text[text.index(f"# {first_line}") :]
    return "\n".join(line.removeprefix("#").strip() for line in example.splitlines())


def test_documented_local_standard_example_is_valid(rules_dir):
    """POV-07: an admin who uncomments the example gets a working local standard."""
    path = rules_dir / "local_standards.toml"
    path.write_text(uncommented_example(path.read_text(), "[[standard]]"))
    local = load_catalogue(rules_dir).local("52", 2030)
    assert local is not None
    assert local.poverty_line[RURAL] > load_catalogue().national(2030).poverty_line[RURAL]


def test_local_standard_inherits_the_national_indicators(rules_dir):
    """POV-07"""
    (rules_dir / "local_standards.toml").write_text(GIA_LAI)
    catalogue = load_catalogue(rules_dir)
    local = catalogue.local("52", 2027)
    national = catalogue.national(2027)
    assert local is not None
    assert (local.id, local.province, local.years) == ("gia_lai_2027_2028", "52", (2027, 2028))
    assert local.indicators == national.indicators
    assert local.min_deprivations == national.min_deprivations
    assert local.medium_band is None
    assert catalogue.local("52", 2029) is None
    assert catalogue.local("01", 2027) is None
    # A household between the two lines is poor only under the local standard.
    assert classify(2_400_000, 3, RURAL, national) is NOT_POOR
    assert classify(2_400_000, 3, RURAL, local) is POOR


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param(
            GIA_LAI.replace("rural = 2_500_000", "rural = 2_200_000"),
            "above the national line",
            id="POV-07-line-not-above-national",
        ),
        pytest.param(
            GIA_LAI.replace("[2027, 2028]", "[2026, 2027]"),
            "one national standard",
            id="POV-07-years-span-two-periods",
        ),
        pytest.param(
            GIA_LAI + GIA_LAI.replace('id = "gia_lai_2027_2028"', 'id = "other"'),
            "both cover 2027 in province 52",
            id="POV-07-two-local-standards-one-year",
        ),
        pytest.param(
            GIA_LAI.replace("poverty_line = { rural = 2_500_000, ", "poverty_line = { "),
            "exactly 'rural' and 'urban'",
            id="POV-07-line-missing",
        ),
        pytest.param(
            GIA_LAI.replace("[[standard]]", "[standard]"),
            r"\[\[standard\]\]",
            id="POV-07-single-brackets",
        ),
        pytest.param("[[standard]\n", "not valid TOML", id="POV-07-not-toml"),
    ],
)
def test_bad_local_standard_is_refused_at_load(rules_dir, text, words):
    (rules_dir / "local_standards.toml").write_text(text)
    with pytest.raises(RulesError, match=words):
        load_catalogue(rules_dir)


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        pytest.param(
            "years = [2022, 2023, 2024, 2025, 2026]",
            "years = [2022, 2023, 2024, 2025, 2026, 2027]",
            "both cover 2027",
            id="POV-05-two-standards-one-year",
        ),
        pytest.param(
            "rural = [1_500_000, 2_250_000]",
            "rural = [1_400_000, 2_250_000]",
            "poverty line, top",
            id="POV-03-band-not-starting-at-line",
        ),
        pytest.param(
            "min_deprivations = 3",
            "min_deprivations = true",
            "must be a whole number",
            id="POV-01-min-not-a-number",
        ),
        pytest.param('mark = "M"', 'mark = "X"', "V, P or M", id="POV-05-unknown-mark"),
    ],
)
def test_bad_national_standard_is_refused_at_load(rules_dir, old, new, words):
    path = rules_dir / "poverty_2022_2026.toml"
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(RulesError, match=words):
        load_catalogue(rules_dir)
