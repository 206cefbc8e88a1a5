"""GET /audit: who did what and when (admins only)."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource
from sqlalchemy import func, select

from schemas.audit import AuditPageSchema, AuditQuerySchema, LoginFailuresSchema
from schemas.common import ErrorSchema

from ..models import AuditEvent, User
from ..runtime import current
from ..services import throttle
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
        query = select(AuditEvent, User.username).outerjoin(User, User.id == AuditEvent.actor_id)
        if q["action"]:
            query = query.where(AuditEvent.action == q["action"])
        if q["actor"]:
            query = query.where(User.username == q["actor"])
        if q["target"]:
            query = query.where(AuditEvent.target == q["target"])
        if q["since"]:
            query = query.where(AuditEvent.logged_at >= q["since"])
        if q["until"]:
            query = query.where(AuditEvent.logged_at < q["until"])
        with current().db.session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery()))
            rows = session.execute(
                query.order_by(AuditEvent.id.desc())
                .offset((q["page"] - 1) * q["per_page"])
                .limit(q["per_page"])
            ).all()
            items = [
                {
                    "id": e.id,
                    "actor": name,
                    "action": e.action,
                    "target": e.target,
                    "details": e.details or {},
                    "logged_at": e.logged_at,
                }
                for e, name in rows
            ]
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
