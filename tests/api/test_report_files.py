"""Cultural-family and satisfaction results as files (/reports/cultural-family.xlsx|.csv,
/reports/satisfaction.xlsx|.csv), laid out like the poverty table: a row per thôn under its
commune, the commune's subtotal, totals above; Vietnamese headers; numbers as numbers.

Households (JavaRosa-filled, answers changed), all in Xã Nhơn Châu (21607):
  cultural family 2025: Thôn Trung (T02) one failing c2_6 (and disqualified), two earning the title;
                        Thôn Bắc (T01, 120 households in the registry) one earning it.
  satisfaction 2026 (QĐ 318 set): Thôn Bắc two respondents, one agreeing.
"""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import pytest
from factories import domain_sample
from openpyxl import load_workbook

from khudan.services import forms

FORMS = Path(__file__).resolve().parents[2] / "forms"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def earned(code: str, area: str = "21607.T02") -> bytes:
    return domain_sample(
        "cf.xml",
        **{
            "NC-T02-044": code,
            "<area_code>21607.T02<": f"<area_code>{area}<",
            "<c2_6>no<": "<c2_6>yes<",
            "<dq_4>yes<": "<dq_4>no<",
            "c02c8659-6e5e-4994-aa0a-fafab043e766": str(uuid.uuid4()),
        },
    )


@pytest.fixture
def assessed(registry, db, storage, collector, login):
    forms.publish_xlsform(db, storage, FORMS / "cultural_family.xlsx", validate=False)
    forms.publish_xlsform(db, storage, FORMS / "satisfaction_survey.xlsx", validate=False)
    for xml in (
        domain_sample("cf.xml"),
        earned("NC-T02-045"),
        earned("NC-T02-046"),
        earned("NC-T01-001", "21607.T01"),
        domain_sample("sat.xml"),
        domain_sample(
            "sat.xml",
            **{
                "HH-01": "HH-02",
                "<agree>yes<": "<agree>no<",
                "<s_qd318_2022_1>hai_long<": "<s_qd318_2022_1>chua_hai_long<",
                "<instanceID>uuid:": "<instanceID>uuid:0",
            },
        ),
    ):
        assert [r.status for r in collector.submit(xml)] == [201]
    return login()


def rows_after_header(rows: list[tuple], first: str) -> list[tuple]:
    start = next(i for i, row in enumerate(rows) if row and row[0] == first)
    return rows[start:]


def test_cultural_family_xlsx_has_a_row_per_thon_and_the_commune_subtotal(client, assessed):
    r = client.get("/api/v1/reports/cultural-family.xlsx?period=2025&area=21607", headers=assessed)
    assert r.status_code == 200 and r.mimetype == XLSX
    assert r.headers["Content-Disposition"] == (
        'attachment; filename="gia-dinh-van-hoa-2025-21607.xlsx"'
    )
    book = load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == ["Gia đình văn hóa"]
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[1][0] == "Kỳ: 2025" and rows[2][0].startswith("Lập lúc: ")
    header, t01, t02, commune = rows_after_header(rows, "Mã địa bàn")
    assert header[4:7] == (
        "Số hộ được bình xét",
        "Số hộ đạt “Gia đình văn hóa”",
        "Tỷ lệ đạt trên số hộ được bình xét (%)",
    )
    assert t01[:7] == ("21607.T01", "Thôn Bắc", "Thôn/tổ", 120, 1, 1, 100)
    # The thôn title is judged on its 120 registry households: 1 of them is 0.83 %.
    assert t01[10:] == (0.83, "Chưa đạt")
    assert t02[:7] == ("21607.T02", "Thôn Trung", "Thôn/tổ", None, 3, 2, 66.67)
    assert t02[7].endswith("(1)") and t02[8] == 1  # one household disqualified, and why:
    assert t02[9].startswith("NC-T02-044") and "bạo lực gia đình" in t02[9]
    assert t02[10:] == (None, "Không đủ dữ liệu (chưa có số hộ trong sổ)")
    assert commune[:2] == ("21607", "Cộng Xã Nhơn Châu")
    assert commune[4:7] == (4, 3, 75) and commune[11] is None  # sums, numbers as numbers


def csv_table(data: bytes) -> list[list[str]]:
    """The rows of a CSV file made for Excel: a UTF-8 BOM, CRLF line ends."""
    assert data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_cultural_family_csv_has_the_same_rows(client, assessed):
    r = client.get("/api/v1/reports/cultural-family.csv?period=2025&area=52", headers=assessed)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = csv_table(r.get_data())
    assert rows[0][:3] == ["Mã địa bàn", "Địa bàn", "Cấp"]
    codes = [row[0] for row in rows[1:]]
    assert codes == ["21607.T01", "21607.T02", "21607", "52"]
    assert rows[-1][1].startswith("Tổng cộng") and rows[-1][4:6] == ["4", "3"]


def test_satisfaction_files_per_criteria_set(client, assessed):
    r = client.get("/api/v1/reports/satisfaction.xlsx?period=2026&area=21607", headers=assessed)
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == ["qd318_2022"]
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[1][0].startswith("Bộ tiêu chí: Nông thôn mới")
    header, t01, commune = rows_after_header(rows, "Mã địa bàn")
    assert header[10] == "Hài lòng: Quy hoạch (%)" and len(header) == 10 + 19
    assert t01[:10] == (
        "21607.T01",
        "Thôn Bắc",
        "Thôn/tổ",
        120,
        2,
        1,
        50,
        round(2 / 120 * 100, 2),
        80,  # the set's pass share
        "Chưa đạt",
    )
    assert (t01[10], t01[11], t01[13]) == (50, 100, 0)  # Quy hoạch, Giao thông, Điện
    assert commune[1] == "Cộng Xã Nhơn Châu" and commune[4:6] == (2, 1)
    rows = csv_table(
        client.get(
            "/api/v1/reports/satisfaction.csv?period=2026&area=21607", headers=assessed
        ).get_data()
    )
    assert rows[0][:2] == ["Bộ tiêu chí", "Mã địa bàn"]
    assert rows[1][:2] == ["qd318_2022", "21607.T01"] and rows[1][5:7] == ["2", "1"]


def test_files_are_scoped_and_need_a_period(client, assessed, login):
    other = login("hoa", "supervisor", areas=("21553",))
    r = client.get("/api/v1/reports/cultural-family.csv?period=2025&area=21607", headers=other)
    assert r.status_code == 404
    r = client.get("/api/v1/reports/satisfaction.xlsx", headers=assessed)
    assert r.status_code == 422 and "period" in r.json["details"]["errors"]


def test_the_command_line_prints_the_tables_and_writes_the_files(
    client, assessed, database_url, tmp_path
):
    from click.testing import CliRunner

    from khudan.cli import main

    env = {
        "KHUDAN_DATABASE_URL": database_url,
        "KHUDAN_SECRET_KEY": "x",
        "KHUDAN_INSTANCE_DIR": str(tmp_path / "i"),
        "KHUDAN_MEDIA_ROOT": str(tmp_path / "m"),
    }

    def run(*args: str) -> list[str]:
        r = CliRunner().invoke(main, ["reports", *args], env=env)
        assert r.exit_code == 0, r.output
        return r.output.splitlines()

    lines = run("cultural-family", "--period", "2025", "--area", "21607")
    assert lines[0] == "Kỳ 2025"
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert rows["21607.T01"][-6:] == ["1", "1", "100.0", "0", "Chưa", "đạt"]  # 1 of 120
    t02 = " ".join(rows["21607.T02"])  # assessed, earned, %, excluded, then the title
    assert t02.endswith("3 2 66.67 1 Không đủ dữ liệu (chưa có số hộ trong sổ)")
    lines = run("satisfaction", "--period", "2026", "--area", "21607")
    assert lines[0].startswith("Kỳ 2026 — Nông thôn mới")
    assert lines[2].split()[0] == "21607.T01" and lines[2].split()[-6:-2] == [
        "2",
        "1",
        "50.0",
        "1.67",
    ]
    assert run("satisfaction", "--period", "2024")[0].startswith("Kỳ 2024: chưa có phiếu")

    out = tmp_path / "gdvh.csv"
    run(
        "file",
        "cultural-family",
        "--period",
        "2025",
        "--area",
        "21607",
        "--format",
        "csv",
        "-o",
        str(out),
    )
    api = client.get("/api/v1/reports/cultural-family.csv?period=2025&area=21607", headers=assessed)
    assert out.read_bytes() == api.get_data()  # the same table as the API's file
    out = tmp_path / "hai-long.xlsx"
    run("file", "satisfaction", "--period", "2026", "-o", str(out))
    assert load_workbook(out).sheetnames == ["qd318_2022"]
