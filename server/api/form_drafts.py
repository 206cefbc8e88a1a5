"""Form drafts: upload an XLSForm as a draft, read its findings, changes and test link, publish
it or throw it away (``services.drafts``). Routes live in the ``forms`` namespace."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, request
from flask_restx import Resource

from khudan.schemas.drafts import DraftSchema
from khudan.schemas.forms import PublishQuerySchema, PublishResultSchema

from ..runtime import base_url, current
from ..services import collect_qr, drafts
from ..xforms import pyxform_messages
from . import docs, load
from .auth import DESIGNERS, current_user, requires
from .forms import _FORM_ID, error_docs, ns, publish_model, uploaded_form, well_formed

draft_model = docs.model(ns, DraftSchema)


def draft_body(session, draft) -> dict:
    summary = drafts.summary(session, draft)
    test_url = f"{base_url()}/test/{quote(draft.token, safe='')}"
    return DraftSchema().dump(
        {
            "form_id": draft.form_id,
            "version": draft.version,
            "title": draft.title,
            "published_version": summary.published_version,
            "findings": [m for w in draft.findings for m in pyxform_messages.parse(w)],
            "changes": summary.changes,
            "media_expected": draft.media_expected,
            "missing_media": summary.missing_media,
            "test_url": test_url,
            "test_qr": collect_qr.png_data_url(
                collect_qr.collect_qr_png(test_url, project_name=f"Thử: {draft.title}")
            ),
            "test_submissions": summary.test_submissions,
            "xml_url": f"{base_url()}/api/v1/forms/{quote(draft.form_id, safe='')}/draft.xml",
            "created_at": draft.updated_at or draft.created_at,
        }
    )


@ns.route("/drafts")
class Drafts(Resource):
    @ns.response(201, "Saved as the form's draft", draft_model)
    @error_docs(
        400,
        401,
        (403, "Not a designer or admin; or ?validate=false by a non-admin"),
        (409, "This version is already published: bump the version (409.20)"),
        413,
        (415, "Neither an .xlsx XLSForm nor an .xml XForm"),
        (422, "pyxform or ODK Validate rejected it; a domain form lacks fields"),
    )
    @requires(*DESIGNERS)
    def post(self):
        """Upload an XLSForm (or XForm) as a draft: phones do not see it until it is published.

        Same upload as ``POST /forms`` (multipart field ``file`` and media files). A draft replaces
        the form's earlier draft; its version must not be published yet.
        """
        draft, location = save_upload(load(PublishQuerySchema(), request.args.to_dict()))
        return draft, 201, {"Location": location}


def save_upload(query: dict) -> tuple[dict, str]:
    """Save the uploaded XLSForm or XForm as its form's draft: (the draft as the API shows it,
    its URL). ``POST /forms`` without ``?publish=true`` and ``POST /forms/drafts`` both land here."""
    xml, warnings, xlsx, media, user = uploaded_form(query, "save a draft")
    runtime = current()
    with well_formed():
        draft = drafts.save(
            runtime.db,
            runtime.storage,
            xml=xml,
            xlsx=xlsx,
            media=media,
            warnings=warnings,
            validate=query["odk_validate"] and runtime.settings.odk_validate,
            actor_id=user.id,
        )
    with runtime.db.session() as session:
        body = draft_body(session, drafts.get(session, draft.form_id))
    return body, f"{base_url()}/api/v1/forms/{quote(draft.form_id, safe='')}/draft"


@ns.route("/<form_id>/draft")
@ns.doc(params=_FORM_ID)
class Draft(Resource):
    @ns.response(200, "The draft", draft_model)
    @error_docs(401, 403, (404, "The form has no draft"))
    @requires(*DESIGNERS)
    def get(self, form_id: str):
        """Findings, the changes against the published version, and the test link and QR code."""
        with current().db.session() as session:
            return draft_body(session, drafts.get(session, form_id))

    @ns.response(204, "Discarded, with its test submissions")
    @error_docs(401, 403, (404, "The form has no draft"))
    @requires(*DESIGNERS)
    def delete(self, form_id: str):
        """Throw the draft away; phones never saw it."""
        drafts.discard(current().db, form_id, current_user().id)
        return "", 204


@ns.route("/<form_id>/draft.xml")
@ns.doc(params=_FORM_ID)
class DraftXml(Resource):
    @ns.produces(["application/xml"])
    @ns.response(200, "The draft's XForm")
    @error_docs(401, 403, (404, "The form has no draft"))
    @requires(*DESIGNERS)
    def get(self, form_id: str):
        """The draft's XForm, byte for byte."""
        with current().db.session() as session:
            xml = drafts.get(session, form_id).xml
        return Response(xml, mimetype="application/xml")


@ns.route("/<form_id>/draft/publish")
@ns.doc(params=_FORM_ID)
class DraftPublish(Resource):
    @ns.response(201, "Published: the draft is the current version", publish_model)
    @error_docs(401, 403, (404, "The form has no draft"), (409, "The version exists"))
    @requires(*DESIGNERS)
    def post(self, form_id: str):
        """Publish the draft: phones get it; its test submissions are deleted."""
        runtime = current()
        result = drafts.publish(runtime.db, runtime.storage, form_id, current_user().id)
        body = PublishResultSchema().dump(
            {
                "form_id": result.form_id,
                "version": result.version,
                "title": result.title,
                "status": result.status,
                "warnings": [m for w in result.warnings for m in pyxform_messages.parse(w)],
                "missing_media": result.missing_media,
            }
        )
        return body, 201
