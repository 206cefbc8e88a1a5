"""Poverty results per area and period, against figures worked out by hand.

Households (JavaRosa-filled poverty reviews with their answers changed; 8 deprivations each unless
"near", where the collector's justified overrides leave 2: water and sanitation). All have 5
persons, one of them on a social allowance, none of meritorious service, causes "thiếu vốn" and
"thiếu kỹ năng" and need credit, education and housing support, except C in 2026: a person of
meritorious service, "thiếu đất", health support.

  Xã Nhơn Châu (21607, rural, line 1,500,000)      2024   2025       2026
    Thôn Bắc T01 (120 households in the registry)
      A                                                    poor       not poor, then re-reviewed poor
      B                                                    poor       near-poor
      C                                                    not poor   poor
      D                                            poor    not poor   poor                (fell back)
      E                                                    near-poor  not poor
    Thôn Trung T02 (no total in the registry)
      F  ethnic minority (Ba-na), approved                            poor
      G  rejected                                                     poor
  Phường Quy Nhơn Bắc (21553, urban, line 2,000,000)
    Tổ dân phố K01
      H  1,900,000, approved                                          poor (medium if rural)
      I  2,500,000                                                    medium
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from factories import domain_sample

from khudan.services import areas, forms
from khudan.services.reports import standard_indicators

FORMS = Path(__file__).resolve().parents[2] / "forms"
SAMPLES = Path(__file__).resolve().parents[1] / "unit" / "domain" / "data"
POOR, NEAR, RICH = 1_200_000, "near", 5_000_000
FLIPPED = (
    "employment",
    "nutrition",
    "health_insurance",
    "adult_education",
    "housing_quality",
    "housing_area",
)


def review(
    collector,
    period: str,
    commune: str,
    area: str,
    code: str,
    income,
    dtts: bool = False,
    **answers: str,
) -> str:
    """``answers``: other answers of pov1.xml to change, by field name (e.g. meritorious="yes")."""
    near = income == NEAR
    replace = {
        "<period>2025<": f"<period>{period}<",
        "<commune>21607<": f"<commune>{commune}<",
        "<area_code>21607.T01<": f"<area_code>{area}<",
        "NC-T01-017": code,
        "<income_per_capita>1200000<": f"<income_per_capita>{POOR if near else income}<",
        "<ethnic_minority>no<": f"<ethnic_minority>{'yes' if dtts else 'no'}<",
        "<ethnicity>kinh<": f"<ethnicity>{'ba_na' if dtts else 'kinh'}<",
        "fa22d4b7-ce38-4004-900a-b698b0fd8ee7": str(uuid.uuid4()),
    }
    sample = (SAMPLES / "pov1.xml").read_text(encoding="utf-8")
    for name, value in answers.items():
        said = re.search(f"<{name}>[^<]*</{name}>", sample).group(0)
        replace[said] = f"<{name}>{value}</{name}>"
    if near:
        for name in FLIPPED:
            replace[f"<ovr_{name}>no<"] = f"<ovr_{name}>yes<"
    replies = collector.submit(domain_sample("pov1.xml", **replace))
    assert [r.status for r in replies] == [201]
    return code


@pytest.fixture
def households(registry, db, storage, collector, client, login):
    forms.publish_xlsform(db, storage, FORMS / "poverty_review.xlsx", validate=False)
    t01, t02, k01 = "21607.T01", "21607.T02", "21553.K01"
    for period, code, income in [
        ("2025", "A", POOR),
        ("2026", "A", RICH),
        ("2026", "A", POOR),
        ("2025", "B", POOR),
        ("2026", "B", NEAR),
        ("2025", "C", RICH),
        ("2024", "D", POOR),
        ("2025", "D", RICH),
        ("2026", "D", POOR),
        ("2025", "E", NEAR),
        ("2026", "E", RICH),
    ]:
        review(collector, period, "21607", t01, code, income)
    # C: the one household with a person of meritorious service, its own cause and support.
    c = {"meritorious": "yes", "poverty_causes": "thieu_dat", "support_needs": "y_te"}
    review(collector, "2026", "21607", t01, "C", POOR, **c)
    review(collector, "2026", "21607", t02, "F", POOR, dtts=True)
    review(collector, "2026", "21607", t02, "G", POOR)
    review(collector, "2026", "21553", k01, "H", 1_900_000)
    review(collector, "2026", "21553", k01, "I", 2_500_000)
    admin = login()
    listed = client.get("/api/v1/submissions?period=2026&per_page=100", headers=admin).json
    by_code = {item["household_code"]: item["id"] for item in listed["items"]}
    for code, state, comment in [
        ("F", "approved", None),
        ("H", "approved", None),
        ("G", "rejected", "Trùng hộ khác"),
    ]:
        r = client.patch(
            f"/api/v1/submissions/{by_code[code]}",
            headers=admin,
            json={"review_state": state, "comment": comment},
        )
        assert r.status_code == 200, r.json
    return admin


def area(body: dict, code: str) -> dict:
    def find(nodes):
        for node in nodes:
            if node["code"] == code:
                return node
            found = find(node.get("children", []))
            if found:
                return found
        return None

    return find(body["areas"])


def test_poverty_figures_roll_up_from_thon_to_province(client, households):
    r = client.get("/api/v1/reports/poverty?period=2026&area=52&depth=3", headers=households)
    assert r.status_code == 200, r.json
    province = area(r.json, "52")["all"]
    assert province["reviewed"] == 8  # G was rejected; A counts once (its latest review)
    assert province["classes"] == {"poor": 5, "near_poor": 1, "medium": 1, "not_poor": 1}
    assert province["urban"] == {"poor": 1, "near_poor": 0, "medium": 1, "not_poor": 0}
    assert province["rural"] == {"poor": 4, "near_poor": 1, "medium": 0, "not_poor": 1}
    assert province["ethnic_minority"]["poor"] == 1
    # Deprivation of the 5 poor (8 each) and, apart, of the near-poor (E's overrides leave water
    # and sanitation), with a column for every indicator of the 2026 standard, in its order.
    poor, near = province["deprivation"]["poor"], province["deprivation"]["near_poor"]
    ids = [i.id for i in standard_indicators("2026")]
    assert list(poor["households"]) == list(near["share"]) == ids
    assert (poor["households"]["water"], poor["share"]["water"]) == (5, 1.0)
    assert (poor["households"]["employment"], poor["share"]["employment"]) == (5, 1.0)
    assert (poor["households"]["telecom"], poor["share"]["telecom"]) == (0, 0.0)
    assert (near["households"]["water"], near["share"]["water"]) == (1, 1.0)
    assert (near["households"]["employment"], near["share"]["employment"]) == (0, 0.0)
    # The official rate is of the registry, over the same units: only T01 has a count (120).
    assert province["rates"]["poor"] == 0.025
    assert province["rate_base"]["households"] == 120
    assert province["rate_base"]["reviewed_left_out"] == 3  # F (T02), H and I (K01)
    assert province["rate_base"]["units_left_out"] > 2  # T02, K01 and communes without thôn
    assert province["share_of_reviewed"]["poor"] == 0.625  # a different figure: 5 of 8

    commune = area(r.json, "21607")
    assert commune["all"]["classes"]["poor"] == 4 and commune["all"]["reviewed"] == 6
    # T02 has no registry total: its poor household F is not in the rate, and the row says so.
    assert commune["all"]["rates"]["poor"] == 0.025
    assert commune["all"]["rate_base"] == {
        "households": 120,
        "units_left_out": 1,
        "reviewed_left_out": 1,
    }
    assert commune["all"]["share_of_reviewed"]["poor"] == 0.6667
    t01 = area(r.json, "21607.T01")
    assert t01["households_total"] == 120
    assert t01["all"]["classes"] == {"poor": 3, "near_poor": 1, "medium": 0, "not_poor": 1}
    assert t01["all"]["rates"]["poor"] == 0.025  # 3 of the 120 households
    assert t01["all"]["rate_base"] == {
        "households": 120,
        "units_left_out": 0,
        "reviewed_left_out": 0,
    }
    ward = area(r.json, "21553")
    assert ward["all"]["classes"] == {"poor": 1, "near_poor": 0, "medium": 1, "not_poor": 0}


def test_approved_only_figures_stand_beside_all(client, households):
    r = client.get("/api/v1/reports/poverty?period=2026&area=52&depth=1", headers=households)
    province = area(r.json, "52")
    assert province["approved"]["reviewed"] == 2  # F and H
    assert province["approved"]["classes"]["poor"] == 2
    assert province["all"]["reviewed"] == 8


def test_a_thon_nobody_reviewed_has_no_rate_not_zero(client, households, db):
    with db.session() as s:  # 80 households in the registry, none reviewed yet
        areas.import_areas(
            s,
            [
                {
                    "commune_code": "21607",
                    "code": "T09",
                    "name": "Thôn Mới",
                    "households_total": "80",
                }
            ],
        )
        s.commit()
    r = client.get("/api/v1/reports/poverty?period=2026&area=21607&depth=1", headers=households)
    t09 = area(r.json, "21607.T09")
    assert (t09["households_total"], t09["all"]["reviewed"]) == (80, 0)
    assert t09["all"]["rates"] == {
        "poor": None,
        "near_poor": None,
        "medium": None,
        "not_poor": None,
    }
    t01 = area(r.json, "21607.T01")  # reviewed, but none of it approved yet: no approved rate
    assert t01["approved"]["reviewed"] == 0 and t01["approved"]["rates"]["poor"] is None
    assert t01["all"]["rates"]["poor"] == 0.025


def test_transitions_in_the_official_categories(client, households):
    r = client.get("/api/v1/reports/poverty/transitions?period=2026", headers=households)
    assert r.status_code == 200
    assert r.json["previous_period"] == "2025"
    # A stays poor; B escapes to near-poor; C newly poor from not poor; D fell back (poor 2024,
    # not 2025); F and H are reviewed for the first time; E leaves near-poverty upwards.
    assert r.json["poor"] == {
        "start": 2,
        "escaped_to_near_poor": 1,
        "escaped_above": 0,
        "not_reviewed": 0,
        "still": 1,
        "fell_back": 1,
        "new_from_near_poor": 0,
        "new_from_not_poor": 1,
        "new_first_reviewed": 2,
        "end": 5,
    }
    assert r.json["near_poor"] == {
        "start": 1,
        "became_poor": 0,
        "escaped_above": 1,
        "not_reviewed": 0,
        "still": 0,
        "fell_back": 0,
        "new_from_poor": 1,
        "new_from_not_poor": 0,
        "new_first_reviewed": 0,
        "end": 1,
    }
    # Per unit: the communes of the province.
    units = {u["code"]: u for u in r.json["units"]}
    assert set(units) == {"21607", "21553"}
    assert units["21607"]["poor"]["end"] == 4 and units["21607"]["poor"]["new_first_reviewed"] == 1
    assert units["21553"]["poor"]["new_first_reviewed"] == 1 and units["21553"]["poor"]["end"] == 1


def test_transitions_honour_approved_only_and_name_the_households(client, households):
    r = client.get(
        "/api/v1/reports/poverty/transitions?period=2026&counts=approved", headers=households
    )
    assert r.json["poor"]["start"] == 0 and r.json["poor"]["new_first_reviewed"] == 2
    assert r.json["poor"]["end"] == 2 and "households" not in r.json  # F and H
    r = client.get(
        "/api/v1/reports/poverty/transitions?period=2026&area=21607&households=true",
        headers=households,
    )
    listed = r.json["households"]["poor"]
    assert [h["household_code"] for h in listed["fell_back"]] == ["D"]
    assert [h["household_code"] for h in listed["escaped_to_near_poor"]] == ["B"]
    assert listed["fell_back"][0]["head_name"] == "Nguyễn Văn Hải"
    assert listed["fell_back"][0]["area_code"] == "21607.T01"


def test_a_supervisor_sees_only_their_subtree(client, households, login):
    ward = login("hoa", "supervisor", areas=("21553",))
    r = client.get("/api/v1/reports/poverty?period=2026", headers=ward)
    assert [a["code"] for a in r.json["areas"]] == ["21553"]
    assert r.json["areas"][0]["all"]["reviewed"] == 2
    assert (
        client.get("/api/v1/reports/poverty?period=2026&area=21607", headers=ward).status_code
        == 404
    )
    assert (
        client.get("/api/v1/reports/poverty?period=2026&area=52", headers=ward).status_code == 404
    )
    moves = client.get("/api/v1/reports/poverty/transitions?period=2026", headers=ward).json
    assert moves["poor"]["new_first_reviewed"] == moves["poor"]["end"] == 1  # H only
    assert sum(moves["poor"].values()) == 2
    assert [u["code"] for u in moves["units"]] == ["21553.K01"]


def test_bad_period_is_422_and_collectors_are_refused(client, households, login):
    r = client.get("/api/v1/reports/poverty?period=26", headers=households)
    assert r.status_code == 422 and "period" in r.json["details"]["errors"]
    collector = login("c1", "collector", areas=("21607",))
    assert client.get("/api/v1/reports/poverty?period=2026", headers=collector).status_code == 403


def test_cli_prints_the_table_and_json(households, database_url, tmp_path):
    import json

    from click.testing import CliRunner

    from khudan.cli import main

    env = {
        "KHUDAN_DATABASE_URL": database_url,
        "KHUDAN_SECRET_KEY": "x",
        "KHUDAN_INSTANCE_DIR": str(tmp_path / "i"),
        "KHUDAN_MEDIA_ROOT": str(tmp_path / "m"),
    }
    r = CliRunner().invoke(
        main, ["reports", "poverty", "--period", "2026", "--area", "21607"], env=env
    )
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "Kỳ 2026 (không bị từ chối)"
    assert lines[2].split()[:2] == ["21607", "Xã"] and "4" in lines[2].split()
    assert any(line.strip().startswith("21607.T01") and "2.5" in line for line in lines)
    r = CliRunner().invoke(
        main, ["reports", "poverty", "--period", "2026", "--area", "52", "--json"], env=env
    )
    assert json.loads(r.output)["areas"][0]["approved"]["reviewed"] == 2
    r = CliRunner().invoke(main, ["reports", "transitions", "--period", "2026"], env=env)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "Kỳ 2025 → 2026"
    assert lines[1].split() == ["HỘ", "NGHÈO", "SỐ", "HỘ"]
    assert lines[2].split() == ["Số", "hộ", "nghèo", "đầu", "kỳ", "2"]
    assert "+ Tái nghèo" in r.output and lines[-1].split()[-1] == "1"  # near-poor at the end
    r = CliRunner().invoke(
        main, ["reports", "transitions", "--period", "2026", "--households"], env=env
    )
    assert "Tái nghèo: D Nguyễn Văn Hải (21607.T01)" in r.output


def assess_families(collector, **replace: str) -> None:
    """cf.xml as sent (NC-T02-044 in Thôn Trung: c2_6 not met, disqualified by dq_4), and two
    more households there that earn the title; ``replace`` changes all three (e.g. the year)."""
    assert [r.status for r in collector.submit(domain_sample("cf.xml", **replace))] == [201]
    for code in ("NC-T02-045", "NC-T02-046"):
        earned = domain_sample(
            "cf.xml",
            **replace,
            **{
                "NC-T02-044": code,
                "<c2_6>no<": "<c2_6>yes<",
                "<dq_4>yes<": "<dq_4>no<",
                "c02c8659-6e5e-4994-aa0a-fafab043e766": str(uuid.uuid4()),
            },
        )
        assert [r.status for r in collector.submit(earned)] == [201]


def test_cultural_family_rates_most_failed_and_thon_title(
    client, registry, db, storage, collector, login
):
    forms.publish_xlsform(db, storage, FORMS / "cultural_family.xlsx", validate=False)
    # cf.xml: c2_6 not met and disqualifier dq_4; two more households in Thôn Trung earn it.
    assess_families(collector)
    r = client.get(
        "/api/v1/reports/cultural-family?period=2025&area=21607&depth=1", headers=login()
    )
    assert r.status_code == 200, r.json
    [commune] = r.json["areas"]
    figures = commune["all"]
    assert (figures["assessed"], figures["earned"], figures["rate"]) == (3, 2, 0.6667)
    assert figures["most_failed"] == [{"criterion": "c2_6", "households": 1}]
    assert figures["disqualified"] == 1 and commune["approved"]["assessed"] == 0
    thon = next(c for c in commune["children"] if c["code"] == "21607.T02")["all"]
    assert thon["assessed"] == 3
    # Thôn Trung has no registry count: its title cannot be judged, never "Chưa đạt".
    assert thon["thon_title"]["status"] == "khong_du_du_lieu"
    [excluded] = thon["disqualified_households"]
    assert (
        excluded["household_code"] == "NC-T02-044" and "bạo lực gia đình" in excluded["reasons"][0]
    )
    # Thôn Bắc (120 households) nobody assessed: "chưa đánh giá".
    bac = next(c for c in commune["children"] if c["code"] == "21607.T01")["all"]
    assert bac["assessed"] == 0 and bac["thon_title"]["status"] == "chua_danh_gia"
    assert bac["thon_title"]["label_vi"] == "Chưa đánh giá"


def test_thon_van_hoa_is_judged_on_the_registrys_households(
    client, registry, db, storage, collector, login
):
    """10 of Thôn Bắc's 120 households assessed, all earning the family title: 100 % of those
    assessed, but 8.3 % of the thôn's households, under the 80 % minimum."""
    forms.publish_xlsform(db, storage, FORMS / "cultural_family.xlsx", validate=False)
    for n in range(10):
        earned = domain_sample(
            "cf.xml",
            **{
                "NC-T02-044": f"NC-T01-{n:03d}",
                "21607.T02<": "21607.T01<",
                "<c2_6>no<": "<c2_6>yes<",
                "<dq_4>yes<": "<dq_4>no<",
                "c02c8659-6e5e-4994-aa0a-fafab043e766": str(uuid.uuid4()),
            },
        )
        assert [r.status for r in collector.submit(earned)] == [201]
    r = client.get(
        "/api/v1/reports/cultural-family?period=2025&area=21607.T01&depth=0", headers=login()
    )
    thon = r.json["areas"][0]["all"]
    assert (thon["assessed"], thon["earned"], thon["rate"]) == (10, 10, 1.0)
    title = thon["thon_title"]
    assert (title["households"], title["share_of_households"]) == (120, 0.0833)
    assert (title["status"], title["min_share"], title["rule"]["mark"]) == ("chua_dat", 0.8, "M")


def test_satisfaction_shares_agreement_participation_and_pass(
    client, registry, db, storage, collector, login
):
    forms.publish_xlsform(db, storage, FORMS / "satisfaction_survey.xlsx", validate=False)
    collector.submit(domain_sample("sat.xml"))  # QĐ 318: 15 of 19 satisfied, agrees
    other = domain_sample(
        "sat.xml",
        **{
            "HH-01": "HH-02",
            "<agree>yes<": "<agree>no<",
            "<s_qd318_2022_1>hai_long<": "<s_qd318_2022_1>chua_hai_long<",
        },
    )
    other = other.replace(b"<instanceID>uuid:", b"<instanceID>uuid:0")
    assert [r.status for r in collector.submit(other)] == [201]
    r = client.get(
        "/api/v1/reports/satisfaction?period=2026&area=21607.T01&depth=0", headers=login()
    )
    assert r.status_code == 200, r.json
    figures = r.json["areas"][0]["qd318_2022"]
    assert (figures["respondents"], figures["agree"], figures["agree_share"]) == (2, 1, 0.5)
    assert figures["participation"] == round(2 / 120, 4)  # Thôn Bắc has 120 households
    assert figures["items"]["s_qd318_2022_1"]["share"] == 0.5
    assert figures["items"]["s_qd318_2022_4"]["share"] == 0.0
    assert figures["items"]["s_qd318_2022_2"]["share"] == 1.0
    assert (figures["passes"], figures["verdict"]) == (False, "chua_dat")


def test_satisfaction_that_cannot_be_judged_is_not_enough_data_never_a_pass(
    client, registry, db, storage, collector, login
):
    """The only answer is in Thôn Trung, which has no registry count: its participation cannot be
    worked out, so it does not pass; above it, participation is of the units with a count
    (Thôn Bắc, where nobody answered): the commune and the province do not pass either."""
    forms.publish_xlsform(db, storage, FORMS / "satisfaction_survey.xlsx", validate=False)
    satisfied = {
        f"<s_qd318_2022_{i}>chua_hai_long<": f"<s_qd318_2022_{i}>hai_long<" for i in (4, 8, 12, 16)
    }
    xml = domain_sample("sat.xml", **{"21607.T01<": "21607.T02<", **satisfied})
    assert [r.status for r in collector.submit(xml)] == [201]
    r = client.get("/api/v1/reports/satisfaction?period=2026&area=52&depth=3", headers=login())
    thon = area(r.json, "21607.T02")["qd318_2022"]
    assert thon["agree_share"] == 1.0 and thon["participation"] is None
    assert thon["passes"] is None and thon["verdict"] == "khong_du_du_lieu"
    assert thon["verdict_vi"] == "Không đủ dữ liệu"
    for code in ("52", "21607"):
        figures = area(r.json, code)["qd318_2022"]
        assert figures["agree_share"] == 1.0 and figures["participation"] == 0.0, code
        assert figures["passes"] is False and figures["verdict"] == "chua_dat", code


def test_xlsx_and_csv_files_like_the_official_table(client, households):
    import csv
    import io

    from openpyxl import load_workbook

    r = client.get("/api/v1/reports/poverty.xlsx?period=2026&area=52", headers=households)
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == (
        'attachment; filename="ra-soat-ho-ngheo-2026-52.xlsx"'
    )
    book = load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == [
        "Tổng hợp hộ nghèo",
        "Thiếu hụt - hộ nghèo",
        "Thiếu hụt - hộ cận nghèo",
        "Diễn biến",
        "Danh sách hộ diễn biến",
    ]
    rows = list(book["Tổng hợp hộ nghèo"].iter_rows(values_only=True))
    assert rows[1][0].startswith("Kỳ rà soát: 2026") and rows[2][0].startswith("Lập lúc:")
    assert rows[2][0].endswith("(giờ Việt Nam, UTC+07:00)")
    header = rows[5]
    assert header[:2] == ("Mã địa bàn", "Địa bàn")
    body = {row[0]: dict(zip(header, row, strict=True)) for row in rows[6:]}
    codes = [row[0] for row in rows[6:]]
    # Thôn under their commune, each commune's subtotal after them, the province total last.
    assert codes == ["21553.K01", "21553", "21607.T01", "21607.T02", "21607", "52"]
    assert body["21607"]["Địa bàn"] == "Cộng Xã Nhơn Châu"
    assert body["21607.T01"]["Hộ nghèo"] == 3 and body["21607.T01"]["Tổng số hộ (sổ hộ)"] == 120
    assert body["21607.T01"]["Tỷ lệ hộ nghèo (%)"] == 2.5  # a number, not text
    # The commune's rate is over T01 alone, and the row says what it leaves out (T02's F).
    assert body["21607"]["Tỷ lệ hộ nghèo (%)"] == 2.5
    assert body["21607"]["Số hộ làm căn cứ tính tỷ lệ (sổ hộ)"] == 120
    assert body["21607"]["Số thôn/tổ chưa có số hộ (không tính vào tỷ lệ)"] == 1
    assert body["21607"]["Số hộ đã rà soát không tính vào tỷ lệ"] == 1
    assert body["52"]["Số hộ được rà soát"] == 8 and body["52"]["Hộ nghèo DTTS"] == 1
    # Deprivations of the poor alone, a column pair per indicator of the 2026 standard.
    lacking = list(book["Thiếu hụt - hộ nghèo"].iter_rows(values_only=True))
    assert lacking[4][:4] == ("Mã địa bàn", "Địa bàn", "Số hộ nghèo", "Việc làm (số hộ)")
    assert len(lacking[4]) == 3 + 2 * len(standard_indicators("2026"))
    assert lacking[5][:5] == ("52", "Tỉnh Gia Lai", 5, 5, 100.0)
    moves = list(book["Diễn biến"].iter_rows(values_only=True))
    total_poor = next(row for row in moves if row[1] == "Tổng cộng")
    assert total_poor[2:] == (2, 1, 0, 0, 1, 1, 0, 1, 2, 5)
    names = list(book["Danh sách hộ diễn biến"].iter_rows(values_only=True))
    assert ("Hộ nghèo", "Tái nghèo", "D", "Nguyễn Văn Hải", "21607.T01") in names
    r = client.get(
        "/api/v1/reports/poverty.csv?period=2026&area=21607&counts=approved", headers=households
    )
    data = r.get_data()
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") == data.count(b"\n")  # Excel
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert table[0][0] == "Mã địa bàn" and table[-1][0] == "21607"
    assert table[-1][4] == "1"  # approved only: F


def test_an_out_of_scope_submission_counts_nowhere_until_approved(
    client, households, make_user, db
):
    from collect import CollectClient, flask_sender

    make_user("far", "collector", areas=("21553",))  # assigned the ward, not Nhơn Châu
    far = CollectClient(flask_sender(client), "http://localhost", "far", "correct horse")
    review(far, "2026", "21607", "21607.T01", "Z", POOR)

    def t01() -> dict:
        body = client.get("/api/v1/reports/poverty?period=2026&area=21607.T01", headers=households)
        return body.json["areas"][0]["all"]

    def moves() -> dict:
        return client.get(
            "/api/v1/reports/poverty/transitions?period=2026&area=21607", headers=households
        ).json["poor"]

    listed = client.get("/api/v1/submissions?period=2026&per_page=100", headers=households).json
    z = next(i for i in listed["items"] if i["household_code"] == "Z")
    assert z["review_state"] == "hasIssues"
    assert (t01()["reviewed"], t01()["classes"]["poor"]) == (5, 3)  # as before Z came
    assert moves()["new_first_reviewed"] == 1  # F only
    r = client.patch(
        f"/api/v1/submissions/{z['id']}", headers=households, json={"review_state": "approved"}
    )
    assert r.status_code == 200
    assert (t01()["reviewed"], t01()["classes"]["poor"]) == (6, 4)
    assert moves()["new_first_reviewed"] == 2
