"""GET /reports/...: results per area and period, within the caller's areas."""

from __future__ import annotations

from flask import Response, request
from flask_restx import Namespace, Resource

from schemas.common import ErrorSchema
from schemas.reports import (
    AreaReportSchema,
    ExportQuerySchema,
    PovertyQuerySchema,
    PovertySummarySchema,
    TransitionQuerySchema,
    TransitionsSchema,
)

from ..models import Role
from ..runtime import current
from ..services import audit, exports, reports
from ..services.scope import Scope
from . import api, docs, load
from .auth import current_user, requires

ns = Namespace("reports", description="Results per residential area, rolled up the area tree")
api.add_namespace(ns, path="/reports")
error = docs.model(ns, ErrorSchema)
READERS = (Role.SUPERVISOR, Role.ADMIN)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _args(schema) -> object:
    parser = ns.parser()
    for name, f in schema().fields.items():
        parser.add_argument(name, location="args", required=f.required)
    return parser


@ns.route("/poverty")
class Poverty(Resource):
    @ns.expect(_args(PovertyQuerySchema))
    @ns.response(200, "Figures per area", docs.model(ns, PovertySummarySchema))
    @ns.response(401, "Not logged in", error)
    @ns.response(403, "Not a supervisor or admin", error)
    @ns.response(404, "Unknown area, or outside your areas", error)
    @ns.response(422, "Invalid period or depth", error)
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
    @ns.response(401, "Not logged in", error)
    @ns.response(403, "Not a supervisor or admin", error)
    @ns.response(422, "Invalid period", error)
    @requires(*READERS)
    def get(self):
        """Escaped, still poor, fell back (tái nghèo), newly poor (phát sinh); start and end."""
        q = load(TransitionQuerySchema(), request.args.to_dict())
        with current().db.session() as session:
            body = reports.transitions(
                session, Scope.of(session, current_user()), q["period"], q["area"]
            )
        return TransitionsSchema().dump(body)


@ns.route("/cultural-family")
class CulturalFamily(Resource):
    @ns.expect(_args(PovertyQuerySchema))
    @ns.response(200, "Figures per area", docs.model(ns, AreaReportSchema))
    @ns.response(401, "Not logged in", error)
    @ns.response(403, "Not a supervisor or admin", error)
    @ns.response(404, "Unknown area, or outside your areas", error)
    @ns.response(422, "Invalid period or depth", error)
    @requires(*READERS)
    def get(self):
        """Households assessed, "Gia đình văn hóa" count and rate, most failed criteria, and
        whether each thôn meets its province's share for "Thôn/Tổ dân phố văn hóa"."""
        return _area_report(reports.cultural_family_summary)


@ns.route("/satisfaction")
class Satisfaction(Resource):
    @ns.expect(_args(PovertyQuerySchema))
    @ns.response(200, "Figures per area and criteria set", docs.model(ns, AreaReportSchema))
    @ns.response(401, "Not logged in", error)
    @ns.response(403, "Not a supervisor or admin", error)
    @ns.response(404, "Unknown area, or outside your areas", error)
    @ns.response(422, "Invalid period or depth", error)
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
    @ns.produces([XLSX, "text/csv"])
    @ns.response(200, "The summary table as a file (a row per thôn, subtotals, total)")
    @ns.response(401, "Not logged in", error)
    @ns.response(403, "Not a supervisor or admin", error)
    @ns.response(404, "Unknown area, or outside your areas", error)
    @ns.response(422, "Invalid period", error)
    @requires(*READERS)
    def get(self):
        """The poverty summary as XLSX (tables, deprivation, change) or CSV (the table)."""
        q = load(ExportQuerySchema(), request.args.to_dict())
        as_csv = request.path.endswith(".csv")
        with current().db.session() as session:
            scope = Scope.of(session, current_user())
            summary = reports.poverty_summary(session, scope, q["period"], q["area"], depth=4)
            moves = reports.transitions(session, scope, q["period"], q["area"])
            audit.record(
                session,
                current_user().id,
                "report.export",
                "report:poverty",
                period=q["period"],
                area=q["area"],
                format="csv" if as_csv else "xlsx",
            )
            session.commit()
        name = f"ra-soat-ho-ngheo-{q['period']}-{q['area'] or 'tat-ca'}"
        if as_csv:
            body, mimetype, name = (
                exports.poverty_csv(summary, q["counts"]),
                "text/csv",
                name + ".csv",
            )
        else:
            body, name = exports.poverty_workbook(summary, moves, q["counts"]), name + ".xlsx"
            mimetype = XLSX
        response = Response(body, mimetype=mimetype)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
