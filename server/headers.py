"""Security headers on every response, decided in one place.

The pages set their own Content-Security-Policy (``khudan.web``; the Swagger page keeps
its scripts and may not be framed). Everything else khudan answers
(OpenRosa XML, forms and their media, submission files, API JSON, exports) is data, never a page:
it gets ``Content-Security-Policy: sandbox; default-src 'none'``, so a script hidden in an uploaded
XForm, SVG or HTML file cannot run with a signed-in person's session even when opened directly,
and ``X-Content-Type-Options: nosniff``. A type a browser would render as a document (HTML, SVG,
XML) is also sent as a download where it is a file someone uploaded (``as_download``). Behind
HTTPS, HSTS tells browsers never to use plain HTTP.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask, Response, request

SANDBOX = "sandbox; default-src 'none'; frame-ancestors 'none'"
# Types a browser renders as a document, with scripts.
ACTIVE_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "image/svg+xml", "application/xml", "text/xml"}
)
HSTS = "max-age=31536000"
PAGES = frozenset({"api.doc", "central.openapi_page"})  # HTML outside /app: the Swagger pages


def init_app(app: Flask) -> None:
    app.after_request(_secure)


def as_download(response: Response, filename: str) -> Response:
    """An uploaded file of an active type is saved, not opened, by a browser."""
    if response.mimetype in ACTIVE_TYPES:
        response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(filename)}"
    return response


def _secure(response: Response) -> Response:
    headers = response.headers
    endpoint = request.endpoint or ""
    page = response.mimetype == "text/html" and (request.blueprint == "web" or endpoint in PAGES)
    if page or endpoint.endswith("static"):
        headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    else:
        headers["Content-Security-Policy"] = SANDBOX
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _quote(name: str) -> str:
    return quote(name, safe="")
