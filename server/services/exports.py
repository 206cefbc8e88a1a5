"""Files people use: the poverty summary table as XLSX (laid out like the official biểu tổng hợp)
and as CSV; the cultural-family and satisfaction results in the same layout.

A row per residential area under its commune, a subtotal row per commune and a total row for the
whole selection; Vietnamese headers (CSV: UTF-8 with a BOM, CRLF, so Excel reads it right); the period and the time of generation on top; numbers stored
as numbers. The workbook is written in openpyxl's write-only mode, row by row.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

from ..domain import cultural_family, satisfaction
from ..formulas import csv_writer, workbook
from . import reports

HEADERS = [
    "Mã địa bàn",
    "Địa bàn",
    "Cấp",
    "Tổng số hộ (sổ hộ)",
    "Số hộ được rà soát",
    "Hộ nghèo",
    "Tỷ lệ hộ nghèo (%)",
    "Hộ cận nghèo",
    "Tỷ lệ hộ cận nghèo (%)",
    "Số hộ làm căn cứ tính tỷ lệ (sổ hộ)",
    "Số thôn/tổ chưa có số hộ (không tính vào tỷ lệ)",
    "Số hộ đã rà soát không tính vào tỷ lệ",
    "Hộ có mức sống trung bình",
    "Hộ không nghèo",
    "Hộ nghèo DTTS",
    "Hộ nghèo thành thị",
    "Hộ nghèo nông thôn",
]
LEVEL_VI = {"province": "Tỉnh", "district": "Huyện", "commune": "Xã/phường", "area": "Thôn/tổ"}
RATE_NOTE = (
    "Tỷ lệ tính trên tổng số hộ theo sổ hộ của các thôn/tổ có số hộ; hộ nghèo, cận nghèo ở các "
    "thôn/tổ chưa có số hộ không tính vào tỷ lệ (xem các cột căn cứ)."
)
VN = dt.timezone(dt.timedelta(hours=7), "ICT")


def poverty_rows(summary: dict, counts: str = "all") -> Iterator[list]:
    """Table rows: each commune's residential areas, then its subtotal; a total at the end."""
    return area_rows(summary, lambda node, label: _row(node, counts, label))


def area_rows(summary: dict, row) -> Iterator[list]:
    """``row(node, label)`` for each residential area under its commune, then the commune's
    subtotal ("Cộng ..."); a total ("Tổng cộng ...") for each level above."""
    for top in summary["areas"]:
        yield from _rows(top, row)


def _rows(node: dict, row) -> Iterator[list]:
    children = node.get("children", [])
    if node["level"] == "commune" or not children:
        for child in children:
            yield row(child, child["name"])
        yield row(node, f"Cộng {node['name']}" if children else node["name"])
        return
    for child in children:
        yield from _rows(child, row)
    yield row(node, f"Tổng cộng {node['name']}")


def _row(node: dict, counts: str, label: str) -> list:
    f = node[counts]
    classes, rates, base = f["classes"], f["rates"], f["rate_base"]
    return [
        node["code"],
        label,
        LEVEL_VI.get(node["level"], node["level"]),
        node["households_total"],
        f["reviewed"],
        classes["poor"],
        _pct(rates["poor"]),
        classes["near_poor"],
        _pct(rates["near_poor"]),
        base["households"],
        base["units_left_out"],
        base["reviewed_left_out"],
        classes["medium"],
        classes["not_poor"],
        f["ethnic_minority"]["poor"],
        f["urban"]["poor"],
        f["rural"]["poor"],
    ]


def poverty_workbook(
    summary: dict, moves: dict, counts: str = "all", now: dt.datetime | None = None
) -> bytes:
    """The summary table, deprivations of the poor and of the near-poor (a fixed column per
    indicator of the period's standard, so communes' files stack), and the transitions per unit
    with the households behind each number (``moves`` from ``reports.transitions`` with
    households, for the same counts)."""
    book = workbook()
    what = "đã duyệt" if counts == "approved" else "không bị từ chối"
    heading = [
        f"Kỳ rà soát: {summary['period']} — số liệu các phiếu {what}",
        _made_at(now),
        *waiting_line(summary),
    ]
    sheet = book.create_sheet("Tổng hợp hộ nghèo")
    sheet.append(["BIỂU TỔNG HỢP KẾT QUẢ RÀ SOÁT HỘ NGHÈO, HỘ CẬN NGHÈO"])
    for line in (*heading, RATE_NOTE):
        sheet.append([line])
    sheet.append([])
    sheet.append(_bold(sheet, HEADERS))
    for row in poverty_rows(summary, counts):
        sheet.append(row)

    indicators = reports.standard_indicators(summary["period"])
    for cls, name in (("poor", "hộ nghèo"), ("near_poor", "hộ cận nghèo")):
        tab = book.create_sheet(f"Thiếu hụt - {name}")
        tab.append([f"PHÂN TÍCH CHỈ SỐ THIẾU HỤT DỊCH VỤ XÃ HỘI CƠ BẢN CỦA {name.upper()}"])
        for line in heading:
            tab.append([line])
        tab.append([])
        columns = [f"{i.label_vi} ({unit})" for i in indicators for unit in ("số hộ", "%")]
        tab.append(_bold(tab, ["Mã địa bàn", "Địa bàn", f"Số {name}", *columns]))
        for node in _walk(summary["areas"]):
            f = node[counts]
            lacking = f["deprivation"][cls]
            cells = []
            for i in indicators:
                cells += [lacking["households"][i.id], _pct(lacking["share"][i.id])]
            tab.append([node["code"], node["name"], f["classes"][cls], *cells])

    change = book.create_sheet("Diễn biến")
    change.append(
        [f"DIỄN BIẾN HỘ NGHÈO, HỘ CẬN NGHÈO: {moves['previous_period']} → {moves['period']}"]
    )
    for line in heading:
        change.append([line])
    units = [*moves["units"], {"code": None, "name": "Tổng cộng", **moves}]
    for cls, rows in reports.TRANSITIONS.items():
        change.append([])
        change.append(
            _bold(
                change,
                ["Mã địa bàn", "Địa bàn", *(f"{sign} {vi}".strip() for _, vi, _, sign in rows)],
            )
        )
        for unit in units:
            change.append([unit["code"], unit["name"], *(unit[cls][key] for key, *_ in rows)])
    if "households" in moves:
        names = book.create_sheet("Danh sách hộ diễn biến")
        names.append(["DANH SÁCH HỘ THEO TỪNG CHỈ TIÊU DIỄN BIẾN"])
        for line in heading:
            names.append([line])
        names.append([])
        names.append(_bold(names, ["Nhóm", "Chỉ tiêu", "Mã hộ", "Chủ hộ", "Địa bàn"]))
        for cls, rows in reports.TRANSITIONS.items():
            group = "Hộ nghèo" if cls == "poor" else "Hộ cận nghèo"
            for key, vi, _en, _sign in rows:
                for h in moves["households"][cls][key]:
                    names.append([group, vi, h["household_code"], h["head_name"], h["area_code"]])
    return _saved(book)


def poverty_csv(summary: dict, counts: str = "all", dialect: str = "standard") -> str:
    return _csv(HEADERS, poverty_rows(summary, counts), dialect)


CULTURAL_FAMILY_HEADERS = [
    "Mã địa bàn",
    "Địa bàn",
    "Cấp",
    "Tổng số hộ (sổ hộ)",
    "Số hộ được bình xét",
    "Số hộ đạt “Gia đình văn hóa”",
    "Tỷ lệ đạt trên số hộ được bình xét (%)",
    "Tiêu chí chưa đạt nhiều nhất (số hộ)",
    "Số hộ bị loại trừ",
    "Hộ bị loại trừ và lý do",
    "Tỷ lệ hộ đạt trên tổng số hộ của thôn/tổ (%)",
    "“Thôn/Tổ dân phố văn hóa”",
]
THON_NOTE = (
    "Thôn/tổ dân phố văn hóa xét theo tỷ lệ hộ đạt “Gia đình văn hóa” trên tổng số hộ của "
    "thôn/tổ theo sổ hộ, so với mức tối thiểu của tỉnh."
)
SATISFACTION_HEADERS = [
    "Mã địa bàn",
    "Địa bàn",
    "Cấp",
    "Tổng số hộ",
    "Số hộ trả lời",
    "Số hộ đồng ý",
    "Tỷ lệ đồng ý (%)",
    "Tỷ lệ tham gia (%)",
    "Ngưỡng đạt (%)",
    "Kết quả",
]


def cultural_family_rows(summary: dict, counts: str = "all") -> Iterator[list]:
    """A row per thôn under its commune, subtotals and totals (``reports.cultural_family_summary``
    with depth 4): assessed, earned, rate, the criteria failed most, the disqualified households
    with why, and the thôn's title with the share of its registry households it is judged on."""
    texts = {c.id: c.text_vi for c in cultural_family.load_catalogue().criteria}

    def row(node: dict, label: str) -> list:
        f = node[counts]
        failed = "; ".join(
            f"{texts.get(m['criterion'], m['criterion'])} ({m['households']})"
            for m in f["most_failed"]
        )
        excluded = "; ".join(
            f"{h['household_code']} {h['head_name'] or ''}: {', '.join(h['reasons'])}"
            for h in f.get("disqualified_households", [])
        )
        title = f.get("thon_title")
        return [
            node["code"],
            label,
            LEVEL_VI.get(node["level"], node["level"]),
            node["households_total"],
            f["assessed"],
            f["earned"],
            _pct(f["rate"]),
            failed or None,
            f["disqualified"],
            excluded or None,
            None if title is None else _pct(title["share_of_households"]),
            None if title is None else title["label_vi"],
        ]

    return area_rows(summary, row)


def cultural_family_workbook(
    summary: dict, counts: str = "all", now: dt.datetime | None = None
) -> bytes:
    book = workbook()
    sheet = book.create_sheet("Gia đình văn hóa")
    sheet.append(["KẾT QUẢ BÌNH XÉT DANH HIỆU “GIA ĐÌNH VĂN HÓA”"])
    what = "đã duyệt" if counts == "approved" else "không bị từ chối"
    for line in _heading(summary, now):
        sheet.append([line])
    sheet.append([f"Số liệu các phiếu {what}. {THON_NOTE}"])
    sheet.append([])
    sheet.append(_bold(sheet, CULTURAL_FAMILY_HEADERS))
    for row in cultural_family_rows(summary, counts):
        sheet.append(row)
    return _saved(book)


def cultural_family_csv(summary: dict, counts: str = "all", dialect: str = "standard") -> str:
    return _csv(CULTURAL_FAMILY_HEADERS, cultural_family_rows(summary, counts), dialect)


def satisfaction_sets(summary: dict) -> list[satisfaction.CriteriaSet]:
    """The criteria sets anyone answered in the selection, in the rules' order."""
    present = {key for node in _walk(summary["areas"]) for key in node}
    return [s for key, s in satisfaction.load_sets().sets.items() if key in present]


def satisfaction_rows(summary: dict, criteria_set: satisfaction.CriteriaSet) -> Iterator[list]:
    """A row per thôn under its commune, subtotals and totals, for one criteria set: respondents,
    agreement, participation, pass or not, then the share satisfied with each criterion (%)."""

    def row(node: dict, label: str) -> list:
        f = node.get(criteria_set.id)
        place = [node["code"], label, LEVEL_VI.get(node["level"], node["level"])]
        if f is None:
            return [
                *place,
                node["households_total"],
                0,
                0,
                *([None] * (4 + len(criteria_set.items))),
            ]
        return [
            *place,
            node["households_total"],
            f["respondents"],
            f["agree"],
            _pct(f["agree_share"]),
            _pct(f["participation"]),
            _pct(f["pass_share"]),
            f["verdict_vi"],
            *(_pct(f["items"][i.id]["share"]) for i in criteria_set.items),
        ]

    return area_rows(summary, row)


def satisfaction_headers(criteria_set: satisfaction.CriteriaSet) -> list[str]:
    return [*SATISFACTION_HEADERS, *(f"Hài lòng: {i.name_vi} (%)" for i in criteria_set.items)]


def satisfaction_workbook(summary: dict, now: dt.datetime | None = None) -> bytes:
    """A sheet per criteria set answered (named by its id), each a table like the CSV's."""
    book = workbook()
    for criteria_set in satisfaction_sets(summary) or [None]:
        sheet = book.create_sheet(criteria_set.id if criteria_set else "Sự hài lòng")
        sheet.append(["KẾT QUẢ KHẢO SÁT SỰ HÀI LÒNG CỦA NGƯỜI DÂN"])
        if criteria_set is not None:
            sheet.append([f"Bộ tiêu chí: {criteria_set.name_vi}"])
        for line in _heading(summary, now):
            sheet.append([line])
        sheet.append([])
        if criteria_set is None:
            sheet.append(["Chưa có phiếu khảo sát nào trong kỳ và địa bàn này."])
            continue
        sheet.append(_bold(sheet, satisfaction_headers(criteria_set)))
        for row in satisfaction_rows(summary, criteria_set):
            sheet.append(row)
    return _saved(book)


def satisfaction_csv(summary: dict, dialect: str = "standard") -> str:
    """One table for every criteria set answered: the set's id first, then the summary columns
    (the per-criterion shares differ between sets and are in the workbook)."""
    sets = satisfaction_sets(summary)
    width = len(SATISFACTION_HEADERS)
    rows = ([s.id, *row[:width]] for s in sets for row in satisfaction_rows(summary, s))
    return _csv(["Bộ tiêu chí", *SATISFACTION_HEADERS], rows, dialect)


def _heading(summary: dict, now: dt.datetime | None) -> list[str]:
    return [f"Kỳ: {summary['period']}", _made_at(now), *waiting_line(summary)]


def waiting_line(summary: dict) -> list[str]:
    """A file's line saying how many submissions of its scope are still being processed."""
    n = summary.get("unprocessed") or 0
    if not n:
        return []
    count = f"{n:,}".replace(",", ".")
    return [f"{count} phiếu trong phạm vi này đang được xử lý, chưa có trong số liệu."]


def _made_at(now: dt.datetime | None) -> str:
    """When the file was made, in Vietnam time with the zone written (it leaves khudan)."""
    local = (now or dt.datetime.now(dt.UTC)).astimezone(VN)
    return f"Lập lúc: {local:%H:%M ngày %d/%m/%Y} (giờ Việt Nam, UTC+07:00)"


def _saved(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(headers: list[str], rows, dialect: str = "standard") -> str:
    """A table as CSV text starting with a BOM and with CRLF line ends, as the submission
    exports: without the BOM, Excel takes UTF-8 for the local code page and garbles Vietnamese."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv_writer(out, dialect=dialect)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue()


def _walk(nodes: list[dict]) -> Iterator[dict]:
    for node in nodes:
        yield node
        yield from _walk(node.get("children", []))


def _bold(sheet, values: list) -> list:
    from openpyxl.cell import WriteOnlyCell  # loaded when a file is written (formulas.workbook)
    from openpyxl.styles import Font

    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def _pct(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 2)
