"""Shapes every API response may use: the error body and pagination."""

import datetime as dt

from marshmallow import Schema, fields


class ErrorSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Stable code, e.g. 409.1"})
    message = fields.String(required=True, metadata={"description": "Vietnamese / English"})
    details = fields.Raw(allow_none=True, metadata={"description": "Per-field messages, etc."})


# A page number beyond this is a mistake, and would overflow the database's OFFSET long before
# the number itself overflows.
MAX_PAGE = 1_000_000


class PageSchema(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """A page of items: {items, page, per_page, total}."""
    return type(name, (PageSchema,), {"items": fields.List(fields.Nested(item), required=True)})


class UtcDateTime(fields.DateTime):
    """An instant in ISO 8601 with its offset, always UTC (``2026-11-29T03:44:15.994000+00:00``),
    as the OpenAPI ``date-time`` format (RFC 3339) requires.

    khudan stores UTC, but SQLite hands timestamps back without their zone: a value without one is
    UTC. A time sent without a zone is read as UTC, and one with another offset is converted, so
    that filters compare alike on SQLite and PostgreSQL.
    """

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else super()._serialize(_utc(value), attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> dt.datetime:
        return _utc(super()._deserialize(value, attr, data, **kwargs))


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
