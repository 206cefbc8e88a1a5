"""The part of ODK Central's REST API and OData feed that Central's clients use (pyodk, ruODK,
Excel and Power BI), under ``/v1``, over khudan's services.

The mapping: a khudan server is **one Central project**, id 1, holding every form; Central's
``xmlFormId`` is khudan's form id, a submission's ``instanceId`` is the instanceID it was first
sent with, and khudan's review state ``received`` is Central's null. Central's email log-in is
khudan's username. Roles and areas apply to every row exactly as in /api/v1: supervisors see their
areas, collectors what they sent, and a row outside is a 404. Errors are JSON ``{"code",
"message", "details"}`` with the same codes as /api/v1.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, jsonify
from werkzeug.exceptions import HTTPException

from .. import errors
from ..api import problem_answer

log = logging.getLogger(__name__)

bp = Blueprint("central", __name__, url_prefix="/v1")
PROJECT_ID = 1
PROJECT_NAME = "khudan"


def _error(code: str, message: str, status: int, details=None):
    response = jsonify({"code": code, "message": message, "details": details})
    response.status_code = status
    return response


@bp.errorhandler(errors.Problem)
def _problem(problem: errors.Problem):
    """As the REST API: the message in the language the client asks for (Vietnamese by default)."""
    body, status, headers = problem_answer(problem)
    response = _error(body["code"], body["message"], status, body["details"])
    response.headers.update(headers)
    return response


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException):
    if exc.code == 413:
        from ..runtime import current

        problem = errors.TOO_LARGE(limit=current().settings.max_request_bytes)
        return _problem(problem)
    return _error(f"{exc.code}.0", f"{exc.name}: {exc.description}", exc.code or 500)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    log.exception("unexpected error in /v1")
    return _error("500.0", "Lỗi máy chủ / Internal server error", 500)


def init_app(app: Flask) -> None:
    from . import datasets, routes  # noqa: F401  (add the routes to ``bp``)

    app.register_blueprint(bp)
