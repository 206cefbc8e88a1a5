"""The web pages for supervisors, designers and admins, under ``/app`` (``/`` redirects there).

Server-rendered Jinja with a little JavaScript, Vietnamese by default with an English switch, over
the same services as the REST API. ``/app`` keeps the pages clear of the OpenRosa URLs
(``/formList``, ``/forms/...``, ``/submission``, ``/key/<token>/...``) and of ``/api/v1``.
Each page module registers its routes on ``bp`` and is imported at the bottom of this file.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Flask, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from .. import errors
from ..services.sessions import SESSION_HOURS
from . import auth, csrf, i18n, nav

bp = Blueprint(
    "web",
    __name__,
    url_prefix="/app",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# Pages load nothing from elsewhere: scripts and styles come from /app/static, images also as data:.
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# ODK Web Forms compiles its XPath engine from WebAssembly: those pages alone allow that much.
# and embeds its fonts as data: URLs.
CSP_WEBFORMS = (
    CSP.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'")
    + "; font-src 'self' data:"
)


def init_app(app: Flask) -> None:
    app.session_interface = auth.SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="khudan_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
    )
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.add_url_rule("/", "root", lambda: redirect(url_for("web.dashboard")))
    # Browsers ask for /favicon.ico whatever the page says; the pages link the SVG.
    app.add_url_rule(
        "/favicon.ico",
        "favicon",
        lambda: redirect(url_for("web.static", filename="favicon.svg"), code=301),
    )


@bp.before_request
def _before() -> None:
    if request.endpoint == "web.static":
        return
    auth.load_user()
    csrf.check()


@bp.after_request
def _after(response):
    wanted = request.args.get("lang")
    if wanted in i18n.LANGS:
        response.set_cookie(
            i18n.COOKIE,
            wanted,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    if request.endpoint != "web.static":
        response.headers["Content-Security-Policy"] = g.get("csp", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = g.get("referrer_policy", "same-origin")
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.app_template_global()
def lang_url(code: str) -> str:
    """This page in another language."""
    args = request.args.to_dict()
    args["lang"] = code
    return url_for(request.endpoint or "web.dashboard", **(request.view_args or {}), **args)


@bp.context_processor
def _globals() -> dict:
    user = auth.current_user()
    return {
        "_": i18n._,
        "lang": i18n.lang(),
        "csrf_field": csrf.csrf_field,
        "csrf_token": csrf.token,
        "user": user,
        "nav_items": nav.nav_items(user),
        "role_label": lambda role: i18n._(nav.ROLE_LABELS[role]),
    }


def error_page(status: int, title: str, message: str):
    """An error as a page in the layout (title and message already translated)."""
    return render_template("error.html", status=status, title=title, message=message), status


@bp.errorhandler(csrf.CsrfRefused)
def _csrf_refused(_exc):
    return error_page(
        400,
        i18n._("Yêu cầu không hợp lệ"),
        i18n._("Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang rồi thử lại."),
    )


@bp.errorhandler(errors.Problem)
def _problem(problem: errors.Problem):
    return error_page(problem.status, i18n._("Lỗi"), i18n.problem_text(problem))


@bp.errorhandler(403)
def _forbidden(_exc):
    user = g.get("user")
    message = (
        i18n._(
            "Tài khoản {name} ({role}) không được mở trang này.",
            name=user.username,
            role=i18n._(nav.ROLE_LABELS[user.role]),
        )
        if user
        else i18n._("Hãy đăng nhập để xem trang này.")
    )
    return error_page(403, i18n._("Không được phép"), message)


@bp.errorhandler(404)
def _not_found(_exc):
    return error_page(404, i18n._("Không tìm thấy"), i18n._("Không tìm thấy trang này."))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return error_page(exc.code or 500, i18n._("Lỗi"), f"{exc.code} {exc.name}")


from . import (  # noqa: E402,F401  (page modules register their routes on bp)
    account,
    area_pages,
    audit_pages,
    dashboard,
    draft_pages,
    entity_pages,
    form_pages,
    formats,
    map_pages,
    queue_pages,
    results,
    review,
    user_pages,
    webform_pages,
)
