"""Forms in the browser with ODK Web Forms (vendored in ``static/webforms``): a collector,
supervisor or admin fills the current version of an open form (data entry from paper), and a
designer previews a draft. A submission from the browser takes the same ingest path as Collect's,
files and all; the draft preview sends nothing."""

from __future__ import annotations

from flask import Response, abort, g, jsonify, render_template, request, url_for

from .. import errors, headers
from ..models import Role
from ..runtime import current
from ..services import drafts, forms, ingest
from ..services import submissions as submission_service
from ..xforms.submission import read_submission
from . import CSP_WEBFORMS, bp
from .auth import DESIGNERS, REVIEWERS, current_user, login_required
from .i18n import _, problem_text

FILLERS = (Role.COLLECTOR, Role.SUPERVISOR, Role.ADMIN)  # as for ODK Collect


def _page(
    title: str,
    mode: str,
    form_url: str,
    media_url: str,
    submit_url: str = "",
    back: str = "",
    edit: dict | None = None,
):
    g.csp = CSP_WEBFORMS
    return render_template(
        "form_fill.html",
        title=title,
        mode=mode,
        form_url=form_url,
        media_url=media_url,
        submit_url=submit_url,
        back=back,
        edit=edit,
    )


@bp.get("/fill")
@login_required(*FILLERS)
def fill_list():
    """The open forms one can fill in the browser."""
    with current().db.session() as session:
        rows = [(form.form_id, version.title) for form, version in forms.open_forms(session)]
    return render_template("fill_list.html", rows=rows)


@bp.get("/forms/<form_id>/fill")
@login_required(*FILLERS)
def form_fill(form_id: str):
    with current().db.session() as session:
        _form, version = forms.downloadable(session, form_id)
    return _page(
        version.title,
        "fill",
        url_for("web.form_fill_xml", form_id=form_id),
        url_for("web.form_fill_media", form_id=form_id, filename="x")[:-1],
        url_for("web.form_fill_submit", form_id=form_id),
    )


@bp.get("/forms/<form_id>/fill/form.xml")
@login_required(*FILLERS)
def form_fill_xml(form_id: str):
    with current().db.session() as session:
        _form, version = forms.downloadable(session, form_id)
    return Response(version.xml, mimetype="application/xml")


@bp.get("/forms/<form_id>/fill/media/<filename>")
@login_required(*FILLERS)
def form_fill_media(form_id: str, filename: str):
    """A media file as this user's phone would get it (``areas.csv``: their own areas)."""
    with current().db.session() as session:
        _form, version = forms.downloadable(session, form_id)
        files = forms.media_of(session, version, current_user().username)
    found = next((m for m in files if m.name == filename and m.present), None)
    if found is None:
        abort(404)
    if found.data is not None:
        return Response(found.data, mimetype=found.content_type)
    with current().storage.open(found.blob.storage_key) as fh:
        return headers.as_download(Response(fh.read(), mimetype=found.content_type), filename)


@bp.post("/forms/<form_id>/fill/submission")
@login_required(*FILLERS)
def form_fill_submit(form_id: str):
    """Keep a submission filled in the browser, exactly as one from Collect."""
    part = request.files.get("xml_submission_file")
    if part is None:
        return jsonify(message=problem_text(errors.XML_PART_MISSING())), 400
    uploads = [
        ingest.Upload(name=name, stream=f.stream, content_type=f.mimetype)
        for name, f in request.files.items(multi=True)
        if name != "xml_submission_file"
    ]
    runtime = current()
    client = ingest.Client(
        user_id=current_user().id,
        device_id="web",
        user_agent=f"khudan ODK Web Forms {request.headers.get('User-Agent', '')}"[:1000],
    )
    try:
        xml = part.read()
        sent_for = read_submission(xml).form_id
        if sent_for != form_id:
            raise errors.FORM_NOT_FOUND(form_id=sent_for)
        outcome = ingest.ingest(
            runtime.db, runtime.storage, xml, uploads, client, runtime.settings.submission_limits
        )
    except errors.Problem as problem:
        return jsonify(code=problem.code, message=problem_text(problem)), problem.status
    runtime.queue.submitted(outcome.queued)
    if outcome.missing:
        message = _("Đã lưu phiếu nhưng còn thiếu tệp: {names}.", names=", ".join(outcome.missing))
    else:
        message = _("Đã gửi phiếu. Có thể điền phiếu mới.")
    return jsonify(message=message, instance_id=outcome.instance_id), 201


@bp.get("/forms/<form_id>/draft/preview")
@login_required(*DESIGNERS)
def form_draft_preview(form_id: str):
    with current().db.session() as session:
        draft = drafts.get(session, form_id)
    return _page(
        f"{_('Bản nháp')}: {draft.title}",
        "preview",
        url_for("web.form_draft_xml", form_id=form_id),
        url_for("web.form_draft_media", form_id=form_id, filename="x")[:-1],
        back=url_for("web.form_draft", form_id=form_id),
    )


@bp.get("/forms/<form_id>/draft/form.xml")
@login_required(*DESIGNERS)
def form_draft_xml(form_id: str):
    with current().db.session() as session:
        xml = drafts.get(session, form_id).xml
    return Response(xml, mimetype="application/xml")


@bp.get("/forms/<form_id>/draft/media/<filename>")
@login_required(*DESIGNERS)
def form_draft_media(form_id: str, filename: str):
    with current().db.session() as session:
        draft = drafts.get(session, form_id)
        found = drafts.tester_files(session, draft, current_user(), filename)
    if not found:
        abort(404)
    file = found[0]
    with file.open(current().storage) as fh:
        return headers.as_download(Response(fh.read(), mimetype=file.content_type), filename)


@bp.get("/submissions/<int:submission_id>/edit")
@login_required(*REVIEWERS)
def submission_edit(submission_id: int):
    """Edit a submission in Web Forms: the new version carries ``deprecatedID`` and goes through
    ingest like an edit made on a phone, so the old version is kept and the state is ``edited``."""
    with current().db.session() as session:
        row = submission_service.get_visible(session, current_user(), submission_id)
        form_id = row.form.form_id
        title = row.current_version.instance_name or row.instance_id
        files = [a.name for a in row.current_version.attachments if a.blob_id is not None]
    return _page(
        f"{_('Sửa phiếu')}: {title}",
        "edit",
        url_for("web.submission_edit_form", submission_id=submission_id),
        url_for("web.form_fill_media", form_id=form_id, filename="x")[:-1],
        url_for("web.form_fill_submit", form_id=form_id),
        back=url_for("web.submission", submission_id=submission_id),
        edit={
            "instance_url": url_for("web.submission_edit_instance", submission_id=submission_id),
            "files_url": url_for("web.submission_file", submission_id=submission_id, name="x")[:-1],
            "files": files,
        },
    )


@bp.get("/submissions/<int:submission_id>/edit/form.xml")
@login_required(*REVIEWERS)
def submission_edit_form(submission_id: int):
    """The form version the submission's current version was filled in."""
    with current().db.session() as session:
        row = submission_service.get_visible(session, current_user(), submission_id)
        xml = row.current_version.form_version.xml
    return Response(xml, mimetype="application/xml")


@bp.get("/submissions/<int:submission_id>/edit/instance.xml")
@login_required(*REVIEWERS)
def submission_edit_instance(submission_id: int):
    with current().db.session() as session:
        row = submission_service.get_visible(session, current_user(), submission_id)
        xml = row.current_version.xml
    return Response(xml, mimetype="application/xml")
