"""The results as files people keep (XLSX, CSV), for the REST API and the results pages alike: the
figures, the file, its name and the audit event in one place, so both give the same bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .. import errors
from ..models import User
from ..xlsxstream import XLSX_TYPE
from . import audit, exports, official, reports
from .scope import Scope

FORMATS = ("xlsx", "csv")
# kind -> (summary, workbook, CSV table, file name stem); poverty has its own (change sheet, counts)
AREA_FILES = {
    "cultural-family": (
        reports.cultural_family_summary,
        exports.cultural_family_workbook,
        exports.cultural_family_csv,
        "gia-dinh-van-hoa",
    ),
    "satisfaction": (
        reports.satisfaction_summary,
        exports.satisfaction_workbook,
        exports.satisfaction_csv,
        "su-hai-long",
    ),
}
KINDS = ("poverty", *AREA_FILES)


@dataclass(frozen=True, slots=True)
class ReportFile:
    body: bytes | str
    mimetype: str
    name: str


def report_file(
    session: Session,
    user: User | None,
    kind: str,
    fmt: str,
    period: str,
    area: str | None = None,
    counts: str = "all",
    dialect: str = "standard",
) -> ReportFile:
    """The table of ``kind`` for the user's areas (NOT_FOUND for an area outside them; no user:
    the command line, everything), every level down to the thôn; the export is audited in the
    caller's transaction."""
    scope = Scope.of(session, user) if user is not None else Scope(everything=True)
    as_csv = fmt == "csv"
    if kind == "poverty":
        summary = reports.poverty_summary(session, scope, period, area, depth=4)
        if as_csv:
            body = exports.poverty_csv(summary, counts, dialect)
        else:
            moves = reports.transitions(session, scope, period, area, counts, with_households=True)
            body = exports.poverty_workbook(summary, moves, counts)
        stem = "ra-soat-ho-ngheo"
    else:
        compute, workbook, table, stem = AREA_FILES[kind]
        summary = compute(session, scope, period, area, 4)
        # Cultural family has approved-only figures beside all, as poverty; satisfaction not yet.
        extra = {"counts": counts} if kind == "cultural-family" else {}
        body = table(summary, **extra, dialect=dialect) if as_csv else workbook(summary, **extra)
    audit.record(
        session,
        user.id if user is not None else None,
        "report.export",
        f"report:{kind}",
        period=period,
        area=area,
        format=fmt,
    )
    name = f"{stem}-{period}-{area or 'tat-ca'}.{fmt}"
    return ReportFile(body, "text/csv" if as_csv else XLSX_TYPE, name)


OFFICIAL_FORMATS = ("xlsx", "csv", "json")


def official_file(
    session: Session,
    user: User | None,
    table: str,
    fmt: str,
    period: str,
    area: str | None,
    counts: str = "all",
    dialect: str = "standard",
) -> ReportFile:
    """An official table (``services.official``) as XLSX, CSV or JSON, or ``pack``: all of them
    in one workbook; audited in the caller's transaction like every report file."""
    scope = Scope.of(session, user) if user is not None else Scope(everything=True)
    if table == "pack":
        if fmt != "xlsx":
            raise errors.NOT_FOUND(what=f"the pack as {fmt} (it is one workbook: .xlsx)")
        tables = official.pack(session, scope, period, area, counts)
    else:
        tables = [official.build(session, scope, table, period, area, counts)]
    if fmt == "xlsx":
        body, mimetype = official.xlsx(tables), XLSX_TYPE
    elif fmt == "csv":
        body, mimetype = official.csv_text(tables[0], dialect), "text/csv"
    else:
        body, mimetype = json.dumps(tables[0].as_json(), ensure_ascii=False), "application/json"
    audit.record(
        session,
        user.id if user is not None else None,
        "report.export",
        f"official:{table}",
        period=period,
        area=area,
        format=fmt,
        counts=counts,
    )
    name = f"bieu-{table}-{period}" + (f"-{area}" if area else "") + f".{fmt}"
    return ReportFile(body, mimetype, name)
