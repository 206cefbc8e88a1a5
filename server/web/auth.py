"""Who is looking at a page: the API's session token (``services/sessions.py``) kept in Flask's
signed session cookie, so pages and API share log-in throttling, expiry and log-out.

Pages say who may see them with ``@login_required()`` (anyone logged in) or
``@login_required(Role.SUPERVISOR, Role.ADMIN)``.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import abort, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from ..models import Role, User
from ..runtime import current
from ..services import sessions

SESSION_KEY = "api_token"  # where the session cookie keeps the API session token
REVIEWERS = (Role.SUPERVISOR, Role.ADMIN)
DESIGNERS = (Role.DESIGNER, Role.ADMIN)
ADMIN = (Role.ADMIN,)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, marked ``Secure`` whenever this request came over HTTPS (directly,
    or through a proxy trusted by ``KHUDAN_TRUSTED_PROXIES``), so plain-HTTP LAN use still works."""

    def get_cookie_secure(self, app) -> bool:
        return request.is_secure


def load_user() -> None:
    """Set ``g.user`` from the session's token (None if absent, expired, revoked or disabled)."""
    g.user = None
    token = session.get(SESSION_KEY)
    if not token:
        return
    with current().db.session() as db_session:
        user = sessions.user_for_token(db_session, token)
        if user is not None:
            user.area_codes  # noqa: B018  (load the scopes while the session is open)
    if user is None:
        session.pop(SESSION_KEY, None)
    g.user = user


def current_user() -> User | None:
    return g.get("user")


def login_required(*roles: Role):
    """Send a visitor to the log-in page (coming back here after); 403 for another role."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                here = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for("web.login", next=here))
            if roles and user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def safe_next(url: str | None) -> str | None:
    """``url`` if it is a path on this site, else None: ``?next=`` must not lead elsewhere."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return None
    if any(ord(c) < 0x20 or c == "\x7f" for c in url):
        return None
    parts = urlsplit(url)
    return url if not parts.scheme and not parts.netloc else None
