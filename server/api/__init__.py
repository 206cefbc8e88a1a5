"""The REST API under /api/v1, with OpenAPI (Swagger) docs at /api/v1/docs.

Thin: each route loads its input with a marshmallow schema (from ``schemas/``), calls a service and
dumps the result with a schema. Every error is JSON ``{"code", "message", "details"}``.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from flask import Blueprint, Flask, request
from flask_restx import Api
from marshmallow import ValidationError
from werkzeug.exceptions import BadRequest, HTTPException, NotFound

from .. import errors
from ..services import capacity

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
api = Api(
    bp,
    version="1",
    title="khudan API",
    description="Forms, submissions, review, users and areas for the field survey. "
    "Log in with `POST /sessions` and send `Authorization: Bearer <token>` "
    "(in a code span, so the page shows the angle brackets).",
    doc="/docs",
    authorizations={
        "bearer": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Bearer <token>`, the token from `POST /sessions`",
        },
        "basic": {"type": "basic"},
    },
    security=["bearer", "basic"],
)


def error_body(code: str, message: str, details=None) -> dict:
    return {"code": code, "message": message, "details": details}


LANGUAGES = ("vi", "en")


def language() -> str:
    """The language the client asks for (``Accept-Language``), Vietnamese unless it prefers
    English: error messages come in one language, not "vi / en" in one string."""
    return request.accept_languages.best_match(LANGUAGES, default="vi")


def problem_answer(problem: errors.Problem, headers: dict | None = None):
    """A problem as the API answers it: its code, its message in the client's language."""
    message = problem.message_en if language() == "en" else problem.message_vi
    body = error_body(problem.code, message, problem.details or None)
    extra = {"Content-Language": language(), **(headers or {})}
    if problem.status == 401:  # how to authenticate: a bearer token from POST /sessions
        extra["WWW-Authenticate"] = 'Bearer realm="khudan"'
    return body, problem.status, extra


def _said(vi: str, en: str):
    lang = language()
    return (en if lang == "en" else vi), {"Content-Language": lang}


def json_body():
    """The request's JSON body: 415 for another content type, 400 for broken JSON."""
    if not request.get_data(cache=True):
        return None
    if not request.is_json:
        raise errors.UNSUPPORTED_MEDIA(got=request.mimetype or "none", expected="application/json")
    try:
        return request.get_json()
    except BadRequest as exc:
        raise errors.BODY_MALFORMED(reason=exc.description) from None


def load(schema, data, **kwargs):
    """Load input with a marshmallow schema; invalid input is a 422 whose details name each field.

    (flask-restx would answer a raw ValidationError with its ``.data``, so it is turned into our
    Problem here.) No text may hold a NUL character: PostgreSQL cannot store or even compare it.
    """
    if isinstance(data, dict):
        with_nul = sorted(str(k) for k, v in data.items() if _has_nul(k) or _has_nul(v))
        if with_nul:
            raise errors.FIELDS_INVALID(
                fields=", ".join(with_nul),
                errors={k: ["Must not contain a NUL character (\\u0000)."] for k in with_nul},
            )
    try:
        return schema.load(data if data is not None else {}, **kwargs)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise errors.FIELDS_INVALID(
            fields=", ".join(sorted(map(str, messages))), errors=messages
        ) from None


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


@bp.before_request
def _no_nul_in_path():
    """No form, user, area or file has a NUL character in its name (PostgreSQL text cannot hold
    one), so a path with one names nothing: 404, before any query fails on it."""
    if any(_has_nul(value) for value in (request.view_args or {}).values()):
        raise errors.NOT_FOUND(what="a name with a NUL character")


@api.errorhandler(errors.Problem)
def _problem(problem: errors.Problem):
    """An expected failure, with its stable code (and how long to wait, for a 429)."""
    headers = (
        {"Retry-After": str(problem.details["seconds"])}
        if problem.status == 429 and "seconds" in problem.details
        else {}
    )
    return problem_answer(problem, headers)


@api.errorhandler(HTTPException)
def _http(exc: HTTPException):
    """An HTTP error raised by Flask or werkzeug."""
    if exc.code == 413:
        from ..runtime import current

        return problem_answer(errors.TOO_LARGE(limit=current().settings.max_request_bytes))
    return error_body(f"{exc.code}.0", f"{exc.name}: {exc.description}"), exc.code


@api.errorhandler(Exception)
def _unexpected(exc: Exception):
    """A bug: logged, and answered without details; a full disk is said so (507.1)."""
    if capacity.is_disk_full(exc):
        log.critical("DISK FULL: %s %s refused, nothing stored", request.method, request.path)
        return problem_answer(errors.STORAGE_FULL())
    log.exception("unexpected error in the API")
    message, headers = _said("Lỗi máy chủ", "Internal server error")
    return error_body("500.0", message), 500, headers


@bp.after_request
def _paging_links(response):
    """A page of a list says where the others are in ``Link`` (RFC 8288) as well as in its body:
    first, prev, next and last, with the same query otherwise."""
    if request.method != "GET" or response.status_code != 200 or not response.is_json:
        return response
    body = response.get_json(silent=True)
    if not isinstance(body, dict) or not {"items", "page", "per_page", "total"} <= body.keys():
        return response
    page, per_page, total = body["page"], body["per_page"], body["total"]
    last = max((total + per_page - 1) // per_page, 1)
    wanted = {"first": 1, "prev": page - 1, "next": page + 1, "last": last}
    links = []
    for rel, number in wanted.items():
        if 1 <= number <= last and (rel in ("first", "last") or number != page):
            args = request.args.to_dict()
            args["page"] = str(number)
            links.append(f'<{request.base_url}?{urlencode(args)}>; rel="{rel}"')
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


def init_app(app: Flask) -> None:
    # Each module adds its namespace to ``api`` when imported.
    from . import (  # noqa: F401
        areas,
        audit,
        entities,
        form_drafts,
        forms,
        queue,
        reports,
        sessions,
        submission_exports,
        submissions,
        users,
    )

    app.register_blueprint(bp)

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        # Routing misses never reach the blueprint: answer API paths in the API's format.
        if request.path.startswith(bp.url_prefix):
            message, headers = _said("Không có đường dẫn này", "No such path")
            return error_body("404.0", message), 404, headers
        return exc
