"""The work queue after the 201s (``services.jobs``), as admins and monitors read it."""

from marshmallow import Schema, fields

from .common import UtcDateTime


class ParkedJobSchema(Schema):
    """A job that failed on every try and waits for a person (its submission shows the error)."""

    job_id = fields.Integer(required=True)
    submission_id = fields.Integer(required=True)
    instance_id = fields.String(required=True)
    instance_name = fields.String(
        allow_none=True, metadata={"description": "the form's instance name, as Collect lists it"}
    )
    attempts = fields.Integer(required=True)
    error = fields.String(allow_none=True, metadata={"description": "the last try's error"})
    created_at = UtcDateTime(required=True, metadata={"description": "when the job was queued"})


class QueueSchema(Schema):
    pending = fields.Integer(
        required=True,
        metadata={"description": "jobs waiting or running: submissions not processed yet"},
    )
    oldest_seconds = fields.Integer(
        allow_none=True,
        metadata={"description": "how long the oldest pending job has waited; null: none waits"},
    )
    parked = fields.Integer(
        required=True, metadata={"description": "jobs parked after failing on every try"}
    )
    parked_jobs = fields.List(
        fields.Nested(ParkedJobSchema),
        required=True,
        metadata={"description": "the oldest 100 parked jobs"},
    )


class RetriedSchema(Schema):
    retried = fields.Integer(
        required=True, metadata={"description": "parked jobs given another round of tries"}
    )
