"""A form with its current version, as listed to designers and scripts."""

from marshmallow import Schema, fields


class FormSchema(Schema):
    form_id = fields.String(required=True, metadata={"description": "The XForm's instance id"})
    state = fields.String(required=True, metadata={"description": "open, closing or closed"})
    version = fields.String(attribute="current_version.version", allow_none=True)
    title = fields.String(attribute="current_version.title", allow_none=True)
    md5 = fields.String(
        attribute="current_version.md5",
        allow_none=True,
        metadata={"description": "MD5 of the XForm bytes phones download"},
    )
    published_at = fields.DateTime(attribute="current_version.published_at", allow_none=True)
    media_expected = fields.List(fields.String(), attribute="current_version.media_expected")
