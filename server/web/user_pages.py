"""People, for admins: create collectors, supervisors, designers and admins (the generated password
shown once), change their areas, disable or enable them, reset a password, and set up a phone with
the QR code ODK Collect scans (an app-user token, as ``khudan users token`` issues).

The same services and audit events as ``/api/v1/users``.
"""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for

from khudan.schemas.common import MAX_PAGE
from khudan.schemas.users import UserCreateSchema

from .. import errors
from ..models import Role, User
from ..runtime import base_url, current
from ..services import audit, sessions, throttle, users
from ..services.collect_qr import collect_qr_png, png_data_url
from . import bp
from .args import load_args
from .auth import ADMIN, current_user, login_required
from .i18n import _, problem_text
from .nav import ROLE_LABELS

PER_PAGE = 50
ROLES = (Role.COLLECTOR, Role.SUPERVISOR, Role.DESIGNER, Role.ADMIN)
_CODE_SEPARATORS = re.compile(r"[\s,;]+")


@bp.get("/users", endpoint="users")
@login_required(*ADMIN)
def users_list():
    return _list_page()


@bp.post("/users")
@login_required(*ADMIN)
def user_create():
    """Create a user with a generated password, shown on the page that answers and never again."""
    username = request.form.get("username", "").strip()
    role = request.form.get("role", "")
    codes = parse_codes(request.form.get("areas", ""))
    password = users.generate_password()
    with current().db.session() as session:
        try:
            if role in SCOPED and not codes:
                # An area text that was not picked from the list arrives empty: a collector or
                # supervisor without an area would see nothing and count nowhere.
                raise errors.INVALID_INPUT(
                    reason=_(
                        "Thu thập viên và giám sát viên cần ít nhất một địa bàn: chọn địa bàn trong danh sách gợi ý (hoặc gõ mã địa bàn)."
                    )
                )
            _check_codes(session, codes)
            profile = _profile(request.form)
            user = users.create_user(session, username, role, password, codes, **profile)
        except errors.Problem as problem:
            page = _list_page(error=problem_text(problem), form=request.form)
            return page, problem.status
        audit.record(
            session,
            current_user().id,
            "user.create",
            f"user:{user.username}",
            role=str(user.role),
            areas=user.area_codes,
            password_generated=True,
            web=True,
        )
        session.commit()
        return _password_page(user, password, created=True)


@bp.get("/users/<username>")
@login_required(*ADMIN)
def user_detail(username: str):
    with current().db.session() as session:
        user = _get(session, username)
        return _detail_page(user, "\n".join(user.area_codes))


@bp.post("/users/<username>/areas")
@login_required(*ADMIN)
def user_areas(username: str):
    codes = parse_codes(request.form.get("areas", ""))
    with current().db.session() as session:
        user = _get(session, username)
        try:
            _check_codes(session, codes)
        except errors.Problem as problem:
            page = _detail_page(user, request.form.get("areas", ""), error=problem_text(problem))
            return page, problem.status
        _update(session, user, areas=codes)
    flash(_("Đã lưu địa bàn của {name}.", name=username), "ok")
    return redirect(url_for("web.user_detail", username=username), 303)


@bp.post("/users/<username>/profile")
@login_required(*ADMIN)
def user_profile(username: str):
    """The person's name and phone number."""
    with current().db.session() as session:
        user = _get(session, username)
        try:
            profile = _profile(request.form)
            _update(session, user, **{k: v or "" for k, v in profile.items()})
        except errors.Problem as problem:
            page = _detail_page(user, "\n".join(user.area_codes), error=problem_text(problem))
            return page, problem.status
    flash(_("Đã lưu thông tin của {name}.", name=username), "ok")
    return redirect(url_for("web.user_detail", username=username), 303)


def _profile(form) -> dict:
    """Name and phone from a page's form, checked by the API's rules."""
    wanted = {k: form.get(k, "").strip() or None for k in ("full_name", "phone")}
    return load_args(UserCreateSchema(only=("full_name", "phone")), wanted)


@bp.post("/users/<username>/role")
@login_required(*ADMIN)
def user_role(username: str):
    """Change the role (the last enabled admin stays one: 409 with the reason)."""
    role = request.form.get("role", "")
    with current().db.session() as session:
        user = _get(session, username)
        try:
            if role not in ROLE_LABELS:
                raise errors.INVALID_INPUT(reason=_("không có vai trò {role}", role=repr(role)))
            _update(session, user, role=role)
        except errors.Problem as problem:
            page = _detail_page(user, "\n".join(user.area_codes), error=problem_text(problem))
            return page, problem.status
    flash(_("Đã đổi vai trò của {name}.", name=username), "ok")
    return redirect(url_for("web.user_detail", username=username), 303)


@bp.post("/users/<username>/enabled")
@login_required(*ADMIN)
def user_enabled(username: str):
    """Disable (log-in, phones and tokens stop working at once) or enable again."""
    enabled = request.form.get("enabled") == "1"
    with current().db.session() as session:
        user = _get(session, username)
        try:
            _update(session, user, enabled=enabled)
        except errors.Problem as problem:
            flash(problem_text(problem), "error")
            return redirect(url_for("web.user_detail", username=username), 303)
    message = (
        _("Đã mở khoá {name}.", name=username) if enabled else _("Đã khoá {name}.", name=username)
    )
    flash(message, "ok")
    return redirect(url_for("web.user_detail", username=username), 303)


@bp.post("/users/<username>/password")
@login_required(*ADMIN)
def user_password(username: str):
    """A new generated password, shown once; the user's browser and API sessions end."""
    password = users.generate_password()
    with current().db.session() as session:
        user = _get(session, username)
        users.set_password(user, password)
        ended = sessions.end_sessions(session, user)
        audit.record(
            session,
            current_user().id,
            "user.password",
            f"user:{username}",
            password_generated=True,
            sessions_ended=ended,
            web=True,
        )
        session.commit()
        return _password_page(user, password, created=False)


@bp.get("/users/<username>/qr")
@login_required(*ADMIN)
def user_qr(username: str):
    """What the QR code is, before issuing one (issuing is a POST: it creates a login)."""
    with current().db.session() as session:
        user = _get(session, username)
        return render_template("user_qr.html", shown=user, collects=users.may_collect(user))


@bp.post("/users/<username>/qr")
@login_required(*ADMIN)
def user_qr_issue(username: str):
    """Issue an app-user token and show the QR code that sets ODK Collect up with it."""
    with current().db.session() as session:
        user = _get(session, username)
        if not users.may_collect(user):
            page = render_template("user_qr.html", shown=user, collects=False)
            return page, 409
        token = users.issue_token(session, user)
        audit.record(session, current_user().id, "user.token.issue", f"user:{username}", web=True)
        session.commit()
        server_url = f"{base_url().rstrip('/')}/key/{token}"
        png = collect_qr_png(server_url, project_name=f"khudan ({username})")
        return render_template(
            "user_qr.html",
            shown=user,
            collects=True,
            server_url=server_url,
            qr_src=png_data_url(png),
        )


@bp.post("/users/<username>/tokens/revoke")
@login_required(*ADMIN)
def user_tokens_revoke(username: str):
    """Revoke every app-user token: phones set up with a QR code stop working at once."""
    with current().db.session() as session:
        user = _get(session, username)
        revoked = users.revoke_tokens(session, user)
        audit.record(
            session,
            current_user().id,
            "user.token.revoke",
            f"user:{username}",
            revoked=revoked,
            web=True,
        )
        session.commit()
    flash(_("Đã thu hồi {n} mã QR của {name}.", n=revoked, name=username), "ok")
    return redirect(url_for("web.user_detail", username=username), 303)


SCOPED = ("collector", "supervisor")  # roles that see only their areas


def parse_codes(text: str) -> list[str]:
    """Area codes typed one per line or separated by commas, semicolons or spaces."""
    return list(dict.fromkeys(c for c in _CODE_SEPARATORS.split(text) if c))


def _check_codes(session, codes: list[str]) -> None:
    """``users.check_area_codes``, with a message that names the unknown codes."""
    try:
        users.check_area_codes(session, codes)
    except errors.Problem as problem:
        unknown = [codes[int(i)] for i in problem.details["errors"]["areas"]]
        raise errors.INVALID_INPUT(
            reason=_("không có mã địa bàn {codes} trong danh mục", codes=", ".join(unknown))
        ) from None


def _update(session, user: User, **change) -> None:
    changes = users.update_user(session, user, **change)
    if changes:
        audit.record(
            session, current_user().id, "user.update", f"user:{user.username}", web=True, **changes
        )
    session.commit()


def _get(session, username: str) -> User:
    user = users.get_user(session, username)
    if user is None:
        abort(404)
    return user


def _detail_page(user: User, areas_text: str, **extra) -> str:
    collects = users.may_collect(user)
    return render_template(
        "user_detail.html", shown=user, areas_text=areas_text, collects=collects, **extra
    )


def _password_page(user: User, password: str, created: bool) -> str:
    collects = users.may_collect(user)
    return render_template(
        "user_password.html", shown=user, password=password, created=created, collects=collects
    )


def _list_page(**extra) -> str:
    role = request.args.get("role") or None
    if role not in {str(r) for r in ROLES}:
        role = None
    q = request.args.get("q", "").strip()[:150]
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    with current().db.session() as session:
        items, total = users.search_users(
            session, role=role, q=q or None, page=page, per_page=PER_PAGE
        )
        return render_template(
            "users.html",
            items=items,
            total=total,
            page=page,
            pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
            role=role,
            q=q,
            roles=ROLES,
            collecting=users.COLLECTING_ROLES,
            login_failures=throttle.recent_failures(session, limit=20),
            form=extra.pop("form", {}),
            **extra,
        )
