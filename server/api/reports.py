"""GET /reports/...: results per area and period, within the caller's areas."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource

from schemas.common import ErrorSchema
from schemas.reports import (
    PovertyQuerySchema,
    PovertySummarySchema,
    TransitionQuerySchema,
    TransitionsSchema,
)

from ..models import Role
from ..runtime import current
from ..services import reports
from ..services.scope import Scope
from . import api, docs, load
from .auth import current_user, requires

ns = Namespace("reports", description="Results per residential area, rolled up the area tree")
api.add_namespace(ns, path="/reports")
error = docs.model(ns, ErrorSchema)
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
