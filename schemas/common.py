"""Shapes every API response may use: the error body and pagination."""

from marshmallow import Schema, fields


class ErrorSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Stable code, e.g. 409.1"})
    message = fields.String(required=True, metadata={"description": "Vietnamese / English"})
    details = fields.Raw(allow_none=True, metadata={"description": "Per-field messages, etc."})


class PageSchema(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """A page of items: {items, page, per_page, total}."""
    return type(name, (PageSchema,), {"items": fields.List(fields.Nested(item), required=True)})
