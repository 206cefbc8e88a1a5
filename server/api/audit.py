"""GET /audit: who did what and when (admins only)."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource

from khudan.schemas.audit import AuditPageSchema, AuditQuerySchema, LoginFailuresSchema
from khudan.schemas.common import ErrorSchema

from ..runtime import current
from ..services import audit, throttle
from . import api, docs, load
from .auth import ADMIN, requires

ns = Namespace("audit", description="The audit log")
api.add_namespace(ns, path="/audit")
error = docs.model(ns, ErrorSchema)
error_docs = docs.errors_for(ns, error)

query_args = ns.parser()
for _name in AuditQuerySchema().fields:
    query_args.add_argument(_name, location="args", required=False)


@ns.route("")
class Audit(Resource):
    @ns.expect(query_args)
    @ns.response(200, "Events, newest first", docs.model(ns, AuditPageSchema))
    @error_docs(401, (403, "Not an admin"), (422, "Invalid filter"))
    @requires(*ADMIN)
    def get(self):
        """Log-ins, publishes, review changes, edits, user changes and exports."""
        q = load(AuditQuerySchema(), request.args.to_dict())
        with current().db.session() as session:
            items, total = audit.search(session, **q)
        return AuditPageSchema().dump(
            {"items": items, "page": q["page"], "per_page": q["per_page"], "total": total}
        )


@ns.route("/login-failures")
class LoginFailures(Resource):
    @ns.response(200, "Per address and name, newest first", docs.model(ns, LoginFailuresSchema))
    @error_docs(401, (403, "Not an admin"))
    @requires(*ADMIN)
    def get(self):
        """Wrong passwords of the last 15 minutes (log-in pages, API, Basic and Digest), per
        address and username, and until when each pair must wait before it may try again."""
        with current().db.session() as session:
            items = throttle.recent_failures(session)
        return LoginFailuresSchema().dump({"items": items})
