"""The results pages: the per-area tables of the reports (poverty and its change from the previous
period, "Gia đình văn hóa", satisfaction) laid out as the files people download, with the files
(XLSX, CSV) and the charts (PNG). Tables, files and charts come from the services the API uses
(``reports``, ``exports``, ``report_files``, ``charts``), under the same scoping: an area outside
the user's subtrees is not found."""

from __future__ import annotations

from flask import Response, abort, render_template, request, url_for

from khudan.schemas.reports import AreaExportQuerySchema, ChartQuerySchema, ExportQuerySchema

from ..models.base import utcnow
from ..runtime import current
from ..services import activity, charts, exports, official, report_files, reports
from ..services.scope import Scope
from . import bp
from .args import load_args
from .auth import REVIEWERS, current_user, login_required
from .dashboard import ancestry

TABS = {
    "poverty": "Hộ nghèo, cận nghèo",
    "cultural-family": "Gia đình văn hóa",
    "satisfaction": "Sự hài lòng",
}
CHARTS = {
    "poverty-rate": "Tỷ lệ hộ nghèo, cận nghèo theo địa bàn",
    "deprivation": "Số hộ thiếu hụt từng chỉ số",
    "change": "Diễn biến qua các kỳ",
}


@bp.get("/results")
@login_required(*REVIEWERS)
def results():
    kind = request.args.get("kind", "poverty")
    if kind not in TABS:
        abort(404)
    user = current_user()
    with current().db.session() as session:
        choices = activity.periods(session, user)
        wanted = request.args.to_dict()
        if not wanted.get("period"):
            wanted["period"] = choices[0] if choices else str(utcnow().year)
        q = load_args(ExportQuerySchema(), wanted)
        period, area, counts = q["period"], q["area"], q["counts"]
        scope = Scope.of(session, user)
        crumbs = ancestry(session, user, area)
        tables, moves = [], None
        if kind == "poverty":
            summary = reports.poverty_summary(session, scope, period, area, depth=4)
            tables.append(("", exports.HEADERS, list(exports.poverty_rows(summary, counts))))
            moves = reports.transitions(session, scope, period, area, counts)
        elif kind == "cultural-family":
            summary = reports.cultural_family_summary(session, scope, period, area, depth=4)
            rows = list(exports.cultural_family_rows(summary, counts))
            tables.append(("", exports.CULTURAL_FAMILY_HEADERS, rows))
        else:
            summary = reports.satisfaction_summary(session, scope, period, area, depth=4)
            for criteria_set in exports.satisfaction_sets(summary):
                rows = list(exports.satisfaction_rows(summary, criteria_set))
                tables.append(
                    (criteria_set.name_vi, exports.satisfaction_headers(criteria_set), rows)
                )
    args = {"period": period, "area": area or None}
    return render_template(
        "results.html",
        kind=kind,
        tabs=TABS,
        charts=CHARTS if kind == "poverty" else {},
        period=period,
        periods=sorted({*choices, period}, reverse=True),
        area=area,
        counts=counts,
        places=[(a["code"], a["name"]) for a in summary["areas"]],
        crumbs=crumbs,
        tables=tables,
        moves=moves,
        unprocessed=summary["unprocessed"],
        transition_rows=reports.TRANSITIONS,
        official=[(t, n, title) for t, (n, title, _make) in official.TABLES.items()]
        if kind == "poverty"
        else [],
        args=args,
        files={
            **{
                fmt: url_for("web.results_file", kind=kind, fmt=fmt, counts=counts, **args)
                for fmt in report_files.FORMATS
            },
            "csv_vn": url_for(
                "web.results_file", kind=kind, fmt="csv", counts=counts, dialect="excel-vn", **args
            ),
        },
    )


@bp.get("/results/<kind>.<fmt>")
@login_required(*REVIEWERS)
def results_file(kind: str, fmt: str):
    """The table as XLSX or CSV, exactly as ``/api/v1/reports/<kind>.<fmt>`` gives it."""
    if kind not in report_files.KINDS or fmt not in report_files.FORMATS:
        abort(404)
    schema = ExportQuerySchema() if kind == "poverty" else AreaExportQuerySchema()
    q = load_args(schema, request.args)
    with current().db.session() as session:
        file = report_files.report_file(
            session,
            current_user(),
            kind,
            fmt,
            q["period"],
            q["area"],
            q.get("counts", "all"),
            q["dialect"],
        )
        session.commit()
    response = Response(file.body, mimetype=file.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{file.name}"'
    return response


@bp.get("/charts/<kind>.png")
@login_required(*REVIEWERS)
def chart(kind: str):
    """A chart as ``/api/v1/reports/charts/<kind>.png`` draws it (``?width=`` for a phone)."""
    if kind not in charts.KINDS:
        abort(404)
    q = load_args(ChartQuerySchema(), request.args)
    with current().db.session() as session:
        scope = Scope.of(session, current_user())
        png = charts.chart_png(
            session, scope, kind, q["period"], q["area"], q["counts"], q["width"]
        )
    response = Response(png, mimetype="image/png")
    name = charts.file_name(kind, q["period"], q["area"])
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@bp.get("/results/official/<table>.<fmt>")
@login_required(*REVIEWERS)
def official_file(table: str, fmt: str):
    """An official table (biểu số N) or the pack, as ``/api/v1/reports/official/...`` gives it."""
    if fmt not in report_files.OFFICIAL_FORMATS or fmt == "json":
        abort(404)
    q = load_args(ExportQuerySchema(), request.args)
    with current().db.session() as session:
        file = report_files.official_file(
            session, current_user(), table, fmt, q["period"], q["area"], q["counts"], q["dialect"]
        )
        session.commit()
    response = Response(file.body, mimetype=file.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{file.name}"'
    return response
