"""Forms, for designers and admins: upload an XLSForm as a draft (pyxform's errors shown with their
sheet and row; the draft is read and published on its own page), open, wind down or close a form,
see its versions and media files, and download them.

The same services as ``/api/v1/forms``: ``convert_xlsform`` then ``drafts.save``, with ODK Validate
unless ``KHUDAN_ODK_VALIDATE=0`` (only the API lets an admin skip it per upload).
"""

from __future__ import annotations

import io
from pathlib import PurePosixPath

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from sqlalchemy import select

from .. import errors
from ..models import FormDraft, FormState
from ..runtime import current
from ..services import drafts, forms
from ..xlsxstream import XLSX_TYPE
from . import bp
from .auth import DESIGNERS, current_user, login_required
from .i18n import _, problem_text

STATES = (FormState.OPEN, FormState.CLOSING, FormState.CLOSED)
MAX_FLASHED_WARNINGS = 5  # flashed messages live in the session cookie, which holds about 4 KB


STATE_LABELS = {
    FormState.OPEN: "Đang mở",
    FormState.CLOSING: "Sắp đóng",
    FormState.CLOSED: "Đã đóng",
}


@bp.get("/forms", endpoint="forms")
@login_required(*DESIGNERS)
def forms_list():
    return _list_page()


@bp.post("/forms")
@login_required(*DESIGNERS)
def forms_upload():
    """Convert an uploaded XLSForm and save it as the form's draft, which phones do not see until
    it is published from its page; pyxform's errors come back as a table."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _list_page(error=_("Hãy chọn một tệp XLSForm (.xlsx).")), 400
    filename = _basename(upload.filename)
    if not filename.lower().endswith(".xlsx"):
        message = _("Tệp {name} không phải XLSForm (.xlsx).", name=filename)
        return _list_page(error=message), 415
    data = upload.read()
    media = {
        _basename(part.filename): part.read()
        for part in request.files.getlist("media")
        if part.filename
    }
    runtime = current()
    try:
        xml, warnings = forms.convert_xlsform(data, filename, runtime.settings.xlsx_limits)
        draft = drafts.save(
            runtime.db,
            runtime.storage,
            xml=xml,
            xlsx=data,
            media=media,
            warnings=warnings,
            validate=runtime.settings.odk_validate,
            actor_id=current_user().id,
        )
    except errors.Problem as problem:
        if problem.kind is errors.XLSFORM_INVALID:
            page = _list_page(filename=filename, xlsform_errors=problem.details["errors"])
        else:
            page = _list_page(filename=filename, error=problem_text(problem))
        return page, problem.status
    flash(_("Đã lưu bản nháp phiên bản {version}.", version=draft.version), "ok")
    return redirect(url_for("web.form_draft", form_id=draft.form_id), 303)


@bp.get("/forms/<form_id>")
@login_required(*DESIGNERS)
def form_detail(form_id: str):
    return _detail_page(form_id)


@bp.post("/forms/<form_id>/state")
@login_required(*DESIGNERS)
def form_state(form_id: str):
    wanted = request.form.get("state", "")
    if wanted not in {str(s) for s in STATES}:
        return _detail_page(form_id, error=_("Trạng thái không hợp lệ.")), 422
    before = forms.set_state(current().db, form_id, wanted, actor_id=current_user().id)
    if before != wanted:
        flash(
            _("Đã chuyển biểu mẫu sang trạng thái: {state}.", state=_(STATE_LABELS[wanted])), "ok"
        )
    return redirect(url_for("web.form_detail", form_id=form_id), 303)


@bp.post("/forms/<form_id>/media")
@login_required(*DESIGNERS)
def form_media_upload(form_id: str):
    upload = request.files.get("file")
    name = request.form.get("name", "")
    if upload is None or not upload.filename or not name:
        return _detail_page(form_id, error=_("Hãy chọn tên tệp và tệp cần tải lên.")), 400
    runtime = current()
    try:
        created = forms.put_media(
            runtime.db, runtime.storage, form_id, name, upload.stream, actor_id=current_user().id
        )
    except errors.Problem as problem:
        if problem.kind is errors.FORM_NOT_FOUND:
            raise
        return _detail_page(form_id, error=problem_text(problem)), problem.status
    flash(_("Đã tải lên {name}.", name=name) if created else _("Đã thay {name}.", name=name), "ok")
    return redirect(url_for("web.form_detail", form_id=form_id), 303)


@bp.get("/forms/<form_id>/versions/<version>.xlsx")
@login_required(*DESIGNERS)
def form_xlsx(form_id: str, version: str):
    """The XLSForm a version was published from, as it was uploaded."""
    with current().db.session() as session:
        found = forms.version_in_url(session, form_id, version)
    if found.xlsx is None:
        abort(404)  # published from an XForm through the API
    return send_file(
        io.BytesIO(found.xlsx),
        mimetype=XLSX_TYPE,
        as_attachment=True,
        download_name=f"{form_id}-{found.version or 'unversioned'}.xlsx",
        max_age=0,
    )


@bp.get("/forms/<form_id>/versions/<version>.xml")
@login_required(*DESIGNERS)
def form_xml(form_id: str, version: str):
    """The XForm, byte for byte what phones download."""
    with current().db.session() as session:
        found = forms.version_in_url(session, form_id, version)
    return send_file(
        io.BytesIO(found.xml),
        mimetype="application/xml",
        as_attachment=True,
        download_name=f"{form_id}-{found.version or 'unversioned'}.xml",
        max_age=0,
    )


@bp.get("/forms/<form_id>/media/<filename>")
@login_required(*DESIGNERS)
def form_media_file(form_id: str, filename: str):
    """A media file of the current version (``areas.csv``: the copy written for this user)."""
    with current().db.session() as session:
        form = forms.get_form(session, form_id)
        files = forms.media_of(session, form.current_version, current_user().username)
    found = next((m for m in files if m.name == filename and m.present), None)
    if found is None:
        abort(404)
    source = (
        io.BytesIO(found.data)
        if found.data is not None
        else current().storage.open(found.blob.storage_key)
    )
    return send_file(
        source, mimetype=found.content_type, as_attachment=True, download_name=filename, max_age=0
    )


def _list_page(**extra) -> str:
    with current().db.session() as session:
        listed = forms.list_forms(session)
        counted = forms.counts(session)
        waiting = session.execute(
            select(FormDraft.form_id, FormDraft.title, FormDraft.version).order_by(
                FormDraft.form_id
            )
        ).all()
    rows = [(form, *counted.get(form.id, (0, 0))) for form in listed]
    return render_template(
        "forms.html", rows=rows, drafts=waiting, state_labels=STATE_LABELS, **extra
    )


def _detail_page(form_id: str, **extra) -> str:
    with current().db.session() as session:
        form = forms.get_form(session, form_id)
        versions = forms.versions_of(session, form)
        version = form.current_version
        media = forms.media_of(session, version, current_user().username) if version else []
        nsubmissions = forms.counts(session).get(form.id, (0, 0))[1]
        draft_version = session.scalar(
            select(FormDraft.version).where(FormDraft.form_id == form_id)
        )
    return render_template(
        "form_detail.html",
        form=form,
        versions=versions,
        media=media,
        nsubmissions=nsubmissions,
        states=STATES,
        state_labels=STATE_LABELS,
        uploadable=[m.name for m in media if m.expected and not m.generated],
        empty_version=forms.EMPTY_VERSION,
        draft_version=draft_version,
        **extra,
    )


def flash_result(result: forms.PublishResult) -> None:
    """What publishing did, its warnings and the media files still missing, as flashes."""
    if result.status == "published":
        flash(
            _(
                "Đã xuất bản {form_id} phiên bản {version}.",
                form_id=result.form_id,
                version=result.version,
            ),
            "ok",
        )
    elif result.status == "media-updated":
        flash(
            _("Phiên bản {version} đã có; đã cập nhật tệp đính kèm.", version=result.version), "ok"
        )
    else:
        flash(
            _(
                "Phiên bản {version} đã được xuất bản với cùng nội dung: không có gì thay đổi.",
                version=result.version,
            ),
            "warn",
        )
    for warning in result.warnings[:MAX_FLASHED_WARNINGS]:
        flash(_("Cảnh báo: {text}", text=warning[:300]), "warn")
    if len(result.warnings) > MAX_FLASHED_WARNINGS:
        flash(_("… và {n} cảnh báo khác.", n=len(result.warnings) - MAX_FLASHED_WARNINGS), "warn")
    if result.missing_media:
        flash(
            _(
                "Còn thiếu tệp đính kèm: {names}. Hãy tải lên bên dưới.",
                names=", ".join(result.missing_media),
            ),
            "warn",
        )


def _basename(filename: str) -> str:
    """The file's own name, whatever path a browser sent with it."""
    return PurePosixPath(filename.replace("\\", "/")).name
