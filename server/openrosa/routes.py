"""The OpenRosa endpoints ODK Collect calls. XML in and out; the decisions are in the services.

A phone configured with a password uses ``http://HOST:PORT`` and answers Digest challenges; a phone
configured by QR code uses ``http://HOST:PORT/key/<token>``. The same blueprint serves both, and every
URL it hands out keeps the prefix the phone used.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import quote

from flask import Blueprint, Response, g, request, send_file
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.http import http_date

from .. import errors
from ..runtime import base_url, current
from ..services import blobs, capacity, entities, forms, ingest, users
from . import auth, responses

log = logging.getLogger(__name__)

bp = Blueprint("openrosa", __name__)

XML_TYPE = "text/xml; charset=utf-8"  # Collect rejects form lists and manifests without "text/xml"
# Endpoints where, as in ODK Central, a request must say it speaks OpenRosa 1.0.
_OPENROSA_ONLY = {"form_list", "manifest", "submission_preflight", "submission", "integrity"}


@bp.url_value_preprocessor
def _pop_token(_endpoint, values) -> None:
    g.token = values.pop("token", None) if values else None


@bp.before_request
def _authenticate() -> None:
    if (request.endpoint or "").rsplit(".", 1)[-1] in _OPENROSA_ONLY and (
        request.headers.get("X-OpenRosa-Version", "").strip() != "1.0"
    ):
        raise errors.OPENROSA_VERSION()
    runtime = current()
    # Reads on the reader (on PostgreSQL no BEGIN and ROLLBACK around them: two of a POST's
    # round trips); the session only opens a transaction when there is something to write.
    with runtime.db.reader() as reader, runtime.db.session() as session:
        if g.token is not None:
            g.user = users.user_for_token(reader, g.token)
            if g.user is None:
                # 403, not 401: a challenge would make Collect prompt for a password it lacks.
                raise errors.TOKEN_INVALID()
        else:
            g.user = auth.authenticate(reader, session, runtime.settings.secret_key)


@bp.after_request
def _openrosa_headers(response: Response) -> Response:
    if "pending_nonce" in g:  # the submission stopped before its transaction
        with current().db.session() as session:
            auth.settle_leftover(session)
    response.headers["X-OpenRosa-Version"] = "1.0"
    response.headers["X-OpenRosa-Accept-Content-Length"] = str(current().settings.max_request_bytes)
    response.headers["Date"] = http_date()
    response.headers.setdefault("Content-Language", "vi")
    if request.method in ("GET", "HEAD"):
        response.headers.setdefault("Cache-Control", "private, no-cache")
    else:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(errors.Problem)
def _problem(problem: errors.Problem):
    response = _xml(responses.message(problem.message, "error"), problem.status)
    if problem.status == 429 and "seconds" in problem.details:
        response.headers["Retry-After"] = str(problem.details["seconds"])
    return response


@bp.errorhandler(auth.Unauthorized)
def _unauthorized(exc: auth.Unauthorized):
    response = _xml(responses.message(exc.problem.message, "error"), 401)
    return auth.challenge(response, current().settings.secret_key, stale=exc.stale)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc):
    return _problem(errors.TOO_LARGE(limit=current().settings.max_request_bytes))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    text = f"{exc.code} {exc.name}: {exc.description}"
    return _xml(responses.message(text, "error"), exc.code or 500)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    if capacity.is_disk_full(exc):
        log.critical("DISK FULL: %s %s refused, nothing stored", request.method, request.path)
        return _problem(errors.STORAGE_FULL())
    log.exception("unexpected error on %s %s", request.method, request.path)
    text = (
        "Lỗi máy chủ; bài chưa được lưu, hãy gửi lại sau. / "
        "Server error; nothing was saved, send again later."
    )
    return _xml(responses.message(text, "error"), 500)


@bp.get("/formList")
def form_list():
    prefix = _prefix()
    entries = []
    if users.may_collect(g.user):
        with current().db.session() as session:
            rows = forms.open_forms(session, request.args.get("formID"))
        for form, version in rows:
            path = f"{prefix}/forms/{quote(form.form_id, safe='')}"
            entries.append(
                {
                    "form_id": form.form_id,
                    "name": version.title,
                    "version": version.version,
                    "md5": version.md5,
                    "download_url": f"{path}.xml",
                    "manifest_url": f"{path}/manifest" if version.media_expected else None,
                }
            )
    return _xml(responses.form_list(entries))


@bp.get("/forms/<form_id>.xml")
def form_xml(form_id: str):
    _require_collector()
    with current().db.session() as session:
        _form, version = forms.downloadable(session, form_id)
    response = Response(version.xml, mimetype="application/xml")
    response.set_etag(version.md5)
    return response.make_conditional(request)


@bp.get("/forms/<form_id>/manifest")
def manifest(form_id: str):
    _require_collector()
    path = f"{_prefix()}/forms/{quote(form_id, safe='')}/media"
    entries = []
    for name, md5, _, kind in _media(form_id):
        entry = {"filename": name, "md5": md5, "download_url": f"{path}/{quote(name, safe='')}"}
        if kind:  # an entity list: Collect keeps its entities and asks which were deleted
            entry["type"] = kind
            entry["integrity_url"] = f"{_prefix()}/datasets/{quote(name[:-4], safe='')}/integrity"
        entries.append(entry)
    return _xml(responses.manifest(entries))


@bp.get("/datasets/<name>/integrity")
def integrity(name: str):
    """Which of the entities a phone holds were deleted (Central's integrity endpoint)."""
    _require_collector()
    ids = ",".join(request.args.getlist("id")).split(",")
    with current().db.session() as session:
        found = entities.integrity(session, entities.get_list(session, name), ids)
    return _xml(responses.entity_integrity(found))


@bp.get("/forms/<form_id>/media/<filename>")
def media(form_id: str, filename: str):
    _require_collector()
    found = [
        (md5, source) for name, md5, source, _ in _media(form_id, filename) if name == filename
    ]
    if not found:
        raise errors.NOT_FOUND(what=f"{form_id}/{filename}")
    md5, source = found[0]
    if request.if_none_match.contains(md5):  # answered before opening the file
        response = Response(status=304)
        response.set_etag(md5)
        return response
    if isinstance(source, bytes):  # written for this user (areas.csv, an entity list)
        response = Response(source, mimetype=blobs.content_type_for(filename))
        response.headers["Content-Disposition"] = f"attachment; filename={filename}"
        response.set_etag(md5)
        return response
    return send_file(
        current().storage.open(source.storage_key),
        mimetype=source.content_type,
        as_attachment=True,
        download_name=filename,
        etag=md5,
        conditional=True,
        max_age=0,
    )


def _media(form_id: str, only: str | None = None) -> list[tuple[str, str, object, str | None]]:
    """(file name, md5, Blob or generated bytes, entity list type or None) for each media file a
    phone can fetch (``only``: that one, when it is generated, is the only one generated)."""
    with current().db.session() as session:
        _form, version = forms.downloadable(session, form_id)
        generated = forms.generated_media(
            session, version.media_expected, g.user.username, only=only
        )
        kinds = {
            name: "approvalEntityList" if lst.approval_required else "entityList"
            for name, lst in entities.media_lists(session, version.media_expected).items()
        }
        uploaded = [
            (m.filename, blob.md5, blob, None)
            for m, blob in forms.media_files(session, version)
            if m.filename not in generated
        ]
    made = [
        (name, hashlib.md5(data).hexdigest(), data, kinds.get(name))
        for name, data in generated.items()
    ]
    return sorted(uploaded + made, key=lambda item: item[0])


@bp.route("/submission", methods=["GET", "HEAD"], endpoint="submission_preflight")
def submission_preflight():
    # 204, not 200: Collect treats any other 2xx as "not an OpenRosa server" (Central does the same).
    return Response(status=204)


@bp.post("/submission")
def submission():
    _require_collector()
    try:
        files, fields = request.files, request.form
    except ValueError as exc:
        raise errors.MULTIPART_INVALID(reason=str(exc)) from None
    if request.mimetype != "multipart/form-data":
        raise errors.XML_PART_MISSING()
    part = files.get("xml_submission_file")
    xml = part.read() if part is not None else fields.get("xml_submission_file", "").encode()
    if not xml:
        raise errors.XML_PART_MISSING()
    uploads = [
        ingest.Upload(name=name, stream=f.stream, content_type=f.mimetype)
        for name, f in files.items(multi=True)
        if name != "xml_submission_file"
    ]
    runtime = current()
    limits = runtime.settings.submission_limits
    outcome = ingest.ingest(
        runtime.db, runtime.storage, xml, uploads, _client(), limits, auth.settle_nonce
    )
    runtime.queue.submitted(outcome.queued)
    partial = fields.get("*isIncomplete*", "").lower() == "yes"
    return _xml(responses.message(_success_text(outcome, partial)), 201)


def _success_text(outcome: ingest.Outcome, partial: bool) -> str:
    if partial:
        return "Đã nhận một phần bài nộp, đang chờ phần còn lại. / Partial upload received."
    if outcome.missing:
        names = ", ".join(outcome.missing)
        return (
            f"Đã lưu bài nộp nhưng còn thiếu tệp: {names}. Hãy gửi lại bài này. / "
            f"Submission saved, but these files are missing: {names}. Send it again."
        )
    if outcome.kind == "duplicate" and not outcome.attached:
        return "Bài nộp này đã có trên máy chủ. / This submission was already received."
    return "Đã nhận đầy đủ bài nộp. / Full submission upload was successful!"


def _client() -> ingest.Client:
    device = (request.args.get("deviceID") or "").strip()[:255] or None
    agent = (
        " ".join(
            filter(None, [request.headers.get("ODK-Client"), request.headers.get("User-Agent")])
        )[:1000]
        or None
    )
    return ingest.Client(user_id=g.user.id, device_id=device, user_agent=agent)


def _require_collector() -> None:
    if not users.may_collect(g.user):
        raise errors.NOT_A_COLLECTOR(username=g.user.username, role=g.user.role)


def _prefix() -> str:
    return base_url() + (f"/key/{g.token}" if g.token else "")


def _xml(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type=XML_TYPE)
