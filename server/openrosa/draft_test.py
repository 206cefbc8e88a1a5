"""A draft's test link for ODK Collect: ``/test/<draft token>`` (as ODK Central's
``/v1/test/<draftToken>/...``). A tester scans the draft's QR code; Collect then lists only the
draft, downloads it with its media, and sends test submissions, which are kept apart from real
ones (``services.drafts``). The token in the path is the only credential: no password prompt."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, g, request, send_file

from .. import errors
from ..models import User
from ..runtime import base_url, current
from ..services import drafts, ingest
from . import responses
from .routes import _openrosa_headers, _problem, _too_large, _xml

bp = Blueprint("openrosa_test", __name__, url_prefix="/test/<token>")
bp.after_request(_openrosa_headers)
bp.register_error_handler(errors.Problem, _problem)
bp.register_error_handler(413, _too_large)


@bp.url_value_preprocessor
def _pop_token(_endpoint, values) -> None:
    g.draft_token = values.pop("token", "") if values else ""


@bp.before_request
def _draft() -> None:
    if request.endpoint in (f"{bp.name}.form_list", f"{bp.name}.submission") and (
        request.method != "HEAD" and request.headers.get("X-OpenRosa-Version", "") != "1.0"
    ):
        raise errors.OPENROSA_VERSION()
    with current().db.session() as session:
        draft = drafts.by_token(session, g.draft_token)
        if draft is None:
            raise errors.TOKEN_INVALID()  # 403: Collect must not ask for a password
        g.draft = {
            "form_id": draft.form_id,
            "title": draft.title,
            "version": draft.version,
            "md5": draft.md5,
            "media": bool(draft.media_expected),
        }


def _prefix() -> str:
    return f"{base_url()}/test/{quote(g.draft_token, safe='')}"


def _form_url() -> str:
    return f"{_prefix()}/forms/{quote(g.draft['form_id'], safe='')}"


@bp.get("/formList")
def form_list():
    d = g.draft
    wanted = request.args.get("formID")
    entries = []
    if wanted in (None, d["form_id"]):
        entries.append(
            {
                "form_id": d["form_id"],
                "name": f"[Thử / Test] {d['title']}",
                "version": d["version"],
                "md5": d["md5"],
                "download_url": f"{_form_url()}.xml",
                "manifest_url": f"{_form_url()}/manifest" if d["media"] else None,
            }
        )
    return _xml(responses.form_list(entries))


def _check_form(form_id: str) -> None:
    if form_id != g.draft["form_id"]:
        raise errors.FORM_NOT_FOUND(form_id=form_id)


@bp.get("/forms/<form_id>.xml")
def form_xml(form_id: str):
    _check_form(form_id)
    with current().db.session() as session:
        xml = drafts.get(session, form_id).xml
    return Response(xml, mimetype="application/xml")


def _files(form_id: str, only: str | None = None) -> list[drafts.DraftFile]:
    """The draft's media files, with the lists khudan writes as its creator's phone would get
    them (the token holder tests on the creator's behalf)."""
    with current().db.session() as session:
        draft = drafts.get(session, form_id)
        creator = session.get(User, draft.created_by) if draft.created_by else None
        return drafts.tester_files(session, draft, creator, only)


@bp.get("/forms/<form_id>/manifest")
def manifest(form_id: str):
    _check_form(form_id)
    entries = [
        {
            "filename": f.name,
            "md5": f.md5,
            "download_url": f"{_form_url()}/media/{quote(f.name, safe='')}",
        }
        for f in _files(form_id)
    ]
    return _xml(responses.manifest(entries))


@bp.get("/forms/<form_id>/media/<filename>")
def media(form_id: str, filename: str):
    _check_form(form_id)
    found = _files(form_id, filename)
    if not found:
        raise errors.NOT_FOUND(what=f"{form_id}/{filename}")
    file = found[0]
    return send_file(
        file.open(current().storage),
        mimetype=file.content_type,
        as_attachment=True,
        download_name=filename,
        etag=file.md5,
        conditional=True,
        max_age=0,
    )


@bp.route("/submission", methods=["GET", "HEAD"], endpoint="submission_preflight")
def submission_preflight():
    return Response(status=204)


@bp.post("/submission")
def submission():
    try:
        files = request.files
    except ValueError as exc:
        raise errors.MULTIPART_INVALID(reason=str(exc)) from None
    part = files.get("xml_submission_file")
    xml = part.read() if part is not None else b""
    if not xml:
        raise errors.XML_PART_MISSING()
    uploads = [
        ingest.Upload(name=name, stream=f.stream, content_type=f.mimetype)
        for name, f in files.items(multi=True)
        if name != "xml_submission_file"
    ]
    runtime = current()
    device = (request.args.get("deviceID") or "").strip()[:255] or None
    _row, missing = drafts.receive_test(
        runtime.db, runtime.storage, g.draft_token, xml, uploads, device
    )
    if missing:
        names = ", ".join(missing)
        text = (
            f"Đã nhận bài thử, còn thiếu tệp: {names}. / "
            f"Test submission saved; these files are missing: {names}."
        )
    else:
        text = (
            "Đã nhận bài thử (không tính vào kết quả). / Test submission received (never counted)."
        )
    return _xml(responses.message(text), 201)
