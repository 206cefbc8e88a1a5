"""Log-in and the session it opens."""

from marshmallow import Schema, fields, validate

from .common import UtcDateTime


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=150))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1))


class SessionSchema(Schema):
    token = fields.String(
        required=True, metadata={"description": "Send as 'Authorization: Bearer'"}
    )
    expires_at = UtcDateTime(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True)
