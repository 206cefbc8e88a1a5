"""The tables poverty-review offices file (``shared/domain/vn-rules.md`` B4 and H5), numbered as
that list numbers them, in the layout an officer prints: the unit and the national motto on top,
the title with the period, STT and unit columns, the figures (rates to two decimals, "Không áp
dụng" where the period's standard has no such class), the place and date in Vietnam time and the
signature blocks; A4 landscape with the header rows repeated on every page.

Every number comes from ``services.reports`` (the same figures as the API, pages and other
files); this module only lays them out. Each table is rows of plain values, written as XLSX, CSV
or JSON; ``pack`` puts them all in one workbook, a sheet per table.

Tables (8)-(11) count what ``poverty_review`` asks since version 2026120401 (ethnicity, người có
công, causes, support) and what the members' answers tell (no labour capacity, social
assistance); (13) and (14) are the cultural-family ones.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from babel.numbers import format_decimal
from sqlalchemy import ColumnElement, case, func, literal, select, text
from sqlalchemy.orm import Session

from .. import errors
from ..domain import characteristics
from ..domain.poverty import load_catalogue
from ..formulas import csv_writer
from ..models import Area, PovertyFact
from ..models.facts import DEPRIVED_CLASSES, DEPRIVED_WHERE, counted
from . import reports
from .scope import Scope, area_clause

VN = dt.timezone(dt.timedelta(hours=7))
NOT_APPLICABLE = "Không áp dụng"
LEVEL = {"province": "tỉnh", "commune": "xã", "area": "thôn"}


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    group: str = ""  # the header above several columns ("Hộ nghèo"), empty for none
    kind: str = "int"  # int, pct (a share 0-1 shown as % to two decimals), text


@dataclass(slots=True)
class Table:
    id: str
    number: int
    title: str
    period: str
    area: str | None
    unit: str  # the unit that files it: "UBND xã Nhơn Châu"
    counts: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unit_header: str = "Đơn vị"  # the second column's heading: what a row is

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "number": self.number,
            "title": self.title,
            "period": self.period,
            "area": self.area,
            "unit": self.unit,
            "counts": self.counts,
            "columns": [
                {"header": c.header, "group": c.group, "kind": c.kind} for c in self.columns
            ],
            "unit_header": self.unit_header,
            "rows": self.rows,
            "notes": self.notes,
        }


def build(
    session: Session,
    scope: Scope,
    table_id: str,
    period: str,
    area_code: str | None = None,
    counts: str = "all",
) -> Table:
    """Table ``table_id`` for the units under ``area_code`` (or the reader's top areas)."""
    if table_id not in TABLES:
        raise errors.NOT_FOUND(what=f"official table {table_id!r}")
    reports.require_area(session, scope, area_code)
    number, title, make = TABLES[table_id]
    unit = _unit(session, area_code)
    table = Table(table_id, number, title, period, area_code, unit, counts, [])
    make(session, scope, table)
    if counts == "approved":
        table.notes.append("Số liệu các phiếu đã được duyệt.")
    domain = "cultural_family" if number in CULTURAL_FAMILY_TABLES else "poverty"
    waiting = reports.unprocessed(session, scope, domain, period, area_code)
    if waiting:
        table.notes.append(
            f"{format_decimal(waiting, locale='vi_VN')} phiếu trong phạm vi này đang được xử lý, "
            "chưa có trong số liệu."
        )
    return table


CULTURAL_FAMILY_TABLES = (13, 14)  # the others count poverty reviews


# -- the tables ------------------------------------------------------------------------------------


def _results(session: Session, scope: Scope, table: Table) -> None:
    """(1) Households and persons per class and unit, rates of the registry, splits."""
    summary = reports.poverty_summary(session, scope, table.period, table.area, depth=1)
    medium = _has_medium_band(table.period)
    table.columns = [
        Column("Tổng số hộ dân cư (sổ hộ)"),
        Column("Số hộ", "Hộ nghèo"),
        Column("Tỷ lệ (%)", "Hộ nghèo", "pct"),
        Column("Số nhân khẩu", "Hộ nghèo"),
        Column("Số hộ", "Hộ cận nghèo"),
        Column("Tỷ lệ (%)", "Hộ cận nghèo", "pct"),
        Column("Số nhân khẩu", "Hộ cận nghèo"),
        Column("Số hộ", "Hộ có mức sống trung bình"),
        Column("Thành thị", "Trong đó hộ nghèo"),
        Column("Nông thôn", "Trong đó hộ nghèo"),
        Column("DTTS", "Trong đó hộ nghèo"),
        Column("Thành thị", "Trong đó hộ cận nghèo"),
        Column("Nông thôn", "Trong đó hộ cận nghèo"),
        Column("DTTS", "Trong đó hộ cận nghèo"),
        Column("Số hộ làm căn cứ tính tỷ lệ"),
        Column("Số thôn/tổ chưa có số hộ (không tính vào tỷ lệ)"),
    ]
    for _code, name, node in _rows(summary):
        f = node[table.counts]
        c, p = f["classes"], f["persons"]
        table.rows.append(
            [
                name,
                node["households_total"],
                c["poor"],
                f["rates"]["poor"],
                p["poor"],
                c["near_poor"],
                f["rates"]["near_poor"],
                p["near_poor"],
                c["medium"] if medium else NOT_APPLICABLE,
                f["urban"]["poor"],
                f["rural"]["poor"],
                f["ethnic_minority"]["poor"],
                f["urban"]["near_poor"],
                f["rural"]["near_poor"],
                f["ethnic_minority"]["near_poor"],
                f["rate_base"]["households"],
                f["rate_base"]["units_left_out"],
            ]
        )
    table.notes.append(
        "Tỷ lệ (%) = số hộ / tổng số hộ dân cư theo sổ hộ của các thôn, tổ có số hộ × 100; "
        "hộ ở thôn, tổ chưa có số hộ không tính vào tỷ lệ."
    )
    if not medium:
        table.notes.append(
            f"{NOT_APPLICABLE}: chuẩn nghèo của kỳ {table.period} không có hộ có mức sống "
            "trung bình."
        )


def _transitions(cls: str) -> Callable[[Session, Scope, Table], None]:
    """(2) and (3): the official categories of change, per unit."""

    def make(session: Session, scope: Scope, table: Table) -> None:
        moves = reports.transitions(session, scope, table.period, table.area, table.counts)
        categories = reports.TRANSITIONS[cls]
        table.columns = [Column(f"{sign} {vi}".strip()) for _key, vi, _en, sign in categories]
        for unit in moves["units"]:
            table.rows.append([unit["name"], *(unit[cls][key] for key, *_ in categories)])
        table.rows.append(["Tổng cộng", *(moves[cls][key] for key, *_ in categories)])
        table.notes.append(
            f"So với kỳ {moves['previous_period']}. Cuối kỳ = đầu kỳ − (các dòng −) + (các dòng +)."
        )

    return make


def _deprivation(cls: str, share: bool) -> Callable[[Session, Scope, Table], None]:
    """(4)-(7): how many poor (near-poor) households lack each indicator, or what share."""

    def make(session: Session, scope: Scope, table: Table) -> None:
        summary = reports.poverty_summary(session, scope, table.period, table.area, depth=1)
        indicators = reports.standard_indicators(table.period)
        group = "Hộ nghèo" if cls == "poor" else "Hộ cận nghèo"
        table.columns = [
            Column(f"Số {group.lower()}"),
            *(Column(i.label_vi, "Thiếu hụt", "pct" if share else "int") for i in indicators),
        ]
        for _code, name, node in _rows(summary):
            f = node[table.counts]
            lacking = f["deprivation"][cls]
            value = "share" if share else "households"
            table.rows.append(
                [name, f["classes"][cls], *(lacking[value][i.id] for i in indicators)]
            )

    return make


def _village_list(session: Session, scope: Scope, table: Table) -> None:
    """(12) The poor and near-poor households of each thôn, for the village meeting."""
    indicators = reports.standard_indicators(table.period)
    f = PovertyFact
    query = (
        select(
            f.area_code,
            f.commune_code,
            f.household_code,
            f.head_name,
            f.poverty_class,
            f.b1_score,
            f.b2_score,
            f.deprivation_count,
            _lacking(f, indicators),
        )
        .where(
            f.period == table.period,
            text(DEPRIVED_WHERE),  # as the partial index spells it, so that it is used
            counted(f),
            scope.clause(f),
        )
        # The poor first ("poor" > "near_poor"), in the order of ix_poverty_facts_list.
        .order_by(f.area_code, f.poverty_class.desc(), f.household_code)
    )
    if table.area is not None:
        query = query.where(area_clause(session, f, table.area))
    if table.counts == "approved":
        query = query.where(f.approved.is_(True))
    table.unit_header = "Thôn"
    table.columns = [
        Column("Mã hộ", kind="text"),
        Column("Họ tên chủ hộ", kind="text"),
        Column("Phân loại", kind="text"),
        Column("Điểm thu nhập (B1)"),
        Column("Điểm thiếu hụt (B2)"),
        Column("Số chỉ số thiếu hụt"),
        Column("Các chỉ số thiếu hụt", kind="text"),
    ]
    # Core rows (no ORM per row) and the names of places looked up once, not joined per row:
    # a province lists every poor and near-poor household.
    rows = session.connection().execute(query).all()
    codes = {c for row in rows for c in row[:2] if c}
    names = (
        dict(session.execute(select(Area.code, Area.full_name).where(Area.code.in_(codes))).all())
        if codes
        else {}
    )
    several = _spans_communes(session, table.area)
    places: dict[tuple, str] = {}
    append = table.rows.append
    for area, commune, code, head, cls, b1, b2, n, lacking in rows:
        where = places.get((area, commune))
        if where is None:
            where = names.get(area) or "(chưa rõ thôn)"
            if several and commune in names:
                where = f"{where}, {names[commune]}"
            places[area, commune] = where
        append([where, code, head, CLASS_VI[cls], b1, b2, n, lacking])


def _lacking(f, indicators) -> ColumnElement[str]:
    """The labels of the indicators a household lacks, comma-separated, written by the database
    (a province lists every poor household: no Python loop per indicator and household)."""
    said = literal("")
    for i in indicators:
        said = said + case((getattr(f, f"lacks_{i.id}").is_(True), f"{i.label_vi}, "), else_="")
    return func.rtrim(said, ", ")


def _characteristic(what: str) -> Callable[[Session, Scope, Table], None]:
    """(8) target groups, (10) causes, (11) support needed: per unit, the poor and near-poor
    households in each (a household may be in several), with the share of the class for (8)."""

    def make(session: Session, scope: Scope, table: Table) -> None:
        summary = reports.characteristics_summary(
            session, scope, table.period, table.area, parts=(what,)
        )
        catalogue = characteristics.load_catalogue()
        listed = {
            "groups": catalogue.target_groups,
            "causes": catalogue.causes,
            "support": catalogue.support,
        }[what]
        with_share = what == "groups"
        table.columns = []
        for cls in DEPRIVED_CLASSES:
            group = CLASS_VI[cls]
            table.columns.append(Column("Tổng số hộ", group))
            for _code, label in listed:
                table.columns.append(Column(label, group))
                if with_share:
                    table.columns.append(Column(f"{label} (%)", group, "pct"))
        unknown = Counter()
        for _code, name, node in _rows(summary):
            f = node[table.counts]
            row = [name]
            for cls in DEPRIVED_CLASSES:
                figures = f[cls][what]
                row.append(f[cls]["households"])
                for code, _label in listed:
                    row.append(figures["households"][code])
                    if with_share:
                        row.append(figures["share"][code])
                if _code is None:
                    gaps = figures["unknown"]
                    unknown[cls] = max(gaps.values()) if isinstance(gaps, dict) else gaps
            table.rows.append(row)
        if what != "groups":
            table.notes.append("Một hộ có thể được tính ở nhiều cột.")
        else:
            table.notes.append("Tỷ lệ (%) = số hộ thuộc nhóm / tổng số hộ nghèo (cận nghèo) × 100.")
        for cls, n in unknown.items():
            if n:
                table.notes.append(
                    f"{n} {CLASS_VI[cls].lower()} chưa có thông tin này (phiếu theo mẫu cũ hoặc "
                    "chưa trả lời): không tính ở cột nào."
                )
        source, mark = catalogue.sources["target_groups" if what == "groups" else what]
        table.notes.append(f"Danh mục: {source} (mức kiểm chứng {mark.value}).")

    return make


def _by_ethnicity(session: Session, scope: Scope, table: Table) -> None:
    """(9) Poor and near-poor households and persons by the head's ethnicity: a row per group
    found (in the statistics office's order), the ethnic minorities together, the total."""
    summary = reports.characteristics_summary(
        session, scope, table.period, table.area, depth=0, parts=("groups",)
    )
    catalogue = characteristics.load_catalogue()
    total = summary["total"][table.counts]
    table.unit_header = "Dân tộc"
    table.columns = [
        column
        for cls in DEPRIVED_CLASSES
        for column in (
            Column("Số hộ", CLASS_VI[cls]),
            Column("Số nhân khẩu", CLASS_VI[cls]),
            Column("Tỷ lệ trong tổng số (%)", CLASS_VI[cls], "pct"),
        )
    ]
    found = [
        e
        for e in catalogue.ethnicities
        if any(e.code in total[cls]["ethnicity"]["households"] for cls in DEPRIVED_CLASSES)
    ]

    def cells(households, persons) -> list:
        out = []
        for cls in DEPRIVED_CLASSES:
            whole = total[cls]["households"]
            out += [
                households[cls],
                persons[cls],
                round(households[cls] / whole, 4) if whole else None,
            ]
        return out

    minority_h, minority_p = Counter(), Counter()
    for e in found:
        h = {c: total[c]["ethnicity"]["households"].get(e.code, 0) for c in DEPRIVED_CLASSES}
        p = {c: total[c]["ethnicity"]["persons"].get(e.code, 0) for c in DEPRIVED_CLASSES}
        table.rows.append([e.name, *cells(h, p)])
        if e.code != catalogue.majority:
            minority_h.update(h)
            minority_p.update(p)
    table.rows.append(["Trong đó: dân tộc thiểu số", *cells(minority_h, minority_p)])
    unknown = {c: total[c]["ethnicity"]["unknown"] for c in DEPRIVED_CLASSES}
    if any(unknown.values()):
        table.rows.append(["Chưa rõ dân tộc", *cells(unknown, Counter())])
        table.notes.append(
            "Chưa rõ dân tộc: phiếu theo mẫu cũ (chỉ hỏi có phải hộ dân tộc thiểu số không); "
            "số nhân khẩu của các hộ này không tách được theo dân tộc."
        )
    table.rows.append(
        [
            "Tổng cộng",
            *cells(
                {c: total[c]["households"] for c in DEPRIVED_CLASSES},
                {c: total[c]["persons"] for c in DEPRIVED_CLASSES},
            ),
        ]
    )
    source, mark = catalogue.sources["ethnicities"]
    table.notes.append(f"Dân tộc của chủ hộ; danh mục: {source} (mức kiểm chứng {mark.value}).")


def _cultural_families(session: Session, scope: Scope, table: Table) -> None:
    """(13) The "Gia đình văn hóa" title per unit: assessed, earned, the shares, disqualified."""
    summary = reports.cultural_family_summary(session, scope, table.period, table.area)
    table.columns = [
        Column("Tổng số hộ dân cư (sổ hộ)"),
        Column("Số hộ được bình xét"),
        Column("Số hộ đạt danh hiệu"),
        Column("Tỷ lệ đạt / số hộ được bình xét (%)", kind="pct"),
        Column("Tỷ lệ đạt / tổng số hộ dân cư (%)", kind="pct"),
        Column("Số hộ không được bình xét do vi phạm"),
    ]
    for _code, name, node in _rows(summary):
        f = node[table.counts]
        total = node["households_total"]
        share = round(f["earned"] / total, 4) if total and f["earned"] <= total else None
        table.rows.append(
            [name, total, f["assessed"], f["earned"], f["rate"], share, f["disqualified"]]
        )
    table.notes.append(
        "Tỷ lệ đạt / tổng số hộ dân cư chỉ tính ở đơn vị có số hộ trong sổ hộ; để trống ở đơn vị "
        "chưa có."
    )


def _cultural_thon(session: Session, scope: Scope, table: Table) -> None:
    """(14) Each thôn, tổ dân phố under the selection and its "văn hóa" title: the registry's
    households, the families holding the title and their share against the province's minimum,
    the result, and the disqualified families with the reasons."""
    summary = reports.cultural_family_summary(session, scope, table.period, table.area, depth=3)
    table.unit_header = "Thôn, tổ dân phố"
    table.columns = [
        Column("Tổng số hộ dân cư (sổ hộ)"),
        Column("Số hộ đạt danh hiệu gia đình văn hóa"),
        Column("Tỷ lệ / tổng số hộ (%)", kind="pct"),
        Column("Tỷ lệ tối thiểu (%)", kind="pct"),
        Column("Kết quả", kind="text"),
        Column("Hộ không được bình xét và lý do", kind="text"),
    ]
    sources = set()
    several = _spans_communes(session, table.area)

    def walk(node: dict, commune: str | None = None) -> None:
        if node["level"] == "commune":
            commune = node["name"]
        if node["level"] == "area":
            f = node[table.counts]
            title = f["thon_title"]
            sources.add(f"{title['rule']['source']} (mức kiểm chứng {title['rule']['mark']})")
            excluded = "; ".join(
                f"{h['household_code']} {h['head_name'] or ''}: {', '.join(h['reasons'])}".strip()
                for h in f["disqualified_households"]
            )
            table.rows.append(
                [
                    f"{node['name']}, {commune}" if several and commune else node["name"],
                    title["households"],
                    f["earned"],
                    title["share_of_households"],
                    title["min_share"],
                    title["label_vi"],
                    excluded,
                ]
            )
        for child in node.get("children", []):
            walk(child, commune)

    for top in summary["areas"]:
        walk(top)
    for source in sorted(sources):
        table.notes.append(f"Tỷ lệ tối thiểu: {source}.")


CLASS_VI = {"poor": "Hộ nghèo", "near_poor": "Hộ cận nghèo"}
TABLES: dict[str, tuple[int, str, Callable[[Session, Scope, Table], None]]] = {
    "ket-qua": (
        1,
        "TỔNG HỢP KẾT QUẢ RÀ SOÁT HỘ NGHÈO, HỘ CẬN NGHÈO, HỘ CÓ MỨC SỐNG TRUNG BÌNH",
        _results,
    ),
    "dien-bien-ho-ngheo": (2, "TỔNG HỢP DIỄN BIẾN HỘ NGHÈO", _transitions("poor")),
    "dien-bien-ho-can-ngheo": (3, "TỔNG HỢP DIỄN BIẾN HỘ CẬN NGHÈO", _transitions("near_poor")),
    "thieu-hut-ho-ngheo": (
        4,
        "PHÂN TÍCH CHỈ SỐ THIẾU HỤT DỊCH VỤ XÃ HỘI CƠ BẢN CỦA HỘ NGHÈO (SỐ HỘ)",
        _deprivation("poor", share=False),
    ),
    "thieu-hut-ho-ngheo-ty-le": (
        5,
        "PHÂN TÍCH CHỈ SỐ THIẾU HỤT DỊCH VỤ XÃ HỘI CƠ BẢN CỦA HỘ NGHÈO (TỶ LỆ %)",
        _deprivation("poor", share=True),
    ),
    "thieu-hut-ho-can-ngheo": (
        6,
        "PHÂN TÍCH CHỈ SỐ THIẾU HỤT DỊCH VỤ XÃ HỘI CƠ BẢN CỦA HỘ CẬN NGHÈO (SỐ HỘ)",
        _deprivation("near_poor", share=False),
    ),
    "thieu-hut-ho-can-ngheo-ty-le": (
        7,
        "PHÂN TÍCH CHỈ SỐ THIẾU HỤT DỊCH VỤ XÃ HỘI CƠ BẢN CỦA HỘ CẬN NGHÈO (TỶ LỆ %)",
        _deprivation("near_poor", share=True),
    ),
    "nhom-doi-tuong": (
        8,
        "PHÂN TÍCH HỘ NGHÈO, HỘ CẬN NGHÈO THEO CÁC NHÓM ĐỐI TƯỢNG",
        _characteristic("groups"),
    ),
    "dan-toc": (9, "PHÂN TÍCH HỘ NGHÈO, HỘ CẬN NGHÈO THEO DÂN TỘC", _by_ethnicity),
    "nguyen-nhan": (
        10,
        "PHÂN TÍCH HỘ NGHÈO, HỘ CẬN NGHÈO THEO NGUYÊN NHÂN NGHÈO",
        _characteristic("causes"),
    ),
    "nhu-cau-ho-tro": (
        11,
        "PHÂN TÍCH HỘ NGHÈO, HỘ CẬN NGHÈO THEO NHU CẦU HỖ TRỢ",
        _characteristic("support"),
    ),
    "danh-sach-hop-dan": (
        12,
        "DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO THEO THÔN (ĐƯA RA HỌP DÂN)",
        _village_list,
    ),
    "gia-dinh-van-hoa": (
        13,
        'TỔNG HỢP KẾT QUẢ BÌNH XÉT DANH HIỆU "GIA ĐÌNH VĂN HÓA"',
        _cultural_families,
    ),
    "thon-van-hoa": (
        14,
        'KẾT QUẢ XÉT DANH HIỆU "THÔN, TỔ DÂN PHỐ VĂN HÓA"',
        _cultural_thon,
    ),
}


# -- files -----------------------------------------------------------------------------------------


def xlsx(tables: list[Table], now: dt.datetime | None = None) -> bytes:
    """One sheet per table, laid out as printed."""
    from openpyxl import Workbook  # loaded when a file is written (see formulas.workbook)

    book = Workbook()
    book.remove(book.active)
    for table in tables:
        _sheet(book, table, now)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_text(table: Table, dialect: str = "standard") -> str:
    """The table's rows under one header line (group and column), UTF-8 with a BOM for Excel;
    ``dialect="excel-vn"``: semicolons and decimal commas, as Excel in Vietnamese expects."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv_writer(out, dialect=dialect)
    writer.writerow(["STT", table.unit_header, *(_flat(c) for c in table.columns)])
    for n, row in enumerate(table.rows, start=1):
        writer.writerow([_stt(n, row, table), *row])
    return out.getvalue()


def _sheet(book, table: Table, now: dt.datetime | None) -> None:
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(f"({table.number}) {table.id}"[:31])
    width = 2 + len(table.columns)
    bold = Font(bold=True)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    half = max(width // 2, 2)

    def line(row: int, first: int, last: int, text: str, font=None) -> None:
        sheet.cell(row, first, text).alignment = centre
        if font:
            sheet.cell(row, first).font = font
        if last > first:
            sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)

    line(1, 1, half - 1, table.unit.upper(), bold)
    line(1, half, width, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold)
    line(2, half, width, "Độc lập - Tự do - Hạnh phúc", bold)
    line(4, 1, width, f"Biểu số {table.number}. {table.title}", Font(bold=True, size=13))
    line(5, 1, width, f"Kỳ rà soát: {table.period}")
    # Two header rows: the groups, then the columns (a column without a group spans both).
    head = 7
    for col, label in ((1, "STT"), (2, table.unit_header)):
        sheet.cell(head, col, label)
        sheet.merge_cells(start_row=head, start_column=col, end_row=head + 1, end_column=col)
    col = 3
    while col <= width:
        column = table.columns[col - 3]
        span = 1
        while (
            col + span <= width
            and column.group
            and table.columns[col + span - 3].group == column.group
        ):
            span += 1
        if column.group:
            line(head, col, col + span - 1, column.group)
            for k in range(span):
                sheet.cell(head + 1, col + k, table.columns[col + k - 3].header)
        else:
            sheet.cell(head, col, column.header)
            sheet.merge_cells(start_row=head, start_column=col, end_row=head + 1, end_column=col)
        col += span
    for r in (head, head + 1):
        for c in range(1, width + 1):
            cell = sheet.cell(r, c)
            cell.font, cell.alignment, cell.border = bold, centre, box
    row = head + 2
    for n, values in enumerate(table.rows, start=1):
        cells = [_stt(n, values, table), *values]
        for c, value in enumerate(cells, start=1):
            kind = table.columns[c - 3].kind if c > 2 else "text"
            shown = value
            if kind == "pct" and isinstance(value, int | float):
                shown = round(value * 100, 2)
            cell = sheet.cell(row, c, shown)
            if cell.data_type == "f":  # text typed by a person is never a formula
                cell.data_type = "s"
            cell.border = box
            if kind == "pct":
                cell.number_format = "0.00"
        if values and values[0] == "Tổng cộng":
            for c in range(1, width + 1):
                sheet.cell(row, c).font = bold
        row += 1
    row += 1
    for note in table.notes:
        sheet.cell(row, 1, f"Ghi chú: {note}")
        row += 1
    local = (now or dt.datetime.now(dt.UTC)).astimezone(VN)
    place = table.unit.removeprefix("UBND ").strip()
    line(row + 1, half, width, f"{place}, ngày {local:%d} tháng {local:%m} năm {local:%Y}")
    line(row + 2, 1, half - 1, "NGƯỜI LẬP BIỂU", bold)
    line(row + 2, half, width, "TM. ỦY BAN NHÂN DÂN", bold)
    line(row + 3, half, width, "CHỦ TỊCH", bold)
    line(row + 4, 1, half - 1, "(Ký, ghi rõ họ tên)")
    line(row + 4, half, width, "(Ký tên, đóng dấu)")
    sheet.column_dimensions["A"].width = 6
    sheet.column_dimensions["B"].width = 28
    for c in range(3, width + 1):
        sheet.column_dimensions[get_column_letter(c)].width = 14
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{head}:{head + 1}"


def _stt(n: int, row: list, table: Table) -> int | str:
    return "" if row and row[0] == "Tổng cộng" else n


def _flat(column: Column) -> str:
    return f"{column.group} - {column.header}" if column.group else column.header


def _rows(summary: dict):
    """(code, name, figures) per unit under the selection, then the total (code None)."""
    for node in _units(summary):
        yield node["code"], node["name"], node
    yield None, "Tổng cộng", summary["total"]


def _units(summary: dict) -> list[dict]:
    tops = summary["areas"]
    return (tops[0].get("children") or tops) if len(tops) == 1 else tops


def _unit(session: Session, code: str | None) -> str:
    if code is None:
        return "UBND"
    row = session.execute(select(Area.full_name, Area.level).where(Area.code == code)).first()
    if row is None:
        return "UBND"
    return f"UBND {row.full_name}"


def _spans_communes(session: Session, code: str | None) -> bool:
    """Whether a list of thôn under ``code`` holds several communes' (then each names its own)."""
    if code is None:
        return True
    level = session.scalar(select(Area.level).where(Area.code == code))
    return level not in ("commune", "area")


def _has_medium_band(period: str) -> bool:
    try:
        return load_catalogue().national(int(period[:4])).medium_band is not None
    except (ValueError, LookupError):
        return False


def pack(
    session: Session, scope: Scope, period: str, area_code: str | None, counts: str = "all"
) -> list[Table]:
    """Every table, in their numbers' order."""
    return [build(session, scope, t, period, area_code, counts) for t in TABLES]
