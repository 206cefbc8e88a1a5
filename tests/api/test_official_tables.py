"""The official tables (biểu số 1-14) on the hand-made households of test_reports, checked
cell by cell against figures worked out by hand, and for their printed layout: the unit and motto,
the numbered title, two header rows repeated on every page, A4 landscape, the place and date in
Vietnam time and the signature blocks."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from click.testing import CliRunner
from openpyxl import load_workbook

from khudan.cli import main
from khudan.services import forms, official, reports
from khudan.services.scope import Scope

from . import test_reports

households = test_reports.households  # the same households, as a fixture here
URL = "/api/v1/reports/official"


def sheet_rows(data: bytes, sheet: int = 0) -> tuple[object, list[tuple]]:
    book = load_workbook(io.BytesIO(data))
    ws = book.worksheets[sheet]
    return ws, list(ws.iter_rows(values_only=True))


def test_table_1_results_per_commune_with_persons_splits_and_rate_bases(client, households):
    r = client.get(f"{URL}/ket-qua.json?period=2026&area=52", headers=households)
    assert r.status_code == 200, r.json
    body = r.json
    assert (body["number"], body["unit"]) == (1, "UBND Tỉnh Gia Lai")
    rows = {row[0]: row for row in body["rows"]}
    assert list(rows) == ["Phường Quy Nhơn Bắc", "Xã Nhơn Châu", "Tổng cộng"]
    # Xã Nhơn Châu: A, C, D poor in T01, F poor in T02 (no count); B near-poor; E not poor.
    # Each household has 5 persons (pov1.xml). Rates only over T01's 120 households.
    commune = rows["Xã Nhơn Châu"]
    assert commune[1:9] == [None, 4, 0.025, 20, 1, 0.0083, 5, 0]
    assert commune[9:15] == [0, 4, 1, 0, 1, 0]  # poor: urban, rural, DTTS; near-poor likewise
    assert commune[15:] == [120, 1]  # the rate's base, and the thôn left out
    total = rows["Tổng cộng"]
    assert total[2] == 5 and total[4] == 25 and total[9] == 1  # H is urban


def test_table_1_says_not_applicable_where_the_standard_has_no_medium_class(client, households):
    r = client.get(f"{URL}/ket-qua.json?period=2027&area=52", headers=households)
    assert r.json["rows"][-1][8] == official.NOT_APPLICABLE
    assert any("không có hộ có mức sống trung bình" in n for n in r.json["notes"])


def test_tables_2_and_3_transitions_in_the_official_categories(client, households):
    poor = client.get(f"{URL}/dien-bien-ho-ngheo.json?period=2026", headers=households).json
    headers = [c["header"] for c in poor["columns"]]
    assert headers[0] == "Số hộ nghèo đầu kỳ" and "+ Tái nghèo" in headers
    total = dict(zip(headers, poor["rows"][-1][1:], strict=True))
    assert total["Số hộ nghèo đầu kỳ"] == 2 and total["+ Tái nghèo"] == 1
    assert total["+ Nghèo phát sinh, rà soát lần đầu"] == 2 and total["Số hộ nghèo cuối kỳ"] == 5
    near = client.get(f"{URL}/dien-bien-ho-can-ngheo.json?period=2026", headers=households).json
    assert near["rows"][-1][0] == "Tổng cộng" and near["rows"][-1][-1] == 1


def test_tables_4_to_7_deprivation_of_poor_and_near_poor_apart(client, households, db):
    with db.session() as s:
        indicators = reports.standard_indicators("2026")
        counts = official.build(s, Scope(everything=True), "thieu-hut-ho-ngheo", "2026", "52")
        shares = official.build(
            s, Scope(everything=True), "thieu-hut-ho-can-ngheo-ty-le", "2026", "52"
        )
    assert [c.header for c in counts.columns[1:]] == [i.label_vi for i in indicators]
    water = 1 + [i.id for i in indicators].index("water")
    assert counts.rows[-1][1] == 5 and counts.rows[-1][1 + water] == 5
    assert shares.rows[-1][1] == 1 and shares.rows[-1][1 + water] == 1.0


def test_table_12_lists_the_households_per_thon_for_the_village_meeting(client, households):
    body = client.get(f"{URL}/danh-sach-hop-dan.json?period=2026&area=21607", headers=households)
    rows = body.json["rows"]
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("Thôn Bắc", "A", "Hộ nghèo"),
        ("Thôn Bắc", "C", "Hộ nghèo"),
        ("Thôn Bắc", "D", "Hộ nghèo"),
        ("Thôn Bắc", "B", "Hộ cận nghèo"),
        ("Thôn Trung", "F", "Hộ nghèo"),
    ]
    assert rows[0][2] == "Nguyễn Văn Hải" and "Việc làm" in rows[0][7]
    assert rows[3][7].split(", ") == ["Nguồn nước sinh hoạt", "Nhà tiêu hợp vệ sinh"]


def test_the_xlsx_is_laid_out_as_printed(client, households):
    r = client.get(f"{URL}/ket-qua.xlsx?period=2026&area=21607", headers=households)
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == 'attachment; filename="bieu-ket-qua-2026-21607.xlsx"'
    ws, rows = sheet_rows(r.data)
    assert rows[0][0] == "UBND XÃ NHƠN CHÂU"
    assert (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in rows[0] and "Độc lập - Tự do - Hạnh phúc" in rows[1]
    )
    assert rows[3][0].startswith("Biểu số 1. TỔNG HỢP KẾT QUẢ RÀ SOÁT")
    assert rows[4][0] == "Kỳ rà soát: 2026"
    assert rows[6][:3] == ("STT", "Đơn vị", "Tổng số hộ dân cư (sổ hộ)")
    assert rows[6][3] == "Hộ nghèo" and rows[7][3:6] == ("Số hộ", "Tỷ lệ (%)", "Số nhân khẩu")
    assert rows[8][:6] == (1, "Thôn Bắc", 120, 3, 2.5, 15)  # the rate as %, two decimals
    assert ws.cell(9, 5).number_format == "0.00"
    assert rows[10][1] == "Tổng cộng" and rows[10][0] is None
    merged = {str(m) for m in ws.merged_cells.ranges}
    assert "A7:A8" in merged and "D7:F7" in merged
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9  # A4
    assert ws.print_title_rows == "$7:$8"  # repeated on every printed page
    text = [c for row in rows for c in row if isinstance(c, str)]
    assert "NGƯỜI LẬP BIỂU" in text and "CHỦ TỊCH" in text and "TM. ỦY BAN NHÂN DÂN" in text
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=7)))
    assert f"Xã Nhơn Châu, ngày {today:%d} tháng {today:%m} năm {today:%Y}" in text


def test_csv_and_the_pack_and_the_cli(client, households, database_url, tmp_path):
    r = client.get(f"{URL}/danh-sach-hop-dan.csv?period=2026&area=21607", headers=households)
    table = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0][:4] == ["STT", "Thôn", "Mã hộ", "Họ tên chủ hộ"] and len(table) == 6
    r = client.get(f"{URL}/pack.xlsx?period=2026&area=21607", headers=households)
    book = load_workbook(io.BytesIO(r.data))
    assert [name.split(")")[0] for name in book.sheetnames] == [f"({n}" for n in range(1, 15)]
    assert client.get(f"{URL}/pack.csv?period=2026", headers=households).status_code == 404
    assert client.get(f"{URL}/nope.xlsx?period=2026", headers=households).status_code == 404
    env = {
        "KHUDAN_DATABASE_URL": database_url,
        "KHUDAN_SECRET_KEY": "x",
        "KHUDAN_INSTANCE_DIR": str(tmp_path / "i"),
        "KHUDAN_MEDIA_ROOT": str(tmp_path / "m"),
    }
    out = tmp_path / "pack.xlsx"
    args = ["reports", "pack", "--period", "2026", "--area", "21607", "-o", str(out)]
    assert CliRunner().invoke(main, args, env=env).exit_code == 0
    assert len(load_workbook(out).sheetnames) == 14
    out = tmp_path / "t1.json"
    args = [
        "reports",
        "official",
        "ket-qua",
        "--period",
        "2026",
        "--format",
        "json",
        "-o",
        str(out),
    ]
    assert CliRunner().invoke(main, args, env=env).exit_code == 0
    assert json.loads(out.read_text())["number"] == 1


def test_a_supervisor_gets_only_their_areas(client, households, login):
    ward = login("hoa", "supervisor", areas=("21553",))
    assert client.get(f"{URL}/ket-qua.json?period=2026&area=21607", headers=ward).status_code == 404
    mine = client.get(f"{URL}/danh-sach-hop-dan.json?period=2026", headers=ward).json
    assert [r[1] for r in mine["rows"]] == ["H"]


def test_table_8_target_groups_of_the_poor_and_near_poor(client, households):
    body = client.get(f"{URL}/nhom-doi-tuong.json?period=2026&area=52", headers=households).json
    assert body["number"] == 8
    columns = [(c["group"], c["header"]) for c in body["columns"]]
    assert columns[:3] == [
        ("Hộ nghèo", "Tổng số hộ"),
        ("Hộ nghèo", "Hộ không có khả năng lao động"),
        ("Hộ nghèo", "Hộ không có khả năng lao động (%)"),
    ]
    rows = {row[0]: dict(zip(columns, row[1:], strict=True)) for row in body["rows"]}
    # Poor: A, C, D, F (Nhơn Châu) and H (Quy Nhơn Bắc); all have a grandparent on a social
    # allowance and working-age members; C has a person of meritorious service, F is Ba-na.
    total = rows["Tổng cộng"]
    assert total["Hộ nghèo", "Tổng số hộ"] == 5
    assert total["Hộ nghèo", "Hộ không có khả năng lao động"] == 0
    assert total["Hộ nghèo", "Hộ có người có công với cách mạng"] == 1
    assert total["Hộ nghèo", "Hộ có người có công với cách mạng (%)"] == 0.2
    assert total["Hộ nghèo", "Hộ có thành viên hưởng trợ cấp xã hội hằng tháng"] == 5
    assert total["Hộ nghèo", "Hộ dân tộc thiểu số (%)"] == 0.2
    assert total["Hộ cận nghèo", "Tổng số hộ"] == 1  # B
    assert total["Hộ cận nghèo", "Hộ có người có công với cách mạng"] == 0
    commune = rows["Xã Nhơn Châu"]
    assert commune["Hộ nghèo", "Hộ có người có công với cách mạng (%)"] == 0.25
    approved = client.get(
        f"{URL}/nhom-doi-tuong.json?period=2026&area=52&counts=approved", headers=households
    ).json
    assert approved["rows"][-1][1] == 2  # F and H


def test_table_9_by_the_heads_ethnicity(client, households):
    body = client.get(f"{URL}/dan-toc.json?period=2026&area=52", headers=households).json
    assert body["unit_header"] == "Dân tộc"
    assert [r[0] for r in body["rows"]] == [
        "Kinh",
        "Ba-na",
        "Trong đó: dân tộc thiểu số",
        "Tổng cộng",
    ]
    # Poor: households, persons, share of the poor; then near-poor likewise.
    assert body["rows"][0][1:] == [4, 20, 0.8, 1, 5, 1.0]
    assert body["rows"][1][1:] == [1, 5, 0.2, 0, 0, 0.0]
    assert body["rows"][2][1:] == [1, 5, 0.2, 0, 0, 0.0]
    assert body["rows"][3][1:] == [5, 25, 1.0, 1, 5, 1.0]


def test_tables_10_and_11_causes_and_support_needed(client, households):
    causes = client.get(f"{URL}/nguyen-nhan.json?period=2026&area=52", headers=households).json
    headers = [(c["group"], c["header"]) for c in causes["columns"]]
    total = dict(zip(headers, causes["rows"][-1][1:], strict=True))
    assert total["Hộ nghèo", "Thiếu đất sản xuất"] == 1  # C
    assert total["Hộ nghèo", "Thiếu vốn sản xuất, kinh doanh"] == 4
    assert total["Hộ nghèo", "Thiếu lao động"] == 0
    assert total["Hộ cận nghèo", "Thiếu kỹ năng lao động, tay nghề"] == 1
    assert "Một hộ có thể được tính ở nhiều cột." in causes["notes"]
    support = client.get(f"{URL}/nhu-cau-ho-tro.json?period=2026&area=52", headers=households)
    headers = [(c["group"], c["header"]) for c in support.json["columns"]]
    total = dict(zip(headers, support.json["rows"][-1][1:], strict=True))
    assert total["Hộ nghèo", "Y tế (bảo hiểm y tế, khám chữa bệnh)"] == 1
    assert total["Hộ nghèo", "Vay vốn tín dụng ưu đãi"] == 4
    assert total["Hộ nghèo", "Nhà ở"] == 4 and total["Hộ nghèo", "Việc làm"] == 0


def test_tables_13_and_14_cultural_family_and_thon_van_hoa(
    client, registry, db, storage, collector, login
):
    """cf.xml's household in Thôn Trung is disqualified (dq_4); two more there earn the title;
    Thôn Bắc (120 households in the registry) has nobody assessed."""
    forms.publish_xlsform(db, storage, test_reports.FORMS / "cultural_family.xlsx", validate=False)
    test_reports.assess_families(collector)
    admin = login()
    body = client.get(f"{URL}/gia-dinh-van-hoa.json?period=2025&area=21607", headers=admin).json
    assert body["number"] == 13
    rows = {r[0]: r[1:] for r in body["rows"]}
    # registry, assessed, earned, of assessed, of the registry, disqualified
    assert rows["Thôn Bắc"] == [120, 0, 0, None, 0.0, 0]
    assert rows["Thôn Trung"] == [None, 3, 2, 0.6667, None, 1]
    body = client.get(f"{URL}/thon-van-hoa.json?period=2025&area=21607", headers=admin).json
    assert body["unit_header"] == "Thôn, tổ dân phố"
    rows = {r[0]: r[1:] for r in body["rows"]}
    assert rows["Thôn Bắc"][:5] == [120, 0, 0.0, 0.8, "Chưa đánh giá"]
    trung = rows["Thôn Trung"]
    assert trung[:2] == [None, 2] and trung[4].startswith("Không đủ dữ liệu")
    assert trung[5].startswith("NC-T02-044") and "bạo lực gia đình" in trung[5]
    assert any(n.startswith("Tỷ lệ tối thiểu: ") for n in body["notes"])
    r = client.get(f"{URL}/thon-van-hoa.xlsx?period=2025&area=52", headers=admin)
    _ws, cells = sheet_rows(r.data)
    assert cells[6][:2] == ("STT", "Thôn, tổ dân phố")
    # A province's list names each thôn's commune too.
    assert {row[1] for row in cells[8:10]} == {"Thôn Bắc, Xã Nhơn Châu", "Thôn Trung, Xã Nhơn Châu"}


def test_csv_in_the_vietnamese_excel_dialect_on_request(client, households, database_url, tmp_path):
    """Issue 13: semicolons and decimal commas, so a double click in Excel set to Vietnamese
    opens the right columns and numbers; the standard CSV stays as it was."""
    url = f"{URL}/ket-qua.csv?period=2026&area=52"
    plain = client.get(url, headers=households).get_data(as_text=True).lstrip("\ufeff")
    vn = client.get(f"{url}&dialect=excel-vn", headers=households).get_data(as_text=True)
    vn_rows = list(csv.reader(io.StringIO(vn.lstrip("\ufeff")), delimiter=";"))
    plain_rows = list(csv.reader(io.StringIO(plain)))
    assert len(vn_rows[0]) == len(plain_rows[0]) > 10
    commune = next(r for r in vn_rows if r[1] == "Xã Nhơn Châu")
    assert commune[4] == "0,025" and commune[7] == "0,0083"  # rates: decimal comma
    assert next(r for r in plain_rows if r[1] == "Xã Nhơn Châu")[4] == "0.025"
    bad = client.get(f"{url}&dialect=tab", headers=households)
    assert bad.status_code == 422
    summary = client.get(
        "/api/v1/reports/poverty.csv?period=2026&dialect=excel-vn", headers=households
    ).get_data(as_text=True)
    assert ";" in summary.splitlines()[0] and "," not in summary.splitlines()[0].replace(", ", "")
    env = {
        "KHUDAN_DATABASE_URL": database_url,
        "KHUDAN_SECRET_KEY": "x",
        "KHUDAN_INSTANCE_DIR": str(tmp_path / "i"),
        "KHUDAN_MEDIA_ROOT": str(tmp_path / "m"),
    }
    out = tmp_path / "t1.csv"
    args = ["reports", "official", "ket-qua", "--period", "2026", "--format", "csv"]
    args += ["--dialect", "excel-vn", "-o", str(out)]
    assert CliRunner().invoke(main, args, env=env).exit_code == 0
    assert out.read_text(encoding="utf-8-sig").splitlines()[0].startswith("STT;")
