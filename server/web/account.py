"""Log in, log out and change one's password. Log-in goes through ``services/sessions.py`` as the
API's POST /sessions does: the same throttling, the same 12-hour token, the same audit events."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for

from .. import errors
from ..runtime import current
from ..services import audit, sessions, users
from . import auth, bp, csrf
from .i18n import _, problem_text

MIN_PASSWORD = 8  # as the API's PasswordResetSchema
MAX_PASSWORD = 1024


def _start_session(token: str) -> None:
    """A fresh cookie session (new CSRF token too) holding the API session token."""
    session.clear()
    session.permanent = True
    session[auth.SESSION_KEY] = token
    csrf.renew()


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = auth.safe_next(request.values.get("next"))
    if request.method == "GET":
        if auth.current_user() is not None:
            return redirect(next_url or url_for("web.dashboard"))
        return render_template("login.html", next=next_url)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password or "\x00" in username + password:
        return _login_failed(400, _("Nhập tên người dùng và mật khẩu."), username, next_url)
    address = request.remote_addr or "-"
    with current().db.session() as db_session:
        try:
            user, token, _expires = sessions.log_in(db_session, username, password, address)
        except errors.Problem as problem:
            return _login_failed(problem.status, problem_text(problem), username, next_url)
        audit.record(
            db_session, user.id, "user.login", f"user:{user.username}", address=address, web=True
        )
        db_session.commit()
    _start_session(token)
    return redirect(next_url or url_for("web.dashboard"))


def _login_failed(status: int, message: str, username: str, next_url: str | None):
    page = render_template("login.html", error=message, username=username, next=next_url)
    return page, status


@bp.post("/logout")
def logout():
    """A POST (with the CSRF token), so another site cannot log people out with a link."""
    token = session.get(auth.SESSION_KEY)
    user = auth.current_user()
    if token and user is not None:
        with current().db.session() as db_session:
            sessions.log_out(db_session, token)
            audit.record(db_session, user.id, "user.logout", f"user:{user.username}", web=True)
            db_session.commit()
    session.clear()
    flash(_("Bạn đã đăng xuất."), "ok")
    return redirect(url_for("web.login"))


@bp.route("/password", methods=["GET", "POST"])
@auth.login_required()
def password():
    if request.method == "GET":
        return render_template("password.html", min_length=MIN_PASSWORD)
    current_pw = request.form.get("current", "")
    new = request.form.get("new", "")
    address = request.remote_addr or "-"
    username = auth.current_user().username
    with current().db.session() as db_session:
        try:
            user = sessions.check_credentials(db_session, username, current_pw, address)
        except errors.Problem as problem:
            return _password_failed(problem.status, problem_text(problem))
        if user is None:
            return _password_failed(400, _("Mật khẩu hiện tại không đúng."))
        if not MIN_PASSWORD <= len(new) <= MAX_PASSWORD:
            return _password_failed(400, _("Mật khẩu mới cần ít nhất {n} ký tự.", n=MIN_PASSWORD))
        if new != request.form.get("again", ""):
            return _password_failed(400, _("Hai lần nhập mật khẩu mới không giống nhau."))
        users.set_password(user, new)
        sessions.end_sessions(db_session, user)  # other browsers and API clients log in again
        _user, token, _expires = sessions.log_in(db_session, username, new, address)
        audit.record(db_session, user.id, "user.password", f"user:{username}", web=True)
        db_session.commit()
    _start_session(token)
    flash(_("Đã đổi mật khẩu. Các phiên đăng nhập khác đã bị đăng xuất."), "ok")
    return redirect(url_for("web.dashboard"))


def _password_failed(status: int, message: str):
    return render_template("password.html", error=message, min_length=MIN_PASSWORD), status
