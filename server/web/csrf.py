"""Cross-site request forgery protection for the pages, by Flask-WTF's ``CSRFProtect``.

A random token per browser session, kept in the signed session cookie; forms carry its signed
form as a hidden field (``{{ csrf_field() }}``), ``fetch()`` calls send it in ``X-CSRF-Token``
(``static/khudan.js`` reads it from ``<meta name="csrf-token">``). Over HTTPS the ``Referer`` must
also be this site (Flask-WTF's strict mode). Only the page blueprint is checked: the REST API and
OpenRosa authenticate every request with a token or Digest, not a cookie.
"""

from __future__ import annotations

from flask import Flask, g, session
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from markupsafe import Markup, escape

FIELD = "csrf_token"
CsrfRefused = CSRFError  # what a state-changing request without the right token raises
_protect = CSRFProtect()


def init_app(app: Flask) -> None:
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,  # checked by the pages' before_request only
        WTF_CSRF_TIME_LIMIT=None,  # as long as the session: a form left open an hour still posts
        WTF_CSRF_FIELD_NAME=FIELD,
    )
    _protect.init_app(app)


def token() -> str:
    return generate_csrf()


def renew() -> str:
    """A new token for a new session (after log-in or a password change)."""
    g.pop(FIELD, None)
    session.pop(FIELD, None)
    return generate_csrf()


def csrf_field() -> Markup:
    return Markup('<input type="hidden" name="%s" value="%s">') % (FIELD, escape(token()))


def check() -> None:
    """Raise CsrfRefused for a POST/PUT/PATCH/DELETE without this session's token."""
    _protect.protect()
