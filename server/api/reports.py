"""GET /reports/...: results per area and period, within the caller's areas."""

from __future__ import annotations

from flask import Response, request
from flask_restx import Namespace, Resource

from khudan.schemas.common import ErrorSchema
from khudan.schemas.reports import (
    AreaExportQuerySchema,
    AreaReportSchema,
    ChartQuerySchema,
    ExportQuerySchema,
    PovertyQuerySchema,
    PovertySummarySchema,
    TransitionQuerySchema,
    TransitionsSchema,
)

from .. import errors
from ..models import Role
from ..runtime import current
from ..services import charts, report_files, reports
from ..services.scope import Scope
from ..xlsxstream import XLSX_TYPE
from . import api, docs, load
from .auth import current_user, requires

ns = Namespace("reports", description="Results per residential area, rolled up the area tree")
api.add_namespace(ns, path="/reports")
error = docs.model(ns, ErrorSchema)
error_docs = docs.errors_for(
    ns, error, {403: "Not a supervisor or admin", 404: "Unknown area, or outside your areas"}
)
READERS = (Role.SUPERVISOR, Role.ADMIN)


def _args(schema) -> object:
    parser = ns.parser()
    for name, f in schema().fields.items():
        parser.add_argument(name, location="args", required=f.required)
    return parser


@ns.route("/poverty")
class Poverty(Resource):
    @ns.expect(_args(PovertyQuerySchema))
    @ns.response(200, "Figures per area", docs.model(ns, PovertySummarySchema))
    @error_docs(401, 403, 404, (422, "Invalid period or depth"))
    @requires(*READERS)
    def get(self):
        """Poor, near-poor, medium and not poor households, counts and rates, approved and all."""
        q = load(PovertyQuerySchema(), request.args.to_dict())
        with current().db.session() as session:
            scope = Scope.of(session, current_user())
            body = reports.poverty_summary(session, scope, q["period"], q["area"], q["depth"])
        return PovertySummarySchema().dump(body)


@ns.route("/poverty/transitions")
class Transitions(Resource):
    @ns.expect(_args(TransitionQuerySchema))
    @ns.response(200, "Change from the previous period", docs.model(ns, TransitionsSchema))
    @error_docs(401, 403, (422, "Invalid period"))
    @requires(*READERS)
    def get(self):
        """Household by household since the previous period, in the categories of the official
        tables (tổng hợp diễn biến hộ nghèo / hộ cận nghèo), for the area and per unit under it."""
        q = load(TransitionQuerySchema(), request.args.to_dict())
        with current().db.session() as session:
            body = reports.transitions(
                session,
                Scope.of(session, current_user()),
                q["period"],
                q["area"],
                q["counts"],
                q["households"],
            )
        return TransitionsSchema().dump(body)


@ns.route("/cultural-family")
class CulturalFamily(Resource):
    @ns.expect(_args(PovertyQuerySchema))
    @ns.response(200, "Figures per area", docs.model(ns, AreaReportSchema))
    @error_docs(401, 403, 404, (422, "Invalid period or depth"))
    @requires(*READERS)
    def get(self):
        """Households assessed, "Gia đình văn hóa" count and rate, most failed criteria, and
        whether each thôn meets its province's share for "Thôn/Tổ dân phố văn hóa"."""
        return _area_report(reports.cultural_family_summary)


@ns.route("/satisfaction")
class Satisfaction(Resource):
    @ns.expect(_args(PovertyQuerySchema))
    @ns.response(200, "Figures per area and criteria set", docs.model(ns, AreaReportSchema))
    @error_docs(401, 403, 404, (422, "Invalid period or depth"))
    @requires(*READERS)
    def get(self):
        """Share satisfied per criterion, agreement, participation, and pass or not."""
        return _area_report(reports.satisfaction_summary)


def _area_report(compute):
    q = load(PovertyQuerySchema(), request.args.to_dict())
    with current().db.session() as session:
        scope = Scope.of(session, current_user())
        body = compute(session, scope, q["period"], q["area"], q["depth"])
    return AreaReportSchema().dump(body)


@ns.route("/poverty.xlsx", "/poverty.csv")
class PovertyFile(Resource):
    @ns.expect(_args(ExportQuerySchema))
    @ns.produces([XLSX_TYPE, "text/csv"])
    @ns.response(200, "The summary table as a file (a row per thôn, subtotals, total)")
    @error_docs(401, 403, 404, (422, "Invalid period"))
    @requires(*READERS)
    def get(self):
        """The poverty summary as XLSX (tables, deprivation, change) or CSV (the table)."""
        return _file("poverty", ExportQuerySchema)


@ns.route("/cultural-family.xlsx", "/cultural-family.csv")
class CulturalFamilyFile(Resource):
    @ns.expect(_args(AreaExportQuerySchema))
    @ns.produces([XLSX_TYPE, "text/csv"])
    @ns.response(200, "The table as a file (a row per thôn, subtotals, total)")
    @error_docs(401, 403, 404, (422, "Invalid period"))
    @requires(*READERS)
    def get(self):
        """ "Gia đình văn hóa" per thôn: assessed, earned, rate, criteria failed most, thôn title."""
        return _file("cultural-family", AreaExportQuerySchema)


@ns.route("/satisfaction.xlsx", "/satisfaction.csv")
class SatisfactionFile(Resource):
    @ns.expect(_args(AreaExportQuerySchema))
    @ns.produces([XLSX_TYPE, "text/csv"])
    @ns.response(200, "The table as a file (a row per thôn, subtotals, total)")
    @error_docs(401, 403, 404, (422, "Invalid period"))
    @requires(*READERS)
    def get(self):
        """Satisfaction per thôn and criteria set: respondents, agreement, participation, pass,
        and (XLSX, a sheet per set) the share satisfied with each criterion."""
        return _file("satisfaction", AreaExportQuerySchema)


def _file(kind: str, schema) -> Response:
    q = load(schema(), request.args.to_dict())
    fmt = request.path.rsplit(".", 1)[-1]
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


@ns.route("/official/<string:table>.<string:fmt>")
@ns.doc(
    params={
        "table": "ket-qua, dien-bien-ho-ngheo, dien-bien-ho-can-ngheo, thieu-hut-ho-ngheo, "
        "thieu-hut-ho-ngheo-ty-le, thieu-hut-ho-can-ngheo, thieu-hut-ho-can-ngheo-ty-le, "
        "nhom-doi-tuong, dan-toc, nguyen-nhan, nhu-cau-ho-tro, danh-sach-hop-dan, "
        "gia-dinh-van-hoa, thon-van-hoa; or pack (every table, .xlsx only)",
        "fmt": "xlsx, csv or json",
    }
)
class OfficialTable(Resource):
    @ns.expect(_args(ExportQuerySchema))
    @ns.produces([XLSX_TYPE, "text/csv", "application/json"])
    @ns.response(200, "The table as an officer files it (biểu số N), or all of them (pack)")
    @error_docs(401, 403, 404, (422, "Invalid period or counts"))
    @requires(*READERS)
    def get(self, table: str, fmt: str):
        """The official tables (vn-rules B4/H5): results (1), transitions of the poor (2) and
        near-poor (3), deprivations in counts and % (4)-(7), target groups (8), ethnicity (9),
        causes (10), support needed (11), the list of poor and near-poor households per thôn for
        the village meeting (12), the cultural-family title (13) and thôn văn hóa (14); A4
        landscape, signatures, Vietnam time."""
        if fmt not in report_files.OFFICIAL_FORMATS:
            raise errors.NOT_FOUND(what=f"official table format {fmt!r}")
        q = load(ExportQuerySchema(), request.args.to_dict())
        with current().db.session() as session:
            file = report_files.official_file(
                session,
                current_user(),
                table,
                fmt,
                q["period"],
                q["area"],
                q["counts"],
                q["dialect"],
            )
            session.commit()
        response = Response(file.body, mimetype=file.mimetype)
        if fmt != "json":
            response.headers["Content-Disposition"] = f'attachment; filename="{file.name}"'
        return response


@ns.route(*(f"/charts/{kind}.png" for kind in charts.KINDS))
class Chart(Resource):
    @ns.expect(_args(ChartQuerySchema))
    @ns.produces(["image/png"])
    @ns.response(200, "A PNG chart, with a 'Chưa có số liệu / No data' image when nothing counts")
    @error_docs(401, 403, 404, (422, "Invalid period, counts or width"))
    @requires(*READERS)
    def get(self):
        """Poor and near-poor rate per area below (poverty-rate), households lacking each
        indicator (deprivation), counts over the last five periods with the last moves (change)."""
        q = load(ChartQuerySchema(), request.args.to_dict())
        kind = request.path.rsplit("/", 1)[-1].removesuffix(".png")
        with current().db.session() as session:
            scope = Scope.of(session, current_user())
            png = charts.chart_png(
                session, scope, kind, q["period"], q["area"], q["counts"], q["width"]
            )
        response = Response(png, mimetype="image/png")
        name = charts.file_name(kind, q["period"], q["area"])
        response.headers["Content-Disposition"] = f'inline; filename="{name}"'
        return response
