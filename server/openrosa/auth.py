"""HTTP authentication the way ODK Collect does it.

Collect never sends credentials first: it answers a ``401`` challenge. It offers Digest always and
Basic only over HTTPS, and it keeps no cookies, so Digest nonces cannot live in a session. Ours are
stateless: a timestamp signed with the secret key, accepted for ``NONCE_TTL`` seconds, after which
the client is told ``stale=true`` and silently retries. A phone configured by QR code instead
carries a token in the URL (``/key/<token>/...``) and is never challenged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import unquote, urlsplit

from flask import Response, request
from werkzeug.datastructures import Authorization

from .. import errors
from ..models import User
from ..services import users
from ..services.users import REALM

NONCE_TTL = 600


def make_nonce(secret: str, now: float | None = None) -> str:
    stamp = str(int(now if now is not None else time.time()))
    mac = hmac.new(secret.encode(), stamp.encode(), hashlib.sha256).hexdigest()[:32]
    return base64.urlsafe_b64encode(f"{stamp}:{mac}".encode()).decode().rstrip("=")


def nonce_state(secret: str, nonce: str, now: float | None = None) -> str:
    """'fresh', 'stale' (ours but old) or 'bad' (not ours)."""
    try:
        raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4)).decode()
        stamp, mac = raw.split(":", 1)
        issued = int(stamp)
    except ValueError:
        return "bad"
    expected = hmac.new(secret.encode(), stamp.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(mac, expected):
        return "bad"
    age = (now if now is not None else time.time()) - issued
    return "fresh" if -60 <= age <= NONCE_TTL else "stale"


def digest_response(ha1: str, method: str, auth: Authorization) -> str:
    """RFC 7616 ``response`` for MD5 (with or without ``qop=auth``)."""
    ha2 = hashlib.md5(f"{method}:{auth.get('uri', '')}".encode()).hexdigest()
    if auth.get("qop"):
        text = f"{ha1}:{auth.get('nonce')}:{auth.get('nc')}:{auth.get('cnonce')}:{auth.get('qop')}:{ha2}"
    else:
        text = f"{ha1}:{auth.get('nonce')}:{ha2}"
    return hashlib.md5(text.encode()).hexdigest()


class Unauthorized(Exception):
    """Carries the problem to report and whether the client's nonce was merely stale."""

    def __init__(self, problem: errors.Problem, stale: bool = False):
        super().__init__(problem.message)
        self.problem = problem
        self.stale = stale


def authenticate(session, secret: str) -> User:
    """The user behind this request's Authorization header, or Unauthorized."""
    auth = request.authorization
    if auth is None:
        raise Unauthorized(errors.AUTH_REQUIRED())
    if auth.type == "basic":
        if not request.is_secure:
            raise Unauthorized(errors.BASIC_NEEDS_HTTPS())
        user = users.get_user(session, auth.username or "")
        if user is None or not users.check_password(user, auth.password or ""):
            raise Unauthorized(errors.AUTH_FAILED())
        return user
    if auth.type == "digest":
        return _digest_user(session, secret, auth)
    raise Unauthorized(errors.AUTH_REQUIRED())


def _digest_user(session, secret: str, auth: Authorization) -> User:
    if auth.get("realm") != REALM or auth.get("qop") not in (None, "auth"):
        raise Unauthorized(errors.AUTH_FAILED())
    state = nonce_state(secret, auth.get("nonce") or "")
    if state == "bad":
        raise Unauthorized(errors.AUTH_FAILED())
    # The signed URI must be this request's path: a captured header is no key to other resources.
    if unquote(urlsplit(auth.get("uri") or "").path) != unquote(request.path):
        raise Unauthorized(errors.AUTH_FAILED())
    user = users.get_user(session, auth.username or "")
    if user is None or not user.enabled:
        raise Unauthorized(errors.AUTH_FAILED())
    expected = digest_response(user.digest_ha1, request.method, auth)
    if not hmac.compare_digest(expected, (auth.get("response") or "").lower()):
        raise Unauthorized(errors.AUTH_FAILED())
    if state == "stale":
        raise Unauthorized(errors.AUTH_REQUIRED(), stale=True)
    return user


def challenge(response: Response, secret: str, stale: bool = False) -> Response:
    """Add the challenges Collect can answer: Digest always, Basic only over HTTPS."""
    digest = (
        f'Digest realm="{REALM}", qop="auth", algorithm=MD5, '
        f'nonce="{make_nonce(secret)}", opaque="{secrets.token_hex(8)}"'
    )
    if stale:
        digest += ", stale=true"
    response.headers.add("WWW-Authenticate", digest)
    if request.is_secure:
        response.headers.add("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"')
    return response
