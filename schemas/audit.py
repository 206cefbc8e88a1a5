"""Audit events as admins query them."""

from marshmallow import Schema, fields, validate

from .common import MAX_PAGE, UtcDateTime, page_of


class AuditEventSchema(Schema):
    id = fields.Integer(required=True)
    actor = fields.String(allow_none=True)
    action = fields.String(required=True)
    target = fields.String(allow_none=True)
    details = fields.Dict(required=True)
    logged_at = UtcDateTime(required=True)


AuditPageSchema = page_of(AuditEventSchema, "AuditPageSchema")


class AuditQuerySchema(Schema):
    action = fields.String(load_default=None, metadata={"description": "e.g. user.login"})
    actor = fields.String(load_default=None, metadata={"description": "username"})
    target = fields.String(load_default=None)
    since = UtcDateTime(load_default=None)
    until = UtcDateTime(load_default=None)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class LoginFailureSchema(Schema):
    """Wrong passwords from one address for one name over the throttle's window."""

    address = fields.String(required=True)
    username = fields.String(required=True)
    failures = fields.Integer(required=True, metadata={"description": "in the last 15 minutes"})
    last_failed_at = UtcDateTime(required=True)
    wait_until = UtcDateTime(
        allow_none=True, metadata={"description": "when this pair may try again; null: now"}
    )


class LoginFailuresSchema(Schema):
    items = fields.List(fields.Nested(LoginFailureSchema), required=True)
