"""Submissions for reviewers: list, detail, raw XML, attachments, review state, comments."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, request
from flask_restx import Namespace, Resource

from khudan.schemas.common import ErrorSchema
from khudan.schemas.submissions import (
    BulkResultSchema,
    BulkReviewSchema,
    CommentSchema,
    ListQuerySchema,
    ReviewSchema,
    SubmissionDetailSchema,
    SubmissionPageSchema,
)

from .. import attachments
from ..models import Role
from ..runtime import current
from ..services import photos as photo_service
from ..services import submissions as service
from . import api, docs, json_body, load
from .auth import current_user, requires

ns = Namespace("submissions", description="Review what collectors sent (scoped to your areas)")
api.add_namespace(ns, path="/submissions")
error = docs.model(ns, ErrorSchema)
error_docs = docs.errors_for(
    ns, error, {403: "Not a supervisor, collector or admin", 404: "Unknown or outside your areas"}
)
READERS = (Role.SUPERVISOR, Role.ADMIN, Role.COLLECTOR)
REVIEWERS = (Role.SUPERVISOR, Role.ADMIN)

list_query = ns.parser()
for _name, _field in ListQuerySchema().fields.items():
    list_query.add_argument(
        _name, location="args", required=False, help=_field.metadata.get("description")
    )


@ns.route("")
class Submissions(Resource):
    @ns.expect(list_query)
    @ns.response(200, "A page of submissions", docs.model(ns, SubmissionPageSchema))
    @error_docs(401, 403, (422, "Invalid filter"))
    @requires(*READERS)
    def get(self):
        """Submissions you may see, filtered, sorted and paginated (?sort=-created_at)."""
        q = load(ListQuerySchema(), request.args.to_dict())
        filters = service.Filters(
            form_id=q["form"],
            version=q["version"],
            period=q["period"],
            area=q["area"],
            review_state=q["review_state"],
            submitter=q["submitter"],
            since=q["since"],
            until=q["until"],
            has_problems=q["has_problems"],
            processing=q["processing"],
            text=q["q"],
            sort=q["sort"],
            page=q["page"],
            per_page=q["per_page"],
        )
        with current().db.session() as session:
            items, total = service.list_submissions(session, current_user(), filters)
        return SubmissionPageSchema().dump(
            {"items": items, "page": q["page"], "per_page": q["per_page"], "total": total}
        )


@ns.route("/review")
class BulkReview(Resource):
    @ns.expect(docs.input_model(ns, BulkReviewSchema))
    @ns.response(200, "Review state set", docs.model(ns, BulkResultSchema))
    @error_docs(
        400,
        401,
        (403, "Not a supervisor or admin"),
        (404, "Some ids are unknown or outside your areas (nothing changed)"),
        415,
        (422, "Invalid state, or a comment is required"),
    )
    @requires(*REVIEWERS)
    def post(self):
        """Set one review state on a selection of submissions, all or nothing."""
        data = load(BulkReviewSchema(), json_body())
        with current().db.session() as session:
            updated = service.review_many(
                session, current_user(), data["ids"], data["review_state"], data["comment"]
            )
            session.commit()
        return BulkResultSchema().dump({"updated": updated})


@ns.route("/by-instance/<path:instance_id>")
class SubmissionByInstance(Resource):
    @ns.response(200, "The submission", docs.model(ns, SubmissionDetailSchema))
    @error_docs(401, 403, 404)
    @requires(*READERS)
    def get(self, instance_id: str):
        """A submission by the ``instanceID`` a phone gave it (``uuid:…``), of any of its
        versions: what a collector reads out of ODK Collect when a supervisor asks."""
        with current().db.session() as session:
            row = service.get_visible_by_instance(session, current_user(), instance_id)
            body = service.detail(
                session, row, lambda name: _attachment_url(row.id, name), current_user()
            )
        return SubmissionDetailSchema().dump(body)


@ns.route("/<int:submission_id>")
class SubmissionDetail(Resource):
    @ns.response(200, "The submission", docs.model(ns, SubmissionDetailSchema))
    @error_docs(401, 403, 404)
    @requires(*READERS)
    def get(self, submission_id: int):
        """Answers (nested as the form is, with labels), files, problems, versions, comments."""
        with current().db.session() as session:
            row = service.get_visible(session, current_user(), submission_id)
            body = service.detail(
                session, row, lambda name: _attachment_url(submission_id, name), current_user()
            )
        return SubmissionDetailSchema().dump(body)

    @ns.expect(docs.input_model(ns, ReviewSchema))
    @ns.response(200, "Review state set", docs.model(ns, SubmissionDetailSchema))
    @error_docs(
        400,
        401,
        (403, "Not a supervisor or admin"),
        404,
        415,
        (422, "Invalid state, or rejected/hasIssues without a comment"),
    )
    @requires(*REVIEWERS)
    def patch(self, submission_id: int):
        """Approve, reject or flag (hasIssues); rejecting or flagging needs a comment."""
        data = load(ReviewSchema(), json_body())
        with current().db.session() as session:
            row = service.get_visible(session, current_user(), submission_id)
            service.set_review_state(
                session, current_user(), row, data["review_state"], data["comment"]
            )
            session.commit()
            body = service.detail(
                session, row, lambda name: _attachment_url(submission_id, name), current_user()
            )
        return SubmissionDetailSchema().dump(body)


@ns.route("/<int:submission_id>/comments")
class Comments(Resource):
    @ns.response(200, "Comments, oldest first", [docs.model(ns, CommentSchema)])
    @error_docs(401, 403, 404)
    @requires(*READERS)
    def get(self, submission_id: int):
        """The comment thread of a submission."""
        with current().db.session() as session:
            row = service.get_visible(session, current_user(), submission_id)
            return CommentSchema(many=True).dump(service.comments(session, row))

    @ns.expect(docs.input_model(ns, CommentSchema))
    @ns.response(201, "Comment added", docs.model(ns, CommentSchema))
    @error_docs(400, 401, (403, "Not a supervisor or admin"), 404, 415, (422, "Empty comment"))
    @requires(*REVIEWERS)
    def post(self, submission_id: int):
        """Add a comment."""
        data = load(CommentSchema(), json_body())
        with current().db.session() as session:
            row = service.get_visible(session, current_user(), submission_id)
            comment = service.add_comment(session, current_user(), row, data["body"])
            session.commit()
            body = {
                "id": comment.id,
                "body": comment.body,
                "author": current_user().username,
                "created_at": comment.created_at,
            }
        return CommentSchema().dump(body), 201


@ns.route("/<int:submission_id>.xml")
class SubmissionXml(Resource):
    @ns.produces(["application/xml"])
    @ns.response(200, "The current version's XML, byte for byte")
    @error_docs(401, 403, 404)
    @requires(*READERS)
    def get(self, submission_id: int):
        """The XML as the phone sent it (current version)."""
        with current().db.session() as session:
            row = service.get_visible(session, current_user(), submission_id)
            xml = row.current_version.xml
        return Response(xml, mimetype="application/xml")


attachment_query = ns.parser()
attachment_query.add_argument(
    "size",
    type=int,
    choices=photo_service.THUMBNAIL_SIZES,
    location="args",
    required=False,
    help="A JPEG thumbnail, upright, this many pixels on its longest side (photos only)",
)


@ns.route("/<int:submission_id>/attachments/<string:name>")
class AttachmentFile(Resource):
    @ns.expect(attachment_query)
    @ns.produces(["application/octet-stream", "image/jpeg"])
    @ns.response(200, "The file, with Content-Type, Content-Disposition and ETag")
    @ns.response(304, "Not modified")
    @error_docs(
        401,
        403,
        (404, "Unknown, not arrived yet, outside your areas, or no thumbnail"),
        (422, "A size other than 320 or 1280"),
    )
    @requires(*READERS)
    def get(self, submission_id: int, name: str):
        """A file of the current version (a photo of the house, ...), or its thumbnail.

        Only a file whose bytes are a readable JPEG, PNG, GIF or WebP is shown inline; anything
        else, whatever its name, is a download with ``X-Content-Type-Options: nosniff``.
        """
        size = attachments.thumbnail_size(request.args.get("size"))
        with current().db.session() as session:
            row = service.get_visible(session, current_user(), submission_id)
            return attachments.reply(session, row, name, size)


def _attachment_url(submission_id: int, name: str) -> str:
    return (
        f"{request.script_root}/api/v1/submissions/{submission_id}/attachments/"
        f"{quote(name, safe='')}"
    )
