"""Report queries and figures. Figures are nested counts keyed by class; documented loosely."""

from marshmallow import Schema, fields, validate

from server.services import charts

PERIOD = validate.Regexp(r"^\d{4}(-H[12])?$", error="a year (2026) or a half-year (2026-H1)")


class PovertyQuerySchema(Schema):
    period = fields.String(required=True, validate=PERIOD)
    area = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    depth = fields.Integer(load_default=1, validate=validate.Range(min=0, max=4))


class ExportQuerySchema(Schema):
    period = fields.String(required=True, validate=PERIOD)
    area = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    counts = fields.String(load_default="all", validate=validate.OneOf(["all", "approved"]))


class ChartQuerySchema(ExportQuerySchema):
    width = fields.Integer(
        load_default=charts.WIDTH,
        validate=validate.Range(min=charts.MIN_WIDTH, max=charts.MAX_WIDTH),
        metadata={"description": "image width in pixels (360 suits a phone; the layout adapts)"},
    )


class AreaExportQuerySchema(Schema):
    period = fields.String(required=True, validate=PERIOD)
    area = fields.String(load_default=None, validate=validate.Length(min=1, max=64))


class TransitionQuerySchema(Schema):
    period = fields.String(required=True, validate=PERIOD)
    area = fields.String(load_default=None, validate=validate.Length(min=1, max=64))


class PovertySummarySchema(Schema):
    period = fields.String(required=True)
    areas = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "per area: code, name, level, households_total, rate_of (registry or "
            "reviewed), 'all' and 'approved' figures (reviewed, classes, rates, local_classes, urban, "
            "rural, ethnic_minority, deprivation), children"
        },
    )


class TransitionsSchema(Schema):
    period = fields.String(required=True)
    previous_period = fields.String(required=True)
    area = fields.String(allow_none=True)
    poor = fields.Dict(
        required=True,
        metadata={
            "description": "start, escaped, still, fell_back (tái nghèo), newly (phát sinh), end"
        },
    )
    near_poor = fields.Dict(required=True)


class AreaReportSchema(Schema):
    period = fields.String(required=True)
    areas = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "per area: code, name, level, households_total, its figures, children"
        },
    )
