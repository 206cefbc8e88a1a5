"""People: who am I, and for admins create, list, change, reset passwords and hand out phone tokens.

No response carries a password hash or a Digest HA1: users are dumped with ``UserSchema``, which has
neither. A password khudan generates is in the one response that creates it, never again.
"""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource

from khudan.schemas.common import ErrorSchema
from khudan.schemas.users import (
    ROLES,
    AppTokenSchema,
    PasswordResetSchema,
    RevokedSchema,
    UserCreateSchema,
    UserQuerySchema,
    UserSchema,
    UserUpdateSchema,
    UserWithPasswordSchema,
)

from .. import errors
from ..models import User
from ..runtime import base_url, current
from ..services import audit, sessions, users
from ..services.collect_qr import collect_qr_png, png_data_url
from . import api, docs, json_body, load
from .auth import ADMIN, ANYONE, current_user, requires

ns = Namespace("users", description="People, roles, area scopes, passwords and phone tokens")
api.add_namespace(ns, path="/users")
error = docs.model(ns, ErrorSchema)
error_docs = docs.errors_for(
    ns, error, {403: "Not an admin", 404: "No such user", 422: "Invalid input, per field"}
)
user_model = docs.model(ns, UserSchema)
created_model = docs.model(ns, UserWithPasswordSchema)


def _get(session, username: str) -> User:
    user = users.get_user(session, username)
    if user is None:
        raise errors.NOT_FOUND(what=f"user {username}")
    return user


def _with_password(user: User, generated: str | None) -> dict:
    body = UserWithPasswordSchema().dump(user)
    if generated:
        body["password"] = generated
    return body


@ns.route("/current")
class CurrentUser(Resource):
    @ns.response(200, "You", user_model)
    @error_docs(401)
    @requires(*ANYONE)
    def get(self):
        """The logged-in user: username, role, state and areas."""
        return UserSchema().dump(current_user())


@ns.route("")
class Users(Resource):
    @ns.doc(params={"role": {"description": "Only users with this role", "enum": ROLES}})
    @ns.response(200, "Users", [user_model])
    @error_docs(401, 403, (422, "Unknown role"))
    @requires(*ADMIN)
    def get(self):
        """List users, oldest first."""
        args = load(UserQuerySchema(), request.args.to_dict())
        with current().db.session() as session:
            return UserSchema(many=True).dump(users.list_users(session, args.get("role")))

    @ns.expect(docs.input_model(ns, UserCreateSchema))
    @ns.response(201, "Created; 'password' only if generated", created_model)
    @error_docs(400, 401, 403, (409, "The username is taken"), 415, 422)
    @requires(*ADMIN)
    def post(self):
        """Create a user; without a password one is generated and shown in this response only."""
        data = load(UserCreateSchema(), json_body())
        generated = None if "password" in data else users.generate_password()
        with current().db.session() as session:
            users.check_area_codes(session, data["areas"])
            user = users.create_user(
                session,
                data["username"],
                data["role"],
                data.get("password") or generated,
                data["areas"],
                data["full_name"],
                data["phone"],
            )
            audit.record(
                session,
                current_user().id,
                "user.create",
                f"user:{user.username}",
                role=str(user.role),
                areas=user.area_codes,
                password_generated=generated is not None,
            )
            session.commit()
            return _with_password(user, generated), 201


@ns.route("/<string:username>")
@error_docs(401, 403, 404)
class OneUser(Resource):
    @ns.response(200, "The user", user_model)
    @requires(*ADMIN)
    def get(self, username: str):
        """One user."""
        with current().db.session() as session:
            return UserSchema().dump(_get(session, username))

    @ns.expect(docs.input_model(ns, UserUpdateSchema))
    @ns.response(200, "Changed", user_model)
    @error_docs(400, (409, "That would leave no enabled admin"), 415, 422)
    @requires(*ADMIN)
    def patch(self, username: str):
        """Change role, areas (the list is replaced) or enabled (false disables log-in and phones)."""
        data = load(UserUpdateSchema(), json_body())
        with current().db.session() as session:
            user = _get(session, username)
            if "areas" in data:
                users.check_area_codes(session, data["areas"])
            changes = users.update_user(session, user, **data)
            if changes:
                audit.record(
                    session, current_user().id, "user.update", f"user:{username}", **changes
                )
            session.commit()
            return UserSchema().dump(user)


@ns.route("/<string:username>/password")
@error_docs(401, 403, 404)
class Password(Resource):
    @ns.expect(docs.input_model(ns, PasswordResetSchema))
    @ns.response(200, "Reset; 'password' only if generated", created_model)
    @error_docs(400, 415, 422)
    @requires(*ADMIN)
    def post(self, username: str):
        """Reset a password (generated if none is given) and log the user out everywhere.

        Phones configured with an app-user token keep working; revoke their tokens for that.
        """
        data = load(PasswordResetSchema(), json_body())
        generated = None if "password" in data else users.generate_password()
        with current().db.session() as session:
            user = _get(session, username)
            users.set_password(user, data.get("password") or generated)
            ended = sessions.end_sessions(session, user)
            audit.record(
                session,
                current_user().id,
                "user.password",
                f"user:{username}",
                password_generated=generated is not None,
                sessions_ended=ended,
            )
            session.commit()
            return _with_password(user, generated)


@ns.route("/<string:username>/tokens")
@error_docs(401, 403, 404)
class Tokens(Resource):
    @ns.response(201, "Issued: the server URL and its QR code", docs.model(ns, AppTokenSchema))
    @requires(*ADMIN)
    def post(self, username: str):
        """Issue an app-user token: a server URL for ODK Collect that needs no password, and the
        QR code that sets a phone up with it (Project settings > Reconfigure with QR code)."""
        with current().db.session() as session:
            user = _get(session, username)
            token = users.issue_token(session, user)
            audit.record(session, current_user().id, "user.token.issue", f"user:{username}")
            session.commit()
        server_url = f"{base_url().rstrip('/')}/key/{token}"
        png = collect_qr_png(server_url, project_name=f"khudan ({username})")
        return AppTokenSchema().dump({"server_url": server_url, "qr_png": png_data_url(png)}), 201

    @ns.response(200, "Revoked", docs.model(ns, RevokedSchema))
    @requires(*ADMIN)
    def delete(self, username: str):
        """Revoke all of a user's app-user tokens: phones set up with them stop working at once."""
        with current().db.session() as session:
            user = _get(session, username)
            revoked = users.revoke_tokens(session, user)
            audit.record(
                session, current_user().id, "user.token.revoke", f"user:{username}", revoked=revoked
            )
            session.commit()
        return RevokedSchema().dump({"revoked": revoked})
