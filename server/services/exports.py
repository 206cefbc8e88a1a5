"""Files people use: the poverty summary table as XLSX (laid out like the official biểu tổng hợp)
and as CSV.

A row per residential area under its commune, a subtotal row per commune and a total row for the
whole selection; Vietnamese headers; the period and the time of generation on top; numbers stored
as numbers. The workbook is written in openpyxl's write-only mode, row by row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from ..domain.poverty import load_catalogue

HEADERS = [
    "Mã địa bàn",
    "Địa bàn",
    "Cấp",
    "Tổng số hộ",
    "Số hộ được rà soát",
    "Hộ nghèo",
    "Tỷ lệ hộ nghèo (%)",
    "Hộ cận nghèo",
    "Tỷ lệ hộ cận nghèo (%)",
    "Hộ có mức sống trung bình",
    "Hộ không nghèo",
    "Hộ nghèo DTTS",
    "Hộ nghèo thành thị",
    "Hộ nghèo nông thôn",
]
LEVEL_VI = {"province": "Tỉnh", "district": "Huyện", "commune": "Xã/phường", "area": "Thôn/tổ"}
TRANSITION_HEADERS = ["Chỉ tiêu", "Đầu kỳ", "Thoát", "Vẫn còn", "Tái", "Phát sinh", "Cuối kỳ"]


def poverty_rows(summary: dict, counts: str = "all") -> Iterator[list]:
    """Table rows: each commune's residential areas, then its subtotal; a total at the end."""
    for top in summary["areas"]:
        yield from _rows(top, counts)


def _rows(node: dict, counts: str) -> Iterator[list]:
    children = node.get("children", [])
    if node["level"] == "commune" or not children:
        for child in children:
            yield _row(child, counts, label=child["name"])
        yield _row(node, counts, label=(f"Cộng {node['name']}" if children else node["name"]))
        return
    for child in children:
        yield from _rows(child, counts)
    yield _row(node, counts, label=f"Tổng cộng {node['name']}")


def _row(node: dict, counts: str, label: str) -> list:
    f = node[counts]
    classes, rates = f["classes"], f["rates"]
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
        classes["medium"],
        classes["not_poor"],
        f["ethnic_minority"]["poor"],
        f["urban"]["poor"],
        f["rural"]["poor"],
    ]


def poverty_workbook(
    summary: dict, moves: dict, counts: str = "all", now: dt.datetime | None = None
) -> bytes:
    now = now or dt.datetime.now(dt.UTC)
    book = Workbook(write_only=True)
    what = "đã duyệt" if counts == "approved" else "không bị từ chối"
    heading = [
        f"Kỳ rà soát: {summary['period']} — số liệu các phiếu {what}",
        f"Lập lúc: {now:%d/%m/%Y %H:%M} (UTC)",
    ]
    sheet = book.create_sheet("Tổng hợp hộ nghèo")
    sheet.append(["BIỂU TỔNG HỢP KẾT QUẢ RÀ SOÁT HỘ NGHÈO, HỘ CẬN NGHÈO"])
    for line in heading:
        sheet.append([line])
    sheet.append([])
    sheet.append(_bold(sheet, HEADERS))
    for row in poverty_rows(summary, counts):
        sheet.append(row)

    labels = {i.id: i.label_vi for s in load_catalogue().standards for i in s.indicators}
    deprivation = book.create_sheet("Thiếu hụt dịch vụ")
    deprivation.append(["PHÂN TÍCH CHỈ SỐ THIẾU HỤT (hộ nghèo và cận nghèo)"])
    for line in heading:
        deprivation.append([line])
    deprivation.append([])
    indicators = sorted({k for top in summary["areas"] for k in top[counts]["deprivation"]})
    deprivation.append(
        _bold(deprivation, ["Mã địa bàn", "Địa bàn", *(labels.get(i, i) for i in indicators)])
    )
    for node in _walk(summary["areas"]):
        counts_by = node[counts]["deprivation"]
        deprivation.append([node["code"], node["name"], *(counts_by.get(i, 0) for i in indicators)])

    change = book.create_sheet("Diễn biến")
    change.append(
        [f"DIỄN BIẾN HỘ NGHÈO, CẬN NGHÈO: {moves['previous_period']} → {moves['period']}"]
    )
    for line in heading[1:]:
        change.append([line])
    change.append([])
    change.append(_bold(change, TRANSITION_HEADERS))
    for key, name in (("poor", "Hộ nghèo"), ("near_poor", "Hộ cận nghèo")):
        m = moves[key]
        change.append(
            [name, m["start"], m["escaped"], m["still"], m["fell_back"], m["newly"], m["end"]]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def poverty_csv(summary: dict, counts: str = "all") -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS)
    writer.writerows(poverty_rows(summary, counts))
    return out.getvalue()


def _walk(nodes: list[dict]) -> Iterator[dict]:
    for node in nodes:
        yield node
        yield from _walk(node.get("children", []))


def _bold(sheet, values: list) -> list:
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def _pct(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 2)
