"""Who is calling the REST API: a bearer token from POST /sessions, or HTTP Basic over HTTPS for
scripts. Roles are checked per route with ``@requires``; area scoping is applied by the services."""

from __future__ import annotations

import functools

from flask import g, request

from .. import errors
from ..models import Role, User
from ..runtime import current
from ..services import sessions


def current_user() -> User:
    return g.api_user


def bearer_token() -> str | None:
    auth = request.authorization
    return auth.token if auth is not None and auth.type == "bearer" else None


def authenticate() -> User:
    auth = request.authorization
    if auth is None:
        raise errors.API_AUTH_REQUIRED()
    address = request.remote_addr or "-"
    with current().db.session() as session:
        if auth.type == "bearer":
            user = sessions.user_for_token(session, auth.token or "")
            if user is None:
                raise errors.SESSION_INVALID()
        elif auth.type == "basic":
            if not request.is_secure:
                raise errors.BASIC_NEEDS_HTTPS()
            name = auth.username or ""
            if "\x00" in name:  # no such user, and PostgreSQL could not even look for one
                raise errors.AUTH_FAILED()
            user = sessions.check_credentials(session, name, auth.password or "", address)
            if user is None:
                raise errors.AUTH_FAILED()
            session.commit()
        else:
            raise errors.API_AUTH_REQUIRED()
        user.area_codes  # noqa: B018  (load the scopes while the session is open)
    g.api_user = user
    return user


def requires(*roles: Role):
    """Authenticate, then allow only these roles (none given: any logged-in user)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = authenticate()
            if roles and user.role not in roles:
                raise errors.FORBIDDEN(
                    username=user.username,
                    role=user.role,
                    action=f"{request.method} {request.path}",
                )
            return view(*args, **kwargs)

        return wrapper

    return decorate


ANYONE = ()
ADMIN = (Role.ADMIN,)
DESIGNERS = (Role.DESIGNER, Role.ADMIN)
REVIEWERS = (Role.SUPERVISOR, Role.ADMIN)
