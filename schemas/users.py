"""A person who logs in, without any secret."""

from marshmallow import Schema, fields


class UserSchema(Schema):
    username = fields.String(required=True)
    role = fields.String(required=True)
    enabled = fields.Boolean(required=True)
    areas = fields.List(fields.String(), attribute="area_codes")
    created_at = fields.DateTime()
