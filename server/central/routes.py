"""The routes of the Central subset. Thin: read the request, call ``feed`` or the services, dump
with the Central schemas (``schemas/central.py``) or write the OData document."""

from __future__ import annotations

import hashlib
import json
import secrets
from urllib.parse import quote, urlencode

from flask import Response, jsonify, request
from sqlalchemy import func, select

from khudan.schemas.central import (
    CentralAttachmentSchema,
    CentralCommentSchema,
    CentralFormSchema,
    CentralLoginSchema,
    CentralProjectSchema,
    CentralReviewSchema,
    CentralSessionSchema,
    CentralSubmissionSchema,
    CentralSubmissionVersionSchema,
    CentralUserSchema,
    central_time,
)

from .. import attachments as attachment_files
from .. import errors
from ..api import json_body, load
from ..api.auth import ANYONE, bearer_token, current_user, requires
from ..models import Form, FormVersion, ReviewState, Role, User
from ..models.base import utcnow
from ..runtime import base_url, current
from ..services import audit, forms, sessions
from ..services import submissions as submission_service
from . import PROJECT_ID, PROJECT_NAME, bp, feed, odata
from .openapi import EXTENDED, ODATA_PAGE, ODATA_QUERY, documented
from .query import feed_query

READERS = (Role.SUPERVISOR, Role.ADMIN, Role.COLLECTOR)
REVIEWERS = (Role.SUPERVISOR, Role.ADMIN)
ODATA_JSON = "application/json; odata.metadata=minimal"


# Sessions and users ------------------------------------------------------------------------


@bp.post("/sessions")
@documented(CentralSessionSchema, body=CentralLoginSchema, errors=(400, 401, 422, 429), public=True)
def log_in():
    """Central's log-in: ``{"email", "password"}`` (the email is the khudan username); 200 with
    a bearer token, as pyodk expects. Failed log-ins are counted and throttled as everywhere."""
    data = load(CentralLoginSchema(), json_body())
    address = request.remote_addr or "-"
    with current().db.session() as session:
        user, token, expires = sessions.log_in(session, data["email"], data["password"], address)
        audit.record(
            session, user.id, "user.login", f"user:{user.username}", address=address, via="/v1"
        )
        session.commit()
    body = {
        "token": token,
        # Central's CSRF token guards its cookie sessions; /v1 takes no cookies, so it guards
        # nothing here and is sent only because clients read the key.
        "csrf": secrets.token_urlsafe(32),
        "expires_at": expires,
        "created_at": utcnow(),
    }
    return jsonify(CentralSessionSchema().dump(body))


@bp.delete("/sessions/<token>")
@documented({"type": "object", "properties": {"success": {"type": "boolean"}}}, errors=(401, 403))
@requires(*ANYONE)
def log_out(token: str):
    """Log out: ``current`` or the caller's own token (Central's ``DELETE /v1/sessions/:token``)."""
    own = bearer_token()
    if token not in ("current", own) or own is None:
        raise errors.FORBIDDEN(
            username=current_user().username,
            role=current_user().role,
            action="end another person's session",
        )
    with current().db.session() as session:
        sessions.log_out(session, own)
        audit.record(session, current_user().id, "user.logout", f"user:{current_user().username}")
        session.commit()
    return jsonify({"success": True})


@bp.get("/users/current")
@documented(
    CentralUserSchema,
    errors=(401,),
    summary="The logged-in user (pyodk checks its cached token with it).",
)
@requires(*ANYONE)
def user_current():
    user = current_user()
    body = {
        "id": user.id,
        "type": "user",
        "display_name": user.username,
        "email": user.username,
        "role": user.role,
        "created_at": user.created_at,
        "updated_at": None,
        "deleted_at": None,
    }
    return jsonify(CentralUserSchema().dump(body))


# The project and its forms -----------------------------------------------------------------


def _project() -> dict:
    with current().db.session() as session:
        since = session.scalar(select(func.min(User.created_at)))
    return {
        "id": PROJECT_ID,
        "name": PROJECT_NAME,
        "description": "Every form of this khudan server (one project per deployment).",
        "archived": False,
        "key_id": None,
        "created_at": since or utcnow(),
        "updated_at": None,
        "deleted_at": None,
    }


def _check_project(project_id: int) -> None:
    if project_id != PROJECT_ID:
        raise errors.NOT_FOUND(what=f"project {project_id} (this server has one project: 1)")


def _project_body() -> dict:
    body = CentralProjectSchema().dump(_project())
    if _extended():
        with current().db.session() as session:
            count = len([f for f in forms.list_forms(session) if f.current_version is not None])
            stats = feed.form_stats(session, current_user())
        newest = max((s["last"] for s in stats.values() if s["last"]), default=None)
        body.update(
            {"forms": count, "appUsers": 0, "datasets": 0, "lastSubmission": central_time(newest)}
        )
    return body


@bp.get("/projects")
@documented(
    CentralProjectSchema(many=True),
    errors=(401,),
    headers=(EXTENDED,),
    summary="The one project (id 1) that holds every form.",
)
@requires(*ANYONE)
def projects():
    return jsonify([_project_body()])


@bp.get("/projects/<int:project_id>")
@documented(CentralProjectSchema, headers=(EXTENDED,), summary="Project 1; any other id is 404.")
@requires(*ANYONE)
def project(project_id: int):
    _check_project(project_id)
    return jsonify(_project_body())


def _form_view(form: Form, version: FormVersion) -> dict:
    return {
        "project_id": PROJECT_ID,
        "xml_form_id": form.form_id,
        "name": version.title,
        "version": version.version,
        "hash": version.md5,
        "sha256": hashlib.sha256(version.xml).hexdigest(),
        "state": form.state,
        "enketo_id": None,
        "enketo_once_id": None,
        "key_id": None,
        "draft_token": None,
        "created_at": form.created_at,
        "updated_at": None,
        "published_at": version.published_at,
    }


def _extended() -> bool:
    """Central's ``X-Extended-Metadata: true`` (ruODK sends it): counts and who published."""
    return request.headers.get("X-Extended-Metadata", "").lower() == "true"


def _extend(body: dict, form: Form, stats: dict, creators: dict) -> dict:
    own = stats.get(form.id, {})
    creator = creators.get(form.id)
    body.update(
        {
            "submissions": own.get("submissions", 0),
            "lastSubmission": central_time(own.get("last")),
            "reviewStates": own.get("states", {"received": 0, "hasIssues": 0, "edited": 0}),
            "entityRelated": False,
            "excelContentType": None,
            "publicLinks": 0,
            # A form published by the server itself (at start-up, from forms/) has no person.
            "createdBy": None
            if creator is None
            else {"id": creator[0], "type": "user", "displayName": creator[1]},
        }
    )
    return body


@bp.get("/projects/<int:project_id>/forms")
@documented(
    CentralFormSchema(many=True),
    headers=(EXTENDED,),
    summary="Every form with its current version.",
)
@requires(*ANYONE)
def form_list(project_id: int):
    _check_project(project_id)
    with current().db.session() as session:
        rows = [f for f in forms.list_forms(session) if f.current_version is not None]
        body = [CentralFormSchema().dump(_form_view(f, f.current_version)) for f in rows]
        if _extended():
            stats, made_by = feed.form_stats(session, current_user()), feed.creators(session)
            body = [_extend(b, f, stats, made_by) for b, f in zip(body, rows, strict=True)]
    return jsonify(body)


def _form(session, project_id: int, form_id: str) -> Form:
    _check_project(project_id)
    form = forms.get_form(session, form_id)
    if form.current_version is None:
        raise errors.FORM_NOT_FOUND(form_id=form_id)
    return form


@bp.get("/projects/<int:project_id>/forms/<form_id>")
@documented(CentralFormSchema, headers=(EXTENDED,), summary="A form with its current version.")
@requires(*ANYONE)
def form_detail(project_id: int, form_id: str):
    with current().db.session() as session:
        form = _form(session, project_id, form_id)
        body = CentralFormSchema().dump(_form_view(form, form.current_version))
        if _extended():
            stats, made_by = feed.form_stats(session, current_user()), feed.creators(session)
            body = _extend(body, form, stats, made_by)
    return jsonify(body)


@bp.get("/projects/<int:project_id>/forms/<form_id>/fields")
@documented(
    {"type": "array", "items": {"type": "object"}},
    query={"odata": ("boolean", "true: names as the OData feed writes them")},
)
@requires(*ANYONE)
def form_fields(project_id: int, form_id: str):
    """The current version's fields (ruODK reads them to type the OData columns);
    ``?odata=true`` writes names as the feed does."""
    sanitized = request.args.get("odata", "false").lower() == "true"
    with current().db.session() as session:
        fields = _form(session, project_id, form_id).current_version.fields
    return jsonify(feed.fields_view(fields, sanitized))


@bp.get("/projects/<int:project_id>/forms/<form_id>.xml")
@documented(None, media="application/xml", summary="The current version's XForm.")
@requires(*ANYONE)
def form_xml(project_id: int, form_id: str):
    with current().db.session() as session:
        xml = _form(session, project_id, form_id).current_version.xml
    return Response(xml, mimetype="application/xml")


@bp.get("/projects/<int:project_id>/forms/<form_id>/versions")
@documented(CentralFormSchema(many=True))
@requires(*ANYONE)
def form_versions(project_id: int, form_id: str):
    """Every published version, newest first (Central's ``versions``)."""
    with current().db.session() as session:
        form = _form(session, project_id, form_id)
        body = [_form_view(form, v) for v, _who in reversed(forms.versions_of(session, form))]
    return jsonify(CentralFormSchema(many=True).dump(body))


@bp.get("/projects/<int:project_id>/forms/<form_id>/versions/<version>")
@documented(CentralFormSchema, summary="One published version (the empty version is _).")
@requires(*ANYONE)
def form_version(project_id: int, form_id: str, version: str):
    with current().db.session() as session:
        form = _form(session, project_id, form_id)
        found = forms.version_in_url(session, form_id, version)
        return jsonify(CentralFormSchema().dump(_form_view(form, found)))


@bp.get("/projects/<int:project_id>/forms/<form_id>/versions/<version>.xml")
@documented(None, media="application/xml", summary="One version's XForm.")
@requires(*ANYONE)
def form_version_xml(project_id: int, form_id: str, version: str):
    with current().db.session() as session:
        _form(session, project_id, form_id)
        xml = forms.version_in_url(session, form_id, version).xml
    return Response(xml, mimetype="application/xml")


# Submissions -------------------------------------------------------------------------------


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise errors.FIELDS_INVALID(fields=name, errors={name: ["Must be a whole number ≥ 0."]})
    return int(raw)


@bp.get("/projects/<int:project_id>/forms/<form_id>/submissions")
@documented(
    CentralSubmissionSchema(many=True),
    errors=(401, 404, 422),
    headers=(EXTENDED,),
    query={"limit": ("integer", "at most this many"), "offset": ("integer", "skip this many")},
)
@requires(*READERS)
def submission_list(project_id: int, form_id: str):
    """The submissions you may see, newest first; ``?limit=`` and ``?offset=`` page them, and
    ``X-Total-Count`` says how many there are in all."""
    with current().db.session() as session:
        form = _form(session, project_id, form_id)
        rows, total = feed.submissions(
            session, current_user(), form, _int_arg("limit"), _int_arg("offset") or 0
        )
        body = CentralSubmissionSchema(many=True).dump(rows)
        if _extended():
            _add_submitters(session, body)
    response = jsonify(body)
    response.headers["X-Total-Count"] = str(total)
    return response


def _submission(session, project_id: int, form_id: str, instance_id: str):
    form = _form(session, project_id, form_id)
    return feed.submission_by_instance(session, current_user(), form, instance_id)


@bp.get("/projects/<int:project_id>/forms/<form_id>/submissions/<instance_id>")
@documented(
    CentralSubmissionSchema,
    headers=(EXTENDED,),
    summary="One submission (by the instanceID it was first sent with).",
)
@requires(*READERS)
def submission_detail(project_id: int, form_id: str, instance_id: str):
    with current().db.session() as session:
        row = _submission(session, project_id, form_id, instance_id)
        body = CentralSubmissionSchema().dump(feed.submission_view(row))
        if _extended():
            _add_submitters(session, [body])
    return jsonify(body)


def _add_submitters(session, bodies: list[dict]) -> None:
    """Extended metadata: each submission's submitter as an actor (one query for all)."""
    ids = {b["submitterId"] for b in bodies}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())
    for b in bodies:
        name = names.get(b["submitterId"])
        b["submitter"] = (
            None if name is None else {"id": b["submitterId"], "type": "user", "displayName": name}
        )


@bp.get("/projects/<int:project_id>/forms/<form_id>/submissions/<instance_id>.xml")
@documented(None, media="application/xml", summary="The submission's current XML.")
@requires(*READERS)
def submission_xml(project_id: int, form_id: str, instance_id: str):
    with current().db.session() as session:
        xml = _submission(session, project_id, form_id, instance_id).current_version.xml
    return Response(xml, mimetype="application/xml")


@bp.patch("/projects/<int:project_id>/forms/<form_id>/submissions/<instance_id>")
@documented(CentralSubmissionSchema, body=CentralReviewSchema, errors=(400, 401, 403, 404, 422))
@requires(*REVIEWERS)
def submission_review(project_id: int, form_id: str, instance_id: str):
    """Set the review state. ``rejected`` and ``hasIssues`` need a comment: in the body's
    ``comment``, or posted by the same reviewer before this request (pyodk's ``review(...,
    comment=)`` sends the comment after the change, so comment first with ``add_comment``)."""
    data = load(CentralReviewSchema(), json_body())
    state = data["review_state"] or ReviewState.RECEIVED.value
    allowed = sorted(submission_service.SETTABLE - {ReviewState.RECEIVED})
    if state not in submission_service.SETTABLE:
        reason = (
            "'edited' is set by an edit, not by hand"
            if state == ReviewState.EDITED.value
            else f"must be one of {', '.join(allowed)} or null"
        )
        raise errors.FIELDS_INVALID(fields="reviewState", errors={"reviewState": [reason]})
    with current().db.session() as session:
        row = _submission(session, project_id, form_id, instance_id)
        submission_service.set_review_state(session, current_user(), row, state, data["comment"])
        session.commit()
        return jsonify(CentralSubmissionSchema().dump(feed.submission_view(row)))


@bp.get("/projects/<int:project_id>/forms/<form_id>/submissions/<instance_id>/versions")
@documented(
    CentralSubmissionVersionSchema(many=True),
    summary="Every version of a submission (edits), newest first.",
)
@requires(*READERS)
def submission_versions(project_id: int, form_id: str, instance_id: str):
    with current().db.session() as session:
        row = _submission(session, project_id, form_id, instance_id)
        return jsonify(CentralSubmissionVersionSchema(many=True).dump(feed.versions(row)))


@bp.get("/projects/<int:project_id>/forms/<form_id>/submissions/<instance_id>/attachments")
@documented(
    CentralAttachmentSchema(many=True),
    summary="The files a submission names, and whether each arrived.",
)
@requires(*READERS)
def attachment_list(project_id: int, form_id: str, instance_id: str):
    with current().db.session() as session:
        row = _submission(session, project_id, form_id, instance_id)
        return jsonify(CentralAttachmentSchema(many=True).dump(feed.attachments(session, row)))


@bp.get("/projects/<int:project_id>/forms/<form_id>/submissions/<instance_id>/attachments/<name>")
@documented(
    None, media="application/octet-stream", summary="One file of a submission, as it was sent."
)
@requires(*READERS)
def attachment_file(project_id: int, form_id: str, instance_id: str, name: str):
    with current().db.session() as session:
        row = _submission(session, project_id, form_id, instance_id)
        return attachment_files.reply(session, row, name, None)


@bp.get("/projects/<int:project_id>/forms/<form_id>/submissions/<instance_id>/comments")
@documented(CentralCommentSchema(many=True), summary="A submission's comments, newest first.")
@requires(*READERS)
def comment_list(project_id: int, form_id: str, instance_id: str):
    with current().db.session() as session:
        row = _submission(session, project_id, form_id, instance_id)
        return jsonify(CentralCommentSchema(many=True).dump(feed.comments(session, row)))


@bp.post("/projects/<int:project_id>/forms/<form_id>/submissions/<instance_id>/comments")
@documented(
    CentralCommentSchema,
    body=CentralCommentSchema,
    errors=(400, 401, 403, 404, 422),
    summary="Comment on a submission (supervisors and admins).",
)
@requires(*REVIEWERS)
def comment_add(project_id: int, form_id: str, instance_id: str):
    data = load(CentralCommentSchema(), json_body())
    if not data["body"].strip():
        raise errors.FIELDS_INVALID(fields="body", errors={"body": ["Must not be empty."]})
    with current().db.session() as session:
        row = _submission(session, project_id, form_id, instance_id)
        comment = submission_service.add_comment(session, current_user(), row, data["body"])
        session.commit()
        body = {
            "body": comment.body,
            "actor_id": comment.author_id,
            "created_at": comment.created_at,
        }
    return jsonify(CentralCommentSchema().dump(body))


# OData -------------------------------------------------------------------------------------


def _service_url(form_id: str) -> str:
    return f"{base_url()}/v1/projects/{PROJECT_ID}/forms/{quote(form_id, safe='')}.svc"


def _odata(body: dict) -> Response:
    """JSON in the order written: OData wants ``@odata.context`` first, and people read
    ``__id`` and ``__system`` before the answers (Flask's JSON would sort the keys)."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    response = Response(text, content_type=f"{ODATA_JSON}; charset=utf-8")
    response.headers["OData-Version"] = "4.0"
    return response


def _schema(session, project_id: int, form_id: str) -> tuple[Form, odata.Schema]:
    form = _form(session, project_id, form_id)
    return form, odata.Schema.of(form.form_id, form.current_version.fields)


@bp.get("/projects/<int:project_id>/forms/<form_id>.svc")
@bp.get("/projects/<int:project_id>/forms/<form_id>.svc/")
@documented({"type": "object"})
@requires(*READERS)
def odata_service(project_id: int, form_id: str):
    """The service document: the Submissions table and one table per repeat."""
    with current().db.session() as session:
        _form_row, schema = _schema(session, project_id, form_id)
    return _odata(odata.service_document(schema, _service_url(form_id)))


@bp.get("/projects/<int:project_id>/forms/<form_id>.svc/$metadata")
@documented(
    None, media="application/xml", summary="The OData $metadata (EDMX), as Central writes it."
)
@requires(*READERS)
def odata_metadata(project_id: int, form_id: str):
    with current().db.session() as session:
        _form_row, schema = _schema(session, project_id, form_id)
    response = Response(odata.metadata_document(schema), mimetype="application/xml")
    response.headers["OData-Version"] = "4.0"
    return response


@bp.get("/projects/<int:project_id>/forms/<form_id>.svc/<path:subpath>")
@documented(
    ODATA_PAGE,
    errors=(400, 401, 404, 501),
    query=ODATA_QUERY,
    also={"text/plain": {"type": "integer"}},
)
@requires(*READERS)
def odata_table(project_id: int, form_id: str, subpath: str):
    """A table: ``Submissions``, ``Submissions.member``, or a path below one submission
    (``Submissions('uuid:…')/member``), a page at a time with ``@odata.nextLink``."""
    runtime = current()
    with runtime.db.session() as session:
        form, schema = _schema(session, project_id, form_id)
        q = feed_query(schema, subpath, request.args, runtime.settings.odata_page_size)
        page = feed.page(session, current_user(), form, schema, q)
    if q.count_only:
        response = Response(str(page.count), mimetype="text/plain")
        response.headers["OData-Version"] = "4.0"
        return response
    body: dict = {"@odata.context": f"{_service_url(form_id)}/$metadata#{q.table}"}
    if page.count is not None:
        body["@odata.count"] = page.count
    body["value"] = page.rows
    if page.next_token is not None:
        args = {k: v for k, v in request.args.items() if k not in ("$skip", "$skiptoken")}
        args["$skiptoken"] = page.next_token
        body["@odata.nextLink"] = f"{base_url()}{request.path}?{urlencode(args, quote_via=quote)}"
    return _odata(body)


@bp.route("/<path:_rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_offered(_rest: str):
    """A Central endpoint khudan does not offer (see the README), or no endpoint at all."""
    raise errors.NOT_FOUND(what=f"{request.method} {request.path} (not offered by khudan's /v1)")
