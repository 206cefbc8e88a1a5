"""The OpenAPI 3 document of ``/v1`` (``/v1/openapi.json``, read at ``/v1/docs``).

Each route says what it answers with ``@documented`` (the marshmallow schemas of
``schemas/central.py`` are the shapes, as for ``/api/v1``); the document is built from Flask's
URL map, so a route cannot be added without showing up, and a test fails for one that is not
documented. apispec's marshmallow plugin turns the schemas into JSON Schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app, jsonify, render_template, url_for
from marshmallow import Schema

from khudan.schemas.common import ErrorSchema

from . import bp

JSON = "application/json"
ERRORS = {
    400: "A broken request: not JSON, or an OData expression that does not parse",
    401: "Not logged in (a bearer token from POST /v1/sessions, or Basic over HTTPS)",
    403: "Your role may not do this",
    404: "No such project, form, submission, file or entity, or one outside your areas",
    409: "An entity with that id exists, or it changed since the baseVersion given",
    422: "Invalid input: details.errors names the fields",
    429: "Too many failed log-ins: wait the Retry-After seconds",
    501: "An OData option or expression ODK Central does not support either",
}
ODATA_PAGE = {
    "type": "object",
    "properties": {
        "@odata.context": {"type": "string"},
        "@odata.count": {"type": "integer"},
        "@odata.nextLink": {"type": "string", "description": "the next page, when more remain"},
        "value": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["@odata.context"],
}
ODATA_QUERY = {
    "$top": ("integer", "rows per page (at most KHUDAN_ODATA_PAGE_SIZE)"),
    "$skip": ("integer", "rows to skip"),
    "$skiptoken": ("string", "where the previous page ended (from @odata.nextLink)"),
    "$count": ("boolean", "true: add @odata.count"),
    "$filter": ("string", "e.g. __system/reviewState eq 'approved' (Central's subset)"),
    "$select": ("string", "comma-separated column names"),
    "$expand": ("string", "* puts repeats inline"),
    "$wkt": ("boolean", "true: geo answers as WKT, else GeoJSON"),
    "$format": ("string", "json"),
}
EXTENDED = {
    "name": "X-Extended-Metadata",
    "in": "header",
    "schema": {"type": "boolean"},
    "description": "true: counts, last submission and who created it (as Central)",
}


@dataclass(frozen=True)
class Operation:
    """What one route answers: its success (a schema, or a media type with a JSON Schema or
    none), the errors it can give, its query parameters and body."""

    ok: Schema | dict | None
    media: str = JSON
    status: int = 200
    errors: tuple[int, ...] = (401, 404)
    query: dict[str, tuple[str, str]] = field(default_factory=dict)
    body: Schema | None = None
    headers: tuple[dict, ...] = ()
    public: bool = False
    summary: str = ""
    also: dict[str, dict] = field(default_factory=dict)  # other media types it may answer


def documented(ok=None, **options):
    """Attach the route's ``Operation`` (read by ``build``); put it right under ``@bp.get``."""

    def mark(view):
        view.openapi = Operation(ok, **options)
        return view

    return mark


_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
_TYPES = {"int": "integer"}


def build(app: Flask) -> dict:
    """The OpenAPI document of every documented ``/v1`` route."""
    spec = APISpec(
        title="khudan: ODK Central API subset",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "The part of ODK Central's REST API and OData feed that pyodk, ruODK, "
            "Excel and Power BI use, over khudan's data: one project (id 1) holding every form, "
            "roles and areas applied to every row. Log in with `POST /v1/sessions` and send "
            "`Authorization: Bearer <token>`. Central endpoints not listed here are 404."
        },
    )
    spec.components.schema("Error", schema=ErrorSchema)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("basic", {"type": "http", "scheme": "basic"})
    paths: dict[str, dict] = {}
    seen: set[tuple[str, str]] = set()  # a route's alias (".svc/" for ".svc") is not repeated
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        operation = getattr(view, "openapi", None)
        if not rule.endpoint.startswith(f"{bp.name}.") or operation is None:
            continue
        path = _PARAM.sub(r"{\2}", rule.rule)
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": _TYPES.get(converter or "", "string")},
            }
            for converter, name in _PARAM.findall(rule.rule)
        ]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (rule.endpoint, method) in seen:
                continue
            seen.add((rule.endpoint, method))
            paths.setdefault(path, {})[method.lower()] = _operation(view, operation, params)
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation(view, op: Operation, path_params: list[dict]) -> dict:
    text = " ".join((op.summary or view.__doc__ or view.__name__).split()).replace("``", "`")
    summary = text.split(". ", 1)[0].removesuffix(".")
    parameters = [*path_params, *op.headers]
    parameters += [
        {"name": name, "in": "query", "schema": {"type": kind}, "description": text}
        for name, (kind, text) in op.query.items()
    ]
    if op.ok is None:
        content = {op.media: {"schema": {"type": "string", "format": "binary"}}}
    else:
        content = {op.media: {"schema": op.ok}}
    content.update({media: {"schema": schema} for media, schema in op.also.items()})
    responses = {str(op.status): {"description": "OK", "content": content}}
    for status in op.errors:
        responses[str(status)] = {
            "description": ERRORS[status],
            "content": {JSON: {"schema": "Error"}},
        }
    answer = {
        "summary": summary,
        "operationId": view.__name__,
        "parameters": parameters,
        "responses": responses,
    }
    if text.removesuffix(".") != summary:
        answer["description"] = text
    if op.body is not None:
        answer["requestBody"] = {"required": True, "content": {JSON: {"schema": op.body}}}
    if op.public:
        answer["security"] = []
    else:
        answer["security"] = [{"bearer": []}, {"basic": []}]
    return answer


@bp.get("/openapi.json")
def openapi_document():
    """This document."""
    return jsonify(build(current_app))


@bp.get("/docs")
def openapi_page():
    """Swagger UI over /v1/openapi.json (the same page as /api/v1/docs)."""
    return render_template(
        "swagger-ui.html",
        title="khudan /v1 (ODK Central API)",
        specs_url=url_for("central.openapi_document"),
    )
