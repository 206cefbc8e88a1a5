"""A form's draft as a designer reads it before publishing: findings, changes, test link."""

from marshmallow import Schema, fields

from .common import UtcDateTime
from .forms import PublishResultSchema, XLSFormMessageSchema


class FieldChangeSchema(Schema):
    path = fields.String(required=True, metadata={"description": "e.g. /data/member/m_name"})
    changes = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={"description": "aspect (type, label, required, relevant, …) -> [old, new]"},
    )
    choices_added = fields.List(fields.String())
    choices_removed = fields.List(fields.String())


class FormDiffSchema(Schema):
    added = fields.List(fields.String(), required=True, metadata={"description": "new paths"})
    removed = fields.List(fields.String(), required=True)
    changed = fields.List(fields.Nested(FieldChangeSchema), required=True)


class DraftSchema(Schema):
    form_id = fields.String(required=True)
    version = fields.String(required=True, metadata={"description": "must be new to publish"})
    title = fields.String(required=True)
    published_version = fields.String(
        allow_none=True, metadata={"description": "the version phones have now (null: new form)"}
    )
    findings = fields.List(
        fields.Nested(XLSFormMessageSchema),
        required=True,
        metadata={"description": "pyxform's and ODK Validate's (JavaRosa) warnings"},
    )
    changes = fields.Nested(FormDiffSchema, required=True)
    media_expected = fields.List(fields.String(), required=True)
    missing_media = fields.List(fields.String(), required=True)
    test_url = fields.String(
        required=True,
        metadata={"description": "ODK Collect server URL for testing the draft (no password)"},
    )
    test_qr = fields.String(
        required=True, metadata={"description": "that URL as a Collect QR code (PNG data URL)"}
    )
    test_submissions = fields.Integer(
        required=True, metadata={"description": "test submissions kept (never counted)"}
    )
    xml_url = fields.String(required=True)
    created_at = UtcDateTime(required=True)


class UploadResultSchema(PublishResultSchema):
    """What ``POST /forms`` answers: a publish result, and the draft when it saved one."""

    draft = fields.Nested(
        DraftSchema, metadata={"description": "the saved draft (status draft only)"}
    )
