"""Areas of the registry (province > commune > residential area) as the API lists them, and what an
admin sends to import residential areas or set a household count."""

from marshmallow import Schema, ValidationError, fields, validate

from khudan.services.areas import LEVELS, MAX_HOUSEHOLDS

from .common import MAX_PAGE, PageSchema


class AreaSchema(Schema):
    code = fields.String(required=True, metadata={"description": 'e.g. "52", "21607.T01"'})
    name = fields.String(required=True)
    full_name = fields.String(required=True, metadata={"description": 'e.g. "Xã Nhơn Châu"'})
    level = fields.String(required=True, metadata={"description": " | ".join(LEVELS)})
    kind = fields.String(
        allow_none=True, metadata={"description": "xa, phuong, dac_khu; thon, to_dan_pho..."}
    )
    parent_code = fields.String(allow_none=True)
    households_total = fields.Integer(
        allow_none=True, metadata={"description": "Households in the area: official rates' base"}
    )
    children = fields.Integer(
        required=True, metadata={"description": "How many children you may see"}
    )


class AreaPageSchema(PageSchema):
    items = fields.List(fields.Nested(AreaSchema), required=True)


class AreaQuerySchema(Schema):
    parent = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "List this area's children"},
    )
    level = fields.String(validate=validate.OneOf(LEVELS))
    q = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Part of the name, any case"},
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AreaUpdateSchema(Schema):
    households_total = fields.Integer(
        required=True,
        allow_none=True,
        validate=validate.Range(min=0, max=MAX_HOUSEHOLDS),
        metadata={"description": "Households in the area; null clears it"},
    )


class _Cell(fields.String):
    """A CSV cell sent as JSON: text, or a whole number (for households_total)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise ValidationError("Not a string or a whole number.")
        return value


class AreaRowSchema(Schema):
    """One row as in the CSV file; a row whose values are wrong is rejected in the report."""

    commune_code = _Cell(allow_none=True)
    code = _Cell(allow_none=True, metadata={"description": "Local code, e.g. T01"})
    name = _Cell(allow_none=True)
    kind = _Cell(allow_none=True, metadata={"description": "thon, to_dan_pho..."})
    households_total = _Cell(allow_none=True)


class AreaImportSchema(Schema):
    rows = fields.List(fields.Nested(AreaRowSchema), required=True)


class RejectedRowSchema(Schema):
    line = fields.Integer(
        required=True,
        metadata={"description": "CSV line (the header is line 1), or position in rows from 1"},
    )
    reason = fields.String(required=True)


class ImportReportSchema(Schema):
    added = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    rejected = fields.List(fields.Nested(RejectedRowSchema), required=True)
