"""Cross-site request forgery protection: a random token per browser session, kept in the signed
session cookie, required on every state-changing request to the pages.

Forms carry it as a hidden field (``{{ csrf_field() }}``); ``fetch()`` calls send it in the
``X-CSRF-Token`` header (``static/khudan.js`` reads it from ``<meta name="csrf-token">``).
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session
from markupsafe import Markup, escape

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfRefused(Exception):
    """The request changes something but does not carry this session's token."""


def token() -> str:
    if FIELD not in session:
        session[FIELD] = secrets.token_urlsafe(32)
    return session[FIELD]


def csrf_field() -> Markup:
    return Markup('<input type="hidden" name="%s" value="%s">') % (FIELD, escape(token()))


def check() -> None:
    """Raise CsrfRefused for a POST/PUT/PATCH/DELETE without the session's token."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get(FIELD)
    sent = request.headers.get(HEADER) or request.form.get(FIELD) or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused()
