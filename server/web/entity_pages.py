"""Entity lists on the pages: the household registry of a supervisor's areas (search without
marks, by area, conflicts only), a household's page (its values, every version with who and which
submission changed what, its reviews and classes across periods), settling a conflict, importing
last year's list and downloading it. Admins choose whether a list changes on approval."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from .. import errors
from ..downloads import attachment
from ..models import Submission, User
from ..runtime import current
from ..services import activity, audit, entities
from ..services.submission_view import CLASS_VI
from . import bp
from .auth import ADMIN, REVIEWERS, current_user, login_required
from .i18n import _, problem_text
from .review import place_names

PER_PAGE = 50
SOURCE_LABELS = {
    "submission": "Phiếu gửi lên",
    "csv": "Nhập từ tệp CSV",
    "api": "Sửa trên máy chủ",
    "resolve": "Giải quyết xung đột",
    "facts": "Từ kết quả rà soát",
}
OUTCOME_LABELS = {
    **CLASS_VI,
    "earned": "Đạt Gia đình văn hóa",
    "not_earned": "Chưa đạt Gia đình văn hóa",
}
FORM_LABELS = {"poverty_review": "Rà soát hộ nghèo", "cultural_family": "Gia đình văn hóa"}


@bp.get("/households", endpoint="households", defaults={"name": "households"})
@bp.get("/lists/<name>", endpoint="entity_list")
@login_required(*REVIEWERS)
def entity_list(name: str):
    q = request.args.get("q", "").strip()[:200]
    area = request.args.get("area", "").strip()[:64] or None
    conflict = request.args.get("conflict") == "1"
    try:
        page = max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        page = 1
    user = current_user()
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        total, rows = entities.search(
            session,
            user,
            lst,
            q=q,
            area=area,
            conflict_only=conflict,
            limit=PER_PAGE,
            offset=(page - 1) * PER_PAGE,
        )
        count, conflicts = entities.summary(session, user, lst)
        periods = activity.periods(session, user)
        held = entities.held_count(session, lst)
        places = dict(place_names(session, [e.area_code or e.commune_code for e in rows]))
        session.expunge_all()
    return render_template(
        "entities.html",
        lst=lst,
        rows=rows,
        total=total,
        count=count,
        conflicts=conflicts,
        held=held,
        periods=periods,
        places=places,
        q=q,
        area=area or "",
        conflict=conflict,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        classes=CLASS_VI,
    )


@bp.get("/lists/<name>/<uuid>", endpoint="entity")
@login_required(*REVIEWERS)
def entity_page(name: str, uuid: str):
    user = current_user()
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        entity = entities.get_visible(session, user, lst, uuid)
        versions = entities.history(session, entity)
        people = _usernames(session, {v.user_id for v in versions if v.user_id})
        instances = _instances(session, {v.submission_id for v in versions if v.submission_id})
        found = entities.reviews(session, user, entity)
        session.expunge_all()
    return render_template(
        "entity.html",
        lst=lst,
        entity=entity,
        versions=versions,
        people=people,
        instances=instances,
        reviews=found,
        sources=SOURCE_LABELS,
        outcomes=OUTCOME_LABELS,
        form_labels=FORM_LABELS,
    )


@bp.post("/lists/<name>/<uuid>/edit", endpoint="entity_edit")
@login_required(*REVIEWERS)
def entity_edit(name: str, uuid: str):
    """A new version with the values typed; "settle the conflict" clears the conflict too."""
    user = current_user()
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        entity = entities.get_visible(session, user, lst, uuid)
        values = {
            p: request.form.get(f"p_{p}", "").strip()
            for p in lst.properties or []
            if f"p_{p}" in request.form
        }
        changed = {k: v for k, v in values.items() if (entity.data or {}).get(k, "") != v}
        label = request.form.get("label", "").strip()
        resolve = request.form.get("resolve") == "1"
        try:
            base = int(request.form.get("base_version", ""))
        except ValueError:
            base = None
        try:
            if changed or (label and label != entity.label):
                entities.update(
                    session,
                    entity,
                    label or None,
                    changed,
                    user,
                    base_version=base,
                    resolve=resolve,
                )
            elif resolve:
                entities.resolve(session, entity, user)
            else:
                flash(_("Không có gì thay đổi."), "ok")
                return redirect(url_for("web.entity", name=name, uuid=uuid), 303)
        except errors.Problem as problem:
            flash(problem_text(problem), "error")
            return redirect(url_for("web.entity", name=name, uuid=uuid), 303)
        audit.record(session, user.id, "entity.update", f"entity:{entity.uuid}", list=name)
        session.commit()
    flash(_("Đã lưu."), "ok")
    return redirect(url_for("web.entity", name=name, uuid=uuid), 303)


@bp.post("/lists/<name>/import", endpoint="entity_import")
@login_required(*REVIEWERS)
def entity_import(name: str):
    upload = request.files.get("file")
    user = current_user()
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        try:
            if upload is None or not upload.filename:
                raise errors.ENTITY_CSV_INVALID(reason=_("chưa chọn tệp"))
            report = entities.import_file(session, lst, upload.read(), user)
        except errors.Problem as problem:
            flash(problem_text(problem), "error")
            return redirect(_list_url(name), 303)
        session.commit()
    flash(
        _(
            "Đã thêm {created}, cập nhật {updated}, giữ nguyên {unchanged}; bỏ qua {rejected} dòng.",
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=len(report.rejected),
        ),
        "ok",
    )
    for line, reason in report.rejected[:20]:
        flash(_("Dòng {line}: {reason}", line=line, reason=reason), "error")
    return redirect(_list_url(name), 303)


@bp.post("/lists/<name>/seed", endpoint="entity_seed")
@login_required(*REVIEWERS)
def entity_seed(name: str):
    """The households reviewed in a period, added to the list (or brought up to that period)."""
    period = request.form.get("period", "").strip()[:16]
    user = current_user()
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        if not period:
            flash(_("Chọn kỳ rà soát."), "error")
            return redirect(_list_url(name), 303)
        report = entities.seed_from_facts(
            session, lst, period, user, approved_only=request.form.get("approved") == "1"
        )
        session.commit()
    flash(
        _(
            "Đã thêm {created}, cập nhật {updated}, giữ nguyên {unchanged} hộ từ kết quả rà soát {period}.",
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            period=period,
        ),
        "ok",
    )
    return redirect(_list_url(name), 303)


@bp.get("/lists/<name>/export.csv", endpoint="entity_export")
@login_required(*REVIEWERS)
def entity_export(name: str):
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        body = entities.export_csv(session, current_user(), lst)
    return attachment(body, "text/csv; charset=utf-8", f"{name}.csv")


@bp.post("/lists/<name>/settings", endpoint="entity_settings")
@login_required(*ADMIN)
def entity_settings(name: str):
    wanted = request.form.get("approval_required") == "1"
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        if lst.approval_required != wanted:
            lst.approval_required = wanted
            audit.record(
                session,
                current_user().id,
                "entity_list.update",
                f"entity_list:{name}",
                approval_required=wanted,
            )
            session.commit()
    flash(_("Đã lưu."), "ok")
    return redirect(_list_url(name), 303)


def _list_url(name: str) -> str:
    if name == "households":
        return url_for("web.households")
    return url_for("web.entity_list", name=name)


def _usernames(session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def _instances(session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.execute(
            select(Submission.id, Submission.instance_id).where(Submission.id.in_(ids))
        ).all()
    )
