"""Forms: publish XLSForms (or XForms) as new versions, list and download them, open and close them,
and manage the media files phones download with them.

A version may be the empty string (an XForm without a ``version`` attribute). A URL cannot carry an
empty path segment, so the empty version is written ``_``: ``/forms/x/versions/_.xml``. A version
literally named ``_`` is looked up first, so it stays reachable. Listings give each version's
``xml_url`` and ``xlsx_url`` so that clients need not build these URLs.
"""

from __future__ import annotations

import hashlib
import io
from contextlib import contextmanager
from urllib.parse import quote

from flask import Response, request, send_file
from flask_restx import Namespace, Resource

from khudan.schemas.common import ErrorSchema
from khudan.schemas.drafts import UploadResultSchema
from khudan.schemas.forms import (
    FormDetailSchema,
    FormSchema,
    FormStateSchema,
    FormVersionSchema,
    MediaFileSchema,
    PublishResultSchema,
    UploadQuerySchema,
)

from .. import errors
from ..models import Form, FormVersion, Role
from ..runtime import base_url, current
from ..services import forms
from ..services.scope import Scope
from ..xforms import pyxform_messages
from ..xlsxstream import XLSX_TYPE
from . import api, bp, docs, json_body, load
from .auth import ANYONE, DESIGNERS, current_user, requires

ns = Namespace(
    "forms",
    description="Publish XLSForms, download versions, open and close forms, manage form media",
)
api.add_namespace(ns, path="/forms")
error = docs.model(ns, ErrorSchema)
error_docs = docs.errors_for(
    ns, error, {403: "Not a designer or admin", 404: "No such form (404.1)"}
)
form_model = docs.model(ns, FormSchema)
detail_model = docs.model(ns, FormDetailSchema)
version_model = docs.model(ns, FormVersionSchema)
media_model = docs.model(ns, MediaFileSchema)
publish_model = docs.model(ns, PublishResultSchema)
upload_model = docs.model(ns, UploadResultSchema)

XML_TYPES = frozenset({"application/xml", "text/xml"})
_UPLOADABLE = "multipart/form-data (field 'file': .xlsx or .xml), application/xml or " + XLSX_TYPE

_FORM_ID = {"form_id": "The form's id (settings sheet 'form_id')"}
_VERSION = {"version": "A version as listed; '_' for the empty version"}
_FILENAME = {"filename": "A media file name the form refers to, e.g. villages.csv"}


@ns.route("")
class Forms(Resource):
    @ns.response(200, "Forms with their current version", [form_model])
    @error_docs(401)
    @requires(*ANYONE)
    def get(self):
        """List forms: current version, state, counts of versions and of submissions.

        Supervisors and collectors count only the submissions of their areas.
        """
        with current().db.session() as session:
            counted = forms.counts(session, Scope.of(session, current_user()))
            rows = [_summary(form, counted) for form in forms.list_forms(session)]
        return FormSchema(many=True).dump(rows)

    @ns.doc(
        params={
            "file": {
                "in": "formData",
                "type": "file",
                "required": True,
                "description": "An XLSForm (.xlsx) or an XForm (.xml). Other file fields are "
                "media files, the field name being the file name. The XLSForm or XForm may "
                "instead be the whole body, as application/xml or " + XLSX_TYPE,
            },
            "validate": {
                "in": "query",
                "type": "boolean",
                "default": True,
                "description": "false: skip ODK Validate (admins only). KHUDAN_ODK_VALIDATE=0 "
                "turns it off for everyone",
            },
            "publish": {
                "in": "query",
                "type": "boolean",
                "default": False,
                "description": "true: publish at once; false: save as the form's draft",
            },
        }
    )
    @ns.response(
        201,
        "Saved as the form's draft (status draft, the draft in draft); with ?publish=true: "
        "published a new version, or replaced media files",
        upload_model,
    )
    @ns.response(
        200, "?publish=true: this version was already published with the same XForm", upload_model
    )
    @error_docs(
        (400, "Broken multipart body"),
        401,
        (403, "Not a designer or admin; or ?validate=false by a non-admin"),
        (
            409,
            "This version exists with other content: bump the version (409.5); a draft of a "
            "version already published (409.20)",
        ),
        413,
        (415, "Neither an .xlsx XLSForm nor an .xml XForm"),
        (
            422,
            "pyxform could not convert the XLSForm (422.1; details.errors lists {sheet, row, "
            "message}, details.reason keeps pyxform's text); ODK Validate rejected it (422.2); "
            "ODK Validate could not run (422.3); a domain form lacks fields its rules read (422.5)",
        ),
    )
    @requires(*DESIGNERS)
    def post(self):
        """Upload an XLSForm (converted with pyxform) or an XForm (as it is): as a draft, or
        with ``?publish=true`` published at once.

        As in ODK Central, an upload is the form's **draft**: phones do not see it until
        ``POST /forms/<form_id>/draft/publish``; the answer carries the draft (findings,
        changes, test link). ``?publish=true`` publishes it at once instead. The form id and
        version come from the settings sheet. Publishing the same version again with the same
        content changes nothing (200) but still replaces the media files given. The original
        XLSForm is kept for download.
        """
        query = load(UploadQuerySchema(), request.args.to_dict())
        if not query["publish"]:
            from .form_drafts import save_upload  # form_drafts extends this namespace

            draft, location = save_upload(query)
            body = {
                "form_id": draft["form_id"],
                "version": draft["version"],
                "title": draft["title"],
                "status": "draft",
                "warnings": draft["findings"],
                "missing_media": draft["missing_media"],
                "draft": draft,
            }
            return body, 201, {"Location": location}
        xml, warnings, xlsx, media, user = uploaded_form(query, "publish")
        runtime = current()
        with well_formed():
            result = forms.publish(
                runtime.db,
                runtime.storage,
                xml=xml,
                xlsx=xlsx,
                media=media,
                warnings=warnings,
                validate=query["odk_validate"] and runtime.settings.odk_validate,
                actor_id=user.id,
            )
        body = PublishResultSchema().dump(
            {
                "form_id": result.form_id,
                "version": result.version,
                "title": result.title,
                "status": result.status,
                "warnings": [item for w in result.warnings for item in pyxform_messages.parse(w)],
                "missing_media": result.missing_media,
            }
        )
        status = 200 if result.status == "unchanged" else 201
        return body, status, {"Location": _url(result.form_id)}


def uploaded_form(query: dict, action: str):
    """(XForm, pyxform's warnings, the XLSForm's bytes or None, media files, the user) of the
    uploaded XLSForm (converted) or XForm; ``?validate=false`` is for admins only."""
    user = current_user()
    if not query["odk_validate"] and user.role != Role.ADMIN:
        raise errors.FORBIDDEN(
            username=user.username,
            role=user.role,
            action=f"{action} without ODK Validate (?validate=false)",
        )
    kind, data, filename, media = _form_upload()
    if kind == "xml":
        return data, [], None, media, user
    xml, warnings = forms.convert_xlsform(data, filename, current().settings.xlsx_limits)
    return xml, warnings, data, media, user


@contextmanager
def well_formed():
    """An upload that is not well-formed XML is the client's input error (400), with the
    parser's reason."""
    try:
        yield
    except errors.Problem as problem:
        if problem.kind is errors.XML_MALFORMED:
            raise errors.INVALID_INPUT(
                reason=f"the XForm is not well-formed XML ({problem.details['reason']})"
            ) from None
        raise


@ns.route("/<form_id>")
@ns.doc(params=_FORM_ID)
class OneForm(Resource):
    @ns.response(200, "The form, its current version and media files", detail_model)
    @error_docs(401, 404)
    @requires(*ANYONE)
    def get(self, form_id: str):
        """A form: current version, state, counts, and the media files expected and present."""
        return _detail(form_id)

    @ns.expect(docs.input_model(ns, FormStateSchema))
    @ns.response(200, "The form after the change", detail_model)
    @error_docs(400, 401, 403, 404, 415, (422, "Invalid state (422.6)"))
    @requires(*DESIGNERS)
    def patch(self, form_id: str):
        """Open, wind down or close a form.

        open: listed to phones and accepting submissions; closing: no longer listed, still
        accepting what was filled before; closed: accepts nothing.
        """
        data = load(FormStateSchema(), json_body())
        forms.set_state(current().db, form_id, data["state"], actor_id=current_user().id)
        return _detail(form_id)


@ns.route("/<form_id>/versions")
@ns.doc(params=_FORM_ID)
class Versions(Resource):
    @ns.response(200, "Every version, oldest first", [version_model])
    @error_docs(401, 404)
    @requires(*ANYONE)
    def get(self, form_id: str):
        """The versions of a form: version, title, md5, when and by whom each was published."""
        with current().db.session() as session:
            form = forms.get_form(session, form_id)
            rows = [
                _version_body(form, version, username)
                for version, username in forms.versions_of(session, form)
            ]
        return FormVersionSchema(many=True).dump(rows)


@ns.route("/<form_id>/versions/<version>.xml")
@ns.doc(params={**_FORM_ID, **_VERSION})
class VersionXml(Resource):
    @ns.doc(produces=["application/xml"])
    @ns.response(200, "The XForm, byte for byte what phones download (ETag: its MD5)")
    @ns.response(304, "Not modified (If-None-Match)")
    @error_docs(401, (404, "No such form (404.1) or version (404.2)"))
    @requires(*ANYONE)
    def get(self, form_id: str, version: str):
        """Download a version's XForm; its MD5 is the hash in the OpenRosa form list."""
        with current().db.session() as session:
            found = forms.version_in_url(session, form_id, version)
        response = Response(found.xml, mimetype="application/xml")
        response.set_etag(found.md5)
        return response.make_conditional(request)


@ns.route("/<form_id>/versions/<version>.xlsx")
@ns.doc(params={**_FORM_ID, **_VERSION})
class VersionXlsx(Resource):
    @ns.doc(produces=[XLSX_TYPE])
    @ns.response(200, "The XLSForm as it was uploaded, as an attachment")
    @ns.response(304, "Not modified (If-None-Match)")
    @error_docs(
        401, (404, "No such form (404.1) or version (404.2), or published from an XForm (404.4)")
    )
    @requires(*ANYONE)
    def get(self, form_id: str, version: str):
        """Download the XLSForm a version was published from."""
        with current().db.session() as session:
            found = forms.version_in_url(session, form_id, version)
        if found.xlsx is None:
            raise errors.NOT_FOUND(
                what=f"the XLSForm of form '{form_id}' version '{found.version}' "
                "(it was published from an XForm; download the .xml)"
            )
        return send_file(
            io.BytesIO(found.xlsx),
            mimetype=XLSX_TYPE,
            as_attachment=True,
            download_name=f"{form_id}-{found.version or 'unversioned'}.xlsx",
            etag=hashlib.md5(found.xlsx).hexdigest(),
            conditional=True,
            max_age=0,
        )


@ns.route("/<form_id>/media")
@ns.doc(params=_FORM_ID)
class Media(Resource):
    @ns.response(200, "Media files of the current version", [media_model])
    @error_docs(401, 404)
    @requires(*ANYONE)
    def get(self, form_id: str):
        """The media files the current version refers to or has: expected, present, md5, size.

        areas.csv is written by khudan for each user from the area registry; md5 and size are
        those of the caller's copy.
        """
        with current().db.session() as session:
            form = forms.get_form(session, form_id)
            files = forms.media_of(session, form.current_version, current_user().username)
        return MediaFileSchema(many=True).dump([_media_body(form_id, m) for m in files])


@ns.route("/<form_id>/media/<filename>")
@ns.doc(params={**_FORM_ID, **_FILENAME})
class OneMediaFile(Resource):
    @ns.doc(produces=["application/octet-stream"])
    @ns.response(200, "The file, as an attachment with its Content-Type and ETag (MD5)")
    @ns.response(304, "Not modified (If-None-Match)")
    @error_docs(
        401,
        (
            404,
            "No such form (404.1), a name the form does not use (404.5), or not uploaded yet (404.4)",
        ),
    )
    @requires(*ANYONE)
    def get(self, form_id: str, filename: str):
        """Download a media file of the current version (areas.csv: the caller's own copy)."""
        with current().db.session() as session:
            form = forms.get_form(session, form_id)
            files = forms.media_of(session, form.current_version, current_user().username)
        found = _media_named(form, files, filename)
        if not found.present:
            raise errors.NOT_FOUND(
                what=f"media file '{filename}' of form '{form_id}' (not uploaded yet)"
            )
        if request.if_none_match.contains(found.md5):  # answered before opening the file
            response = Response(status=304)
            response.set_etag(found.md5)
            return response
        source = (
            io.BytesIO(found.data)
            if found.data is not None
            else current().storage.open(found.blob.storage_key)
        )
        return send_file(
            source,
            mimetype=found.content_type,
            as_attachment=True,
            download_name=filename,
            etag=found.md5,
            conditional=True,
            max_age=0,
        )

    @ns.doc(
        params={
            "file": {
                "in": "formData",
                "type": "file",
                "required": True,
                "description": "The file; it may instead be the whole request body, of any type",
            }
        }
    )
    @ns.response(201, "Uploaded", media_model)
    @ns.response(200, "Replaced (or the same content again)", media_model)
    @error_docs(
        (400, "Broken multipart body"),
        401,
        403,
        (404, "No such form (404.1), or the form does not use this file name (404.5)"),
        (409, "areas.csv is written by khudan from the area registry (409.9)"),
        413,
        (422, "Empty file, or no 'file' field in a multipart body"),
    )
    @requires(*DESIGNERS)
    def put(self, form_id: str, filename: str):
        """Upload or replace a media file of the current version (a CSV list, an image...).

        Phones see the new file the next time they update the form; the XForm does not change.
        """
        runtime = current()
        created = forms.put_media(
            runtime.db,
            runtime.storage,
            form_id,
            filename,
            _media_upload(),
            actor_id=current_user().id,
        )
        with runtime.db.session() as session:
            form = forms.get_form(session, form_id)
            files = forms.media_of(session, form.current_version, current_user().username)
        body = MediaFileSchema().dump(_media_body(form_id, _media_named(form, files, filename)))
        return body, 201 if created else 200


# -- helpers ----------------------------------------------------------------------------------


def _url(form_id: str, *rest: str) -> str:
    path = "/".join(quote(p, safe="") for p in (form_id, *rest))
    return f"{base_url()}{bp.url_prefix}/forms/{path}"


def _version_url(form_id: str, version: FormVersion, ext: str) -> str:
    return _url(form_id, "versions", f"{version.version or forms.EMPTY_VERSION}.{ext}")


def _summary(form: Form, counted: dict[int, tuple[int, int]]) -> dict:
    nversions, nsubmissions = counted.get(form.id, (0, 0))
    return {
        "form_id": form.form_id,
        "state": form.state,
        "current_version": form.current_version,
        "version_count": nversions,
        "submission_count": nsubmissions,
    }


def _detail(form_id: str) -> dict:
    with current().db.session() as session:
        form = forms.get_form(session, form_id)
        counted = forms.counts(session, Scope.of(session, current_user()))
        version = form.current_version
        files = forms.media_of(session, version, current_user().username)
    body = _summary(form, counted)
    body["xml_url"] = _version_url(form_id, version, "xml")
    body["xlsx_url"] = _version_url(form_id, version, "xlsx") if version.xlsx else None
    body["media"] = [_media_body(form_id, m) for m in files]
    return FormDetailSchema().dump(body)


def _version_body(form: Form, version: FormVersion, username: str | None) -> dict:
    return {
        "version": version.version,
        "title": version.title,
        "md5": version.md5,
        "published_at": version.published_at,
        "published_by": username,
        "current": version.id == form.current_version_id,
        "media_expected": version.media_expected,
        "xml_url": _version_url(form.form_id, version, "xml"),
        "xlsx_url": _version_url(form.form_id, version, "xlsx") if version.xlsx else None,
    }


def _media_body(form_id: str, media: forms.MediaFile) -> dict:
    return {
        "name": media.name,
        "expected": media.expected,
        "present": media.present,
        "generated": media.generated,
        "md5": media.md5,
        "size": media.size,
        "content_type": media.content_type,
        "url": _url(form_id, "media", media.name) if media.present else None,
    }


def _media_named(form: Form, files: list[forms.MediaFile], filename: str) -> forms.MediaFile:
    found = next((m for m in files if m.name == filename), None)
    if found is None:
        raise errors.MEDIA_NOT_EXPECTED(
            form_id=form.form_id,
            filename=filename,
            expected=", ".join(m.name for m in files if m.expected) or "-",
        )
    return found


def _files():
    try:
        return request.files
    except ValueError as exc:
        raise errors.MULTIPART_INVALID(reason=str(exc)) from None


def _required_file():
    part = _files().get("file")
    if part is None:
        raise errors.FIELDS_INVALID(
            fields="file", errors={"file": ["Missing data for required field."]}
        )
    return part


def _form_upload() -> tuple[str, bytes, str, dict[str, bytes]]:
    """(kind "xlsx" or "xml", bytes, file name, media files by name) from the request."""
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        part = _required_file()
        name = part.filename or ""
        media = {field: f.read() for field, f in _files().items(multi=True) if field != "file"}
        return _kind(name, part.mimetype), part.read(), name or "form.xlsx", media
    if mimetype in XML_TYPES:
        return "xml", request.get_data(), "form.xml", {}
    if mimetype == XLSX_TYPE:
        return "xlsx", request.get_data(), "form.xlsx", {}
    raise errors.UNSUPPORTED_MEDIA(got=mimetype or "none", expected=_UPLOADABLE)


def _kind(filename: str, mimetype: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == "xlsx" or (not suffix and mimetype == XLSX_TYPE):
        return "xlsx"
    if suffix == "xml" or (not suffix and mimetype in XML_TYPES):
        return "xml"
    raise errors.UNSUPPORTED_MEDIA(
        got=filename or mimetype or "none", expected="an .xlsx XLSForm or an .xml XForm"
    )


def _media_upload():
    """The uploaded file as a stream: the multipart field 'file', or the raw body."""
    if request.mimetype == "multipart/form-data":
        return _required_file().stream
    return request.stream
