"""Forms, their versions and media files, and what publishing an XLSForm reports."""

from marshmallow import Schema, fields, validate

from khudan.models.forms import FormState

from .common import UtcDateTime

PUBLISH_STATUSES = ("draft", "published", "media-updated", "unchanged")


class FormSchema(Schema):
    form_id = fields.String(required=True, metadata={"description": "The XForm's instance id"})
    state = fields.String(required=True, metadata={"description": "open, closing or closed"})
    version = fields.String(
        attribute="current_version.version",
        allow_none=True,
        metadata={"description": "Current version; may be the empty string"},
    )
    title = fields.String(attribute="current_version.title", allow_none=True)
    md5 = fields.String(
        attribute="current_version.md5",
        allow_none=True,
        metadata={"description": "MD5 of the XForm bytes phones download"},
    )
    published_at = UtcDateTime(attribute="current_version.published_at", allow_none=True)
    media_expected = fields.List(fields.String(), attribute="current_version.media_expected")
    version_count = fields.Integer(metadata={"description": "Versions published"})
    submission_count = fields.Integer(
        metadata={"description": "Submissions, counting only those in the caller's areas"}
    )


class MediaFileSchema(Schema):
    name = fields.String(required=True)
    expected = fields.Boolean(required=True, metadata={"description": "The form refers to it"})
    present = fields.Boolean(required=True, metadata={"description": "Phones can download it"})
    generated = fields.Boolean(
        required=True,
        metadata={"description": "Written by khudan for each user (areas.csv); never uploaded"},
    )
    md5 = fields.String(allow_none=True)
    size = fields.Integer(allow_none=True)
    content_type = fields.String(allow_none=True)
    url = fields.String(allow_none=True, metadata={"description": "Download URL when present"})


class FormDetailSchema(FormSchema):
    xml_url = fields.String(metadata={"description": "The current version's XForm"})
    xlsx_url = fields.String(
        allow_none=True,
        metadata={"description": "The current version's XLSForm; null if published from XML"},
    )
    media = fields.List(fields.Nested(MediaFileSchema))


class FormVersionSchema(Schema):
    version = fields.String(
        required=True, metadata={"description": "May be the empty string (URLs then use '_')"}
    )
    title = fields.String(required=True)
    md5 = fields.String(required=True)
    published_at = UtcDateTime(required=True)
    published_by = fields.String(
        allow_none=True, metadata={"description": "Username; null when published by the CLI"}
    )
    current = fields.Boolean(required=True)
    media_expected = fields.List(fields.String())
    xml_url = fields.String(required=True)
    xlsx_url = fields.String(
        allow_none=True, metadata={"description": "Null if published from XML"}
    )


class XLSFormMessageSchema(Schema):
    """One pyxform error or warning, with its place when pyxform names one."""

    sheet = fields.String(allow_none=True, metadata={"description": "survey, choices, settings…"})
    row = fields.Integer(allow_none=True, metadata={"description": "Spreadsheet row (1 = header)"})
    message = fields.String(required=True)


class PublishResultSchema(Schema):
    form_id = fields.String(required=True)
    version = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(PUBLISH_STATUSES),
        metadata={"description": " | ".join(PUBLISH_STATUSES)},
    )
    warnings = fields.List(fields.Nested(XLSFormMessageSchema), required=True)
    missing_media = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Files the form refers to that are not uploaded yet"},
    )


class PublishQuerySchema(Schema):
    odk_validate = fields.Boolean(
        data_key="validate",
        load_default=True,
        metadata={"description": "false: skip ODK Validate (admins only)"},
    )


class UploadQuerySchema(PublishQuerySchema):
    publish = fields.Boolean(
        load_default=False,
        metadata={
            "description": "true: publish at once (phones get it now); false: save as the "
            "form's draft, as ODK Central does"
        },
    )


class FormStateSchema(Schema):
    state = fields.String(
        required=True,
        validate=validate.OneOf([s.value for s in FormState]),
        metadata={
            "description": "open: listed to phones; closing: hidden, still accepts "
            "submissions; closed: accepts nothing"
        },
    )
