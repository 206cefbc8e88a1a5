"""The area registry, for admins: browse and search it, and import residential areas (thôn, tổ dân
phố) from a CSV file in two steps: a preview of what would change, written by nothing, then the
import itself.

Both steps run ``areas.plan_import`` on the same file (the preview page carries it back,
compressed, in a hidden field) and the import writes only if the plan is still the one shown: when
the registry changed in between, the new plan is shown instead.
"""

from __future__ import annotations

import base64
import binascii
import zlib

from flask import flash, jsonify, redirect, render_template, request, url_for

from khudan.schemas.common import MAX_PAGE

from .. import errors
from ..runtime import current
from ..services import areas, audit
from . import bp
from .auth import ADMIN, REVIEWERS, current_user, login_required
from .i18n import _, problem_text

PER_PAGE = 50
PICKER_SIZE = 20  # areas offered while typing a name
SHOWN_ROWS = 200  # of each list in a preview; the counts say how many there are in all
LEVEL_LABELS = {
    "province": "Tỉnh",
    "district": "Huyện",
    "commune": "Xã",
    "area": "Thôn, tổ dân phố",
}
FIELD_LABELS = {
    "name": "Tên",
    "full_name": "Tên đầy đủ",
    "kind": "Loại",
    "households_total": "Số hộ",
    "parent_code": "Xã",
    "level": "Cấp",
}


@bp.get("/areas", endpoint="areas")
@login_required(*ADMIN)
def areas_list():
    return _list_page()


@bp.get("/areas/search")
@login_required(*REVIEWERS)
def areas_search():
    """Areas whose name holds ``q`` among those the reader may see, as JSON, for the area pickers
    (user forms; the area filters of the queue, the map and the results)."""
    q = request.args.get("q", "").strip()[:100]
    if len(q) < 2:
        return jsonify([])
    with current().db.session() as session:
        found = areas.search(session, current_user(), q=q, per_page=PICKER_SIZE)
        return jsonify(
            [
                {"code": a.code, "name": a.full_name, "level": _(LEVEL_LABELS[a.level])}
                for a in found.items
            ]
        )


@bp.post("/areas/preview")
@login_required(*ADMIN)
def areas_preview():
    """What importing the uploaded CSV would change, written by nothing."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _list_page(error=_("Hãy chọn một tệp CSV.")), 400
    data = upload.read()
    with current().db.session() as session:
        try:
            plan = areas.plan_import(session, areas.read_csv(data))
        except errors.Problem as problem:
            return _list_page(error=_file_error(problem)), problem.status
    return _preview_page(plan, data, upload.filename)


@bp.post("/areas/import")
@login_required(*ADMIN)
def areas_import():
    """Apply the previewed file, if it still does what the preview showed."""
    filename = request.form.get("filename", "")
    limit = current().settings.max_request_bytes  # no bigger than an upload could have been
    try:
        inflate = zlib.decompressobj()
        data = inflate.decompress(
            base64.b64decode(request.form.get("data", ""), validate=True), limit
        )
        if inflate.unconsumed_tail:
            raise zlib.error("larger than an upload may be")
    except (binascii.Error, zlib.error):
        return _list_page(error=_("Dữ liệu xem trước bị hỏng. Hãy tải tệp lên lại.")), 400
    with current().db.session() as session:
        try:
            plan = areas.plan_import(session, areas.read_csv(data))
        except errors.Problem as problem:
            return _list_page(error=_file_error(problem)), problem.status
        if plan.digest() != request.form.get("plan"):
            changed = _("Danh mục đã thay đổi kể từ lúc xem trước. Hãy xem lại rồi xác nhận.")
            return _preview_page(plan, data, filename, warning=changed), 409
        report = areas.apply_import(session, plan)
        audit.record(
            session,
            current_user().id,
            "area.import",
            None,
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=len(report.rejected),
            web=True,
        )
        session.commit()
    flash(
        _(
            "Đã nhập: {added} thêm, {updated} sửa, {unchanged} không đổi, {rejected} dòng bị bỏ qua.",
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=len(report.rejected),
        ),
        "ok",
    )
    return redirect(url_for("web.areas", level="area"), 303)


@bp.post("/areas/thon")
@login_required(*ADMIN)
def area_save():
    """Add one thôn / tổ dân phố, or change one (same commune and code): the rules of the CSV
    import for one row, without a file."""
    row = {
        k: request.form.get(k, "").strip()
        for k in ("commune_code", "code", "name", "kind", "households_total")
    }
    with current().db.session() as session:
        plan = areas.plan_import(session, [row], first_line=1)
        if plan.rejected:
            reason = plan.rejected[0][1]
            return _list_page(one_error=reason, one=row), 422
        report = areas.apply_import(session, plan)
        audit.record(
            session,
            current_user().id,
            "area.save",
            f"area:{row['commune_code']}.{row['code']}",
            added=report.added,
            updated=report.updated,
            web=True,
        )
        session.commit()
    code = f"{row['commune_code']}.{row['code']}"
    if report.added:
        flash(_("Đã thêm {name} ({code}).", name=row["name"], code=code), "ok")
    elif report.updated:
        flash(_("Đã sửa {name} ({code}).", name=row["name"], code=code), "ok")
    else:
        flash(_("{name} ({code}) không có gì thay đổi.", name=row["name"], code=code), "ok")
    return redirect(url_for("web.areas", parent=row["commune_code"]), 303)


def _preview_page(plan: areas.ImportPlan, data: bytes, filename: str, **extra) -> str:
    return render_template(
        "areas_preview.html",
        plan=plan,
        filename=filename,
        data=base64.b64encode(zlib.compress(data, 9)).decode("ascii"),
        shown=SHOWN_ROWS,
        field_labels=FIELD_LABELS,
        **extra,
    )


def _file_error(problem: errors.Problem) -> str:
    """The reason a file is unreadable (the API's 422 on the ``file`` field), else the problem."""
    if problem.kind is errors.FIELDS_INVALID and "file" in problem.details["errors"]:
        return _("Không đọc được tệp CSV: {reason}", reason=problem.details["errors"]["file"][0])
    return problem_text(problem)


def _list_page(**extra) -> str:
    q = request.args.get("q", "").strip()[:100] or None
    level = request.args.get("level") if request.args.get("level") in areas.LEVELS else None
    parent = request.args.get("parent") or None
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    user = current_user()
    with current().db.session() as session:
        found = areas.search(
            session, user, parent=parent, level=level, q=q, page=page, per_page=PER_PAGE
        )
        up = areas.get_area(session, user, parent)[0] if parent else None
        return render_template(
            "areas.html",
            found=found,
            q=q,
            level=level,
            parent=up,
            page=page,
            pages=max((found.total + PER_PAGE - 1) // PER_PAGE, 1),
            level_labels=LEVEL_LABELS,
            columns=areas.CSV_COLUMNS,
            **extra,
        )
