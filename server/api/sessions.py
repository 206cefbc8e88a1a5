"""POST /sessions (log in) and DELETE /sessions/current (log out)."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource

from khudan.schemas.common import ErrorSchema
from khudan.schemas.sessions import LoginSchema, SessionSchema

from ..runtime import current
from ..services import audit, sessions
from . import api, docs, json_body, load
from .auth import ANYONE, bearer_token, current_user, requires

ns = Namespace("sessions", description="Log in and out")
api.add_namespace(ns, path="/sessions")
error = docs.model(ns, ErrorSchema)
error_docs = docs.errors_for(ns, error)


@ns.route("")
class Sessions(Resource):
    @ns.doc(security=[])
    @ns.expect(docs.input_model(ns, LoginSchema))
    @ns.response(201, "Logged in", docs.model(ns, SessionSchema))
    @error_docs(
        400,
        (401, "Wrong username or password"),
        415,
        (422, "Invalid input"),
        (429, "Too many failed log-ins"),
    )
    def post(self):
        """Log in with username and password; the token expires after 12 hours."""
        data = load(LoginSchema(), json_body())
        address = request.remote_addr or "-"
        with current().db.session() as session:
            user, token, expires = sessions.log_in(
                session, data["username"], data["password"], address
            )
            audit.record(session, user.id, "user.login", f"user:{user.username}", address=address)
            session.commit()
            body = {
                "token": token,
                "expires_at": expires,
                "username": user.username,
                "role": user.role,
            }
        return SessionSchema().dump(body), 201


@ns.route("/current")
class CurrentSession(Resource):
    @ns.response(204, "Logged out")
    @error_docs(401)
    @requires(*ANYONE)
    def delete(self):
        """Log out: the token stops working at once."""
        token = bearer_token()
        with current().db.session() as session:
            if token:
                sessions.log_out(session, token)
            audit.record(
                session, current_user().id, "user.logout", f"user:{current_user().username}"
            )
            session.commit()
        return "", 204
