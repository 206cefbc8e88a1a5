"""A person who logs in, without any secret; what an admin sends to create or change one; and the
phone set-up an app-user token gives."""

from marshmallow import Schema, ValidationError, fields, validate

from khudan.messages import _
from khudan.models import Role
from khudan.services import users

from .common import UtcDateTime

ROLES = [r.value for r in Role]


def _username(value: str) -> None:
    if reason := users.username_problem(value.strip()):
        raise ValidationError(_("Không dùng làm tên người dùng được: {reason}", reason=reason))


PHONE = validate.Regexp(r"^\+?[0-9 .()-]{6,32}$", error="a phone number: digits, spaces, + . - ( )")
FULL_NAME = validate.Length(max=200)


def _phone_or_empty(value: str) -> None:
    if value:
        PHONE(value)


class UserSchema(Schema):
    username = fields.String(required=True)
    full_name = fields.String(allow_none=True, metadata={"description": "The person's name"})
    phone = fields.String(allow_none=True)
    role = fields.String(required=True, metadata={"description": " | ".join(ROLES)})
    enabled = fields.Boolean(required=True)
    areas = fields.List(
        fields.String(),
        attribute="area_codes",
        metadata={"description": "Codes of the area subtrees a supervisor or collector works in"},
    )
    created_at = UtcDateTime()


class UserWithPasswordSchema(UserSchema):
    password = fields.String(
        metadata={
            "description": "The generated password, shown this once (absent when you chose it)"
        }
    )


class UserQuerySchema(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))


class UserCreateSchema(Schema):
    username = fields.String(required=True, validate=[validate.Length(min=1, max=150), _username])
    full_name = fields.String(load_default=None, allow_none=True, validate=FULL_NAME)
    phone = fields.String(load_default=None, allow_none=True, validate=PHONE)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    areas = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        load_default=list,
        metadata={"description": "Area codes; must exist once the area registry is loaded"},
    )
    password = fields.String(
        load_only=True,
        validate=validate.Length(min=8, max=1024),
        metadata={"description": "At least 8 characters; omit it to have one generated"},
    )


class UserUpdateSchema(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))
    full_name = fields.String(validate=FULL_NAME, metadata={"description": "empty to clear"})
    phone = fields.String(validate=_phone_or_empty, metadata={"description": "empty to clear"})
    areas = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        metadata={"description": "Replaces the user's area list"},
    )
    enabled = fields.Boolean(metadata={"description": "false disables log-in and phones"})


class PasswordResetSchema(Schema):
    password = fields.String(
        load_only=True,
        validate=validate.Length(min=8, max=1024),
        metadata={"description": "At least 8 characters; omit it to have one generated"},
    )


class AppTokenSchema(Schema):
    server_url = fields.String(
        required=True,
        metadata={"description": "The server URL for ODK Collect, with the token: .../key/<token>"},
    )
    qr_png = fields.String(
        required=True,
        metadata={"description": "data:image/png;base64 URL of the ODK Collect settings QR code"},
    )


class RevokedSchema(Schema):
    revoked = fields.Integer(required=True, metadata={"description": "Tokens revoked"})
