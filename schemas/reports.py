"""Report queries and figures. Figures are nested counts keyed by class; documented loosely."""

from marshmallow import Schema, fields, validate

from khudan.formulas import CSV_DIALECTS
from khudan.services import charts

PERIOD = validate.Regexp(r"^\d{4}(-H[12])?$", error="a year (2026) or a half-year (2026-H1)")


class PovertyQuerySchema(Schema):
    period = fields.String(required=True, validate=PERIOD)
    area = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    depth = fields.Integer(load_default=1, validate=validate.Range(min=0, max=4))


DIALECT = fields.String(
    load_default="standard",
    validate=validate.OneOf(CSV_DIALECTS),
    metadata={
        "description": "for CSV: standard (comma, decimal point) or excel-vn (semicolon, "
        "decimal comma, as Excel set to Vietnamese opens it)"
    },
)


class ExportQuerySchema(Schema):
    period = fields.String(required=True, validate=PERIOD)
    area = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    counts = fields.String(load_default="all", validate=validate.OneOf(["all", "approved"]))
    dialect = DIALECT


class ChartQuerySchema(ExportQuerySchema):
    class Meta:
        exclude = ("dialect",)  # a chart is no CSV

    width = fields.Integer(
        load_default=charts.WIDTH,
        validate=validate.Range(min=charts.MIN_WIDTH, max=charts.MAX_WIDTH),
        metadata={"description": "image width in pixels (360 suits a phone; the layout adapts)"},
    )


class AreaExportQuerySchema(Schema):
    period = fields.String(required=True, validate=PERIOD)
    area = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    dialect = DIALECT


class TransitionQuerySchema(Schema):
    period = fields.String(required=True, validate=PERIOD)
    area = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    counts = fields.String(
        load_default="all",
        validate=validate.OneOf(["all", "approved"]),
        metadata={"description": "all non-rejected reviews, or approved ones only"},
    )
    households = fields.Boolean(
        load_default=False,
        metadata={"description": "list the households behind each number (code, head, area)"},
    )


class PovertySummarySchema(Schema):
    period = fields.String(required=True)
    unprocessed = fields.Integer(
        required=True,
        metadata={
            "description": "submissions in this scope and period still being processed (checks "
            "and facts after the 201), not in these figures yet"
        },
    )
    areas = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "per area: code, name, level, households_total (registry), 'all' and "
            "'approved' figures: reviewed, classes, rates (of the registry's households of the "
            "units that have a count), rate_base {households, units_left_out, "
            "reviewed_left_out}, share_of_reviewed (a different figure: of households reviewed), "
            "local_classes, urban, rural, ethnic_minority, deprivation {poor, near_poor: "
            "{households: {indicator: n}, share: {indicator: 0-1}}} for every indicator of the "
            "period's standard in its order; children"
        },
    )


class TransitionsSchema(Schema):
    period = fields.String(required=True)
    unprocessed = fields.Integer(
        required=True,
        metadata={
            "description": "submissions in this scope and period still being processed (checks "
            "and facts after the 201), not in these figures yet"
        },
    )
    previous_period = fields.String(required=True)
    area = fields.String(allow_none=True)
    counts = fields.String(required=True)
    poor = fields.Dict(
        required=True,
        metadata={
            "description": "start; escaped_to_near_poor, escaped_above, not_reviewed (out); "
            "still; fell_back (tái nghèo), new_from_near_poor, new_from_not_poor, "
            "new_first_reviewed (phát sinh, in); end"
        },
    )
    near_poor = fields.Dict(
        required=True,
        metadata={
            "description": "start; became_poor, escaped_above, not_reviewed; still; fell_back, "
            "new_from_poor, new_from_not_poor, new_first_reviewed; end"
        },
    )
    households = fields.Dict(
        metadata={
            "description": "with ?households=true: {poor|near_poor: {category: [households]}}"
        }
    )
    units = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "the same per unit under the area: code, name, level, poor, near_poor"
        },
    )


class AreaReportSchema(Schema):
    period = fields.String(required=True)
    unprocessed = fields.Integer(
        required=True,
        metadata={
            "description": "submissions in this scope and period still being processed (checks "
            "and facts after the 201), not in these figures yet"
        },
    )
    areas = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "per area: code, name, level, households_total, its figures, children"
        },
    )
