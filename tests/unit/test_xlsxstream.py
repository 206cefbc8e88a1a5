"""khudan.xlsxstream: the fast XLSX writer of the submission exports, read back with openpyxl."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import zipfile

from openpyxl import load_workbook

from khudan.xlsxstream import Workbook, column_letter, sheet_names_for


def test_values_come_back_with_their_types_and_the_header_is_bold_and_frozen():
    out = io.BytesIO()
    book = Workbook(out, ["poverty_review", "member"])
    book.append(0, ["id", "Họ tên", "note"], bold=True)
    book.append(1, ["KEY", "m_age"], bold=True)
    at = dt.datetime(2026, 11, 29, 3, 44, 10, tzinfo=dt.UTC)
    book.append(0, [1, "Nguyễn <Văn> & Hải", None, 2.5, True, at, dt.date(2026, 1, 2)])
    book.append(1, ["uuid:x/member[1]", 45])
    book.append(0, ["\x01bell", " spaced ", "x" * 40_000])
    book.close()

    wb = load_workbook(io.BytesIO(out.getvalue()))
    assert wb.sheetnames == ["poverty_review", "member"]
    main = list(wb["poverty_review"].iter_rows(values_only=True))
    assert main[0] == ("id", "Họ tên", "note", None, None, None, None)
    assert main[1] == (
        1,
        "Nguyễn <Văn> & Hải",
        None,  # an empty cell keeps the columns after it in place
        2.5,
        True,
        dt.datetime(2026, 11, 29, 3, 44, 10),  # UTC, as Excel has no time zones
        dt.datetime(2026, 1, 2),
    )
    assert main[2][:2] == ("bell", " spaced ") and len(main[2][2]) == 32_767
    assert list(wb["member"].iter_rows(values_only=True)) == [
        ("KEY", "m_age"),
        ("uuid:x/member[1]", 45),
    ]
    assert wb["poverty_review"]["A1"].font.b and not wb["poverty_review"]["A2"].font.b
    assert wb["member"].freeze_panes == "A2"


def test_sheet_names_excel_accepts():
    assert sheet_names_for(["a/b", "A_B", "x" * 40, "[q]"]) == ["a_b", "A_B_2", "x" * 31, "_q_"]
    assert [column_letter(n) for n in (1, 26, 27, 52, 703)] == ["A", "Z", "AA", "AZ", "AAA"]


def test_long_text_is_cut_at_excels_limit_in_utf16_units_never_inside_an_emoji():
    out = io.BytesIO()
    book = Workbook(out, ["notes"])
    book.append(0, ["😀" * 20_000, "a" + "😀" * 20_000, "ả" * 40_000])
    book.close()
    emoji, odd, accented = next(load_workbook(out).active.iter_rows(values_only=True))
    assert emoji == "😀" * 16_383  # 32,766 units: the 16,384th emoji would be cut in half
    assert odd == "a" + "😀" * 16_383 and len(odd.encode("utf-16-le")) == 2 * 32_767
    assert accented == "ả" * 32_767


def test_headers_agree_without_zip64_and_spooled_sheets_say_their_size():
    out = io.BytesIO()
    book = Workbook(out, ["main", "member"])
    book.append(0, ["a", "b"])
    book.append(1, ["KEY", "m_age", "m_name"])
    book.append(1, ["k1", 3])
    book.close()
    data = out.getvalue()
    archive = zipfile.ZipFile(out)
    for info in archive.infolist():
        offset = info.header_offset
        local_extra = int.from_bytes(data[offset + 28 : offset + 30], "little")
        assert info.extra == b"" and local_extra == 0, info.filename
    member = archive.read("xl/worksheets/sheet2.xml").decode()
    assert '<dimension ref="A1:C2"/><sheetViews>' in member
    assert load_workbook(io.BytesIO(data))["member"].max_row == 2


def test_abort_drops_the_temporary_sheets(monkeypatch):
    spools = []
    real = tempfile.TemporaryFile

    def spy():
        spools.append(real())
        return spools[-1]

    monkeypatch.setattr(tempfile, "TemporaryFile", spy)
    out = io.BytesIO()
    book = Workbook(out, ["main", "member", "crop"])
    book.append(1, ["x"])
    written = len(out.getvalue())
    book.abort()
    assert len(spools) == 3 and all(s.closed for s in spools)  # 2 sheets, the ZIP directory
    assert len(out.getvalue()) == written
