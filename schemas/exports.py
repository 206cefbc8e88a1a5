"""Query options of the submission exports (``/forms/<form_id>/submissions.xlsx|.csv``)."""

from marshmallow import Schema, fields, validate

from khudan.services.submission_export import LABELS

from .reports import PERIOD
from .submissions import REVIEW_STATES


class SubmissionExportQuerySchema(Schema):
    labels = fields.String(
        load_default="values",
        validate=validate.OneOf(LABELS),
        metadata={
            "description": "values: choice values and column names (household-period), as ODK "
            "Central exports; vi or en: choice labels, and question labels as headers"
        },
    )
    period = fields.String(load_default=None, validate=PERIOD)
    area = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Only submissions inside this area (province, commune, thôn)"},
    )
    state = fields.String(
        load_default=None,
        validate=validate.OneOf([*REVIEW_STATES, "edited"]),
        metadata={"description": "Only submissions in this review state"},
    )
    attachments = fields.Boolean(
        load_default=False,
        metadata={
            "description": "true: a ZIP with the file(s) and the photos, "
            "media/<instanceID>/<file> (the instanceID's ':' written '_')"
        },
    )
    repeat = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=255),
        metadata={
            "description": "CSV only: the table of this repeat group instead of the main one"
        },
    )
