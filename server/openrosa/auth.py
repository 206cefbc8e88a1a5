"""HTTP authentication the way ODK Collect does it.

Collect never sends credentials first: it answers a ``401`` challenge. It offers Digest always and
Basic only over HTTPS, and it keeps no cookies, so Digest nonces cannot live in a session. Ours are
stateless: a timestamp signed with the secret key, accepted for ``NONCE_TTL`` seconds, after which
the client is told ``stale=true`` and silently retries. Each nonce's highest count (``nc``) is
kept in the database, so a captured header replayed is refused the same way. Wrong passwords are
slowed by ``services.throttle`` as for every log-in. A phone configured by QR code instead
carries a token in the URL (``/key/<token>/...``) and is never challenged.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import time
from urllib.parse import unquote, urlsplit

from flask import Response, g, request
from werkzeug.datastructures import Authorization

from .. import errors
from ..models import User
from ..services import digest_nonces, sessions, throttle
from ..services.users import REALM

NONCE_TTL = 600
NONCE_LIFETIME = dt.timedelta(seconds=NONCE_TTL + 120)  # its count is kept while it can be used


def make_nonce(secret: str, now: float | None = None) -> str:
    """A signed timestamp with a random part: each challenge's nonce is new, so the counts of one
    client's nonce are never confused with another's."""
    stamp = f"{int(now if now is not None else time.time())}.{secrets.token_hex(8)}"
    mac = hmac.new(secret.encode(), stamp.encode(), hashlib.sha256).hexdigest()[:32]
    return base64.urlsafe_b64encode(f"{stamp}:{mac}".encode()).decode().rstrip("=")


def nonce_state(secret: str, nonce: str, now: float | None = None) -> str:
    """'fresh', 'stale' (ours but old) or 'bad' (not ours)."""
    try:
        raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4)).decode()
        stamp, mac = raw.split(":", 1)
        issued = int(stamp.split(".", 1)[0])
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


def authenticate(reader, session, secret: str) -> User:
    """The user behind this request's Authorization header, or Unauthorized. It reads with
    ``reader`` (``Database.reader``) and writes (a wrong password, a nonce's count) with
    ``session``."""
    auth = request.authorization
    if auth is None:
        raise Unauthorized(errors.AUTH_REQUIRED())
    if auth.type == "basic":
        if not request.is_secure:
            raise Unauthorized(errors.BASIC_NEEDS_HTTPS())
        name = auth.username or ""
        if "\x00" in name:
            raise Unauthorized(errors.AUTH_FAILED())
        user = sessions.check_credentials(session, name, auth.password or "", _address())
        if user is None:
            raise Unauthorized(errors.AUTH_FAILED())
        session.commit()
        return user
    if auth.type == "digest":
        return _digest_user(reader, session, secret, auth)
    raise Unauthorized(errors.AUTH_REQUIRED())


def _digest_user(reader, session, secret: str, auth: Authorization) -> User:
    if auth.get("realm") != REALM or auth.get("qop") not in (None, "auth"):
        raise Unauthorized(errors.AUTH_FAILED())
    state = nonce_state(secret, auth.get("nonce") or "")
    if state == "bad":
        raise Unauthorized(errors.AUTH_FAILED())
    # The signed URI must be this request's path: a captured header is no key to other resources.
    if unquote(urlsplit(auth.get("uri") or "").path) != unquote(request.path):
        raise Unauthorized(errors.AUTH_FAILED())
    name, address = (auth.username or ""), _address()
    if "\x00" in name:
        raise Unauthorized(errors.AUTH_FAILED())
    # A pair with recent wrong passwords claims its try first; a clean one (every phone, nearly
    # always) only reads, and claims afterwards if this password is wrong.
    user, claimed = throttle.user_and_record(reader, address, name)
    if claimed:
        throttle.claim(session, address, name)
    expected = digest_response(user.digest_ha1, request.method, auth) if user else ""
    if (
        user is None
        or not user.enabled
        or not hmac.compare_digest(expected, (auth.get("response") or "").lower())
    ):
        if not claimed:
            throttle.claim(session, address, name)
        throttle.failed(session, address, name)
        raise Unauthorized(errors.AUTH_FAILED())
    if claimed:
        throttle.succeeded(session, address, name)
        session.commit()
    if state == "stale":
        raise Unauthorized(errors.AUTH_REQUIRED(), stale=True)
    endpoint = request.endpoint or ""
    if endpoint.endswith(".submission_preflight"):
        # HEAD /submission answers 204 and nothing else, whoever replays it: Collect's
        # preflight before every upload costs no write (the POST that follows records its count).
        return user
    if request.method == "POST" and endpoint.endswith(".submission"):
        # Recorded in the submission's own transaction (``settle_nonce``): one commit, not two.
        g.pending_nonce = (auth.get("nonce"), _count(auth))
        return user
    if not digest_nonces.advance(session, auth.get("nonce"), _count(auth), NONCE_LIFETIME):
        # A replayed header, or requests that overtook each other: Collect retries with a new nonce.
        raise Unauthorized(errors.AUTH_REQUIRED(), stale=True)
    return user


def settle_nonce(session) -> None:
    """Record this request's Digest nonce count in ``session``'s transaction (before it commits
    a submission); a count already seen is a replay: Unauthorized, and the transaction with the
    submission is rolled back."""
    pending = g.pop("pending_nonce", None)
    if pending is None:
        return
    if not digest_nonces.record(session, pending[0], pending[1], NONCE_LIFETIME):
        raise Unauthorized(errors.AUTH_REQUIRED(), stale=True)


def settle_leftover(session) -> None:
    """A request that stopped before its transaction (a broken XML, a form not found) still
    spends its nonce count, so its header cannot be replayed with another body."""
    pending = g.pop("pending_nonce", None)
    if pending is not None:
        digest_nonces.advance(session, pending[0], pending[1], NONCE_LIFETIME)


def _count(auth: Authorization) -> int:
    """The nonce count, or 0 for a client that sent none (no qop): that nonce serves once."""
    try:
        return int(auth.get("nc") or "0", 16) if auth.get("qop") else 0
    except ValueError:
        return 0


def _address() -> str:
    return request.remote_addr or "-"


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
