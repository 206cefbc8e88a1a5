"""Submissions as reviewers see them, and the review actions."""

from marshmallow import Schema, fields, validate

from .common import MAX_PAGE, UtcDateTime, page_of

REVIEW_STATES = ["received", "hasIssues", "approved", "rejected"]
GROUP_SHOWN = 20  # members of a duplicate-household group listed on a submission


class SubmissionSummarySchema(Schema):
    id = fields.Integer(required=True)
    form_id = fields.String(required=True)
    form_version = fields.String(required=True)
    instance_id = fields.String(required=True, metadata={"description": "first instanceID"})
    current_instance_id = fields.String(required=True)
    instance_name = fields.String(allow_none=True)
    review_state = fields.String(required=True)
    submitter = fields.String(allow_none=True)
    device_id = fields.String(allow_none=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(allow_none=True)
    period = fields.String(allow_none=True)
    household_code = fields.String(allow_none=True)
    province_code = fields.String(allow_none=True)
    commune_code = fields.String(allow_none=True)
    area_code = fields.String(allow_none=True)
    problem_count = fields.Integer(required=True)
    processing = fields.Boolean(
        required=True,
        metadata={
            "description": "true until the work after the 201 (photo checks, validation, facts) "
            "is done: until then problem_count and review_state may still change"
        },
    )
    processing_error = fields.String(
        allow_none=True,
        metadata={"description": "why that work keeps failing (the job is parked), else null"},
    )


SubmissionPageSchema = page_of(SubmissionSummarySchema, "SubmissionPageSchema")


class PhotoSchema(Schema):
    verdict = fields.String(
        required=True, metadata={"description": "ok, or why the photo checks could not pass it"}
    )
    detail = fields.String(allow_none=True)
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    taken_at = fields.NaiveDateTime(
        allow_none=True, metadata={"description": "EXIF time as the phone's clock wrote it"}
    )
    taken_offset = fields.String(
        allow_none=True, metadata={"description": "the phone's UTC offset then, e.g. +07:00"}
    )
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    thumbnails = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "long side in px -> URL (readable images only)"},
    )


class AttachmentSchema(Schema):
    name = fields.String(required=True)
    exists = fields.Boolean(required=True)
    url = fields.String(required=True)
    content_type = fields.String(allow_none=True)
    size = fields.Integer(allow_none=True)
    md5 = fields.String(allow_none=True)
    photo = fields.Nested(PhotoSchema, allow_none=True)


class ProblemSchema(Schema):
    path = fields.String(required=True)
    rule = fields.String(required=True)
    value = fields.String(allow_none=True)
    message_vi = fields.String(required=True)
    message_en = fields.String(required=True)
    related_submission_id = fields.Integer(
        allow_none=True,
        metadata={
            "description": "The other submission this problem is about (a duplicate household, a "
            "reused photo); null, and the message says only 'outside your areas', when the "
            "reader may not open it"
        },
    )


class VersionSchema(Schema):
    instance_id = fields.String(required=True)
    deprecated_id = fields.String(allow_none=True)
    instance_name = fields.String(allow_none=True)
    created_at = UtcDateTime(required=True)
    current = fields.Boolean(required=True)
    device_id = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)


class CommentSchema(Schema):
    id = fields.Integer(dump_only=True)
    body = fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    author = fields.String(dump_only=True, allow_none=True)
    created_at = UtcDateTime(dump_only=True)


class GroupMemberSchema(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.String(required=True)
    review_state = fields.String(required=True)
    created_at = UtcDateTime(required=True)


class HouseholdGroupSchema(Schema):
    total = fields.Integer(
        required=True,
        metadata={
            "description": "other non-rejected submissions of this household and period "
            "that the reader may open"
        },
    )
    submissions = fields.List(
        fields.Nested(GroupMemberSchema),
        required=True,
        metadata={"description": f"the first {GROUP_SHOWN} of them, oldest first"},
    )


class EditChangeSchema(Schema):
    path = fields.String(
        required=True, metadata={"description": "e.g. /data/member[2]/m_name (members from 1)"}
    )
    label = fields.String(allow_none=True)
    before = fields.String(allow_none=True, metadata={"description": "null: not answered before"})
    after = fields.String(allow_none=True, metadata={"description": "null: no longer answered"})


class SubmissionDetailSchema(SubmissionSummarySchema):
    answers = fields.Dict(
        required=True,
        metadata={"description": "groups as objects, repeats as arrays, answers as strings"},
    )
    labels = fields.Dict(
        required=True, metadata={"description": "field path -> {language code: label}"}
    )
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True)
    problems = fields.List(fields.Nested(ProblemSchema), required=True)
    versions = fields.List(fields.Nested(VersionSchema), required=True)
    comments = fields.List(fields.Nested(CommentSchema), required=True)
    same_household = fields.Nested(
        HouseholdGroupSchema,
        allow_none=True,
        metadata={
            "description": "the other submissions naming the same household in the same period "
            "(a duplicate-household group); null when the form names no household"
        },
    )
    edit_changes = fields.List(
        fields.Nested(EditChangeSchema),
        allow_none=True,
        metadata={
            "description": "for an edit, the answers that differ from the version it replaced "
            "(in the form's order); null when the current version is no edit"
        },
    )


class ReviewSchema(Schema):
    review_state = fields.String(required=True, validate=validate.OneOf(REVIEW_STATES))
    comment = fields.String(load_default=None, validate=validate.Length(max=10_000))


class BulkReviewSchema(ReviewSchema):
    ids = fields.List(fields.Integer(), required=True, validate=validate.Length(min=1, max=1000))


class BulkResultSchema(Schema):
    updated = fields.Integer(required=True)


class ListQuerySchema(Schema):
    form = fields.String(load_default=None)
    version = fields.String(load_default=None)
    period = fields.String(load_default=None)
    area = fields.String(load_default=None)
    review_state = fields.String(
        load_default=None, validate=validate.OneOf([*REVIEW_STATES, "edited"])
    )
    submitter = fields.String(load_default=None)
    since = UtcDateTime(load_default=None)
    until = UtcDateTime(load_default=None)
    has_problems = fields.Boolean(load_default=None)
    processing = fields.Boolean(
        load_default=None,
        metadata={
            "description": "true: its checks and facts are still being worked out after the 201 "
            "(its problems and review state are not known yet); false: done"
        },
    )
    q = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "text in the instance name (household code and head's name), the "
            "household code or the instanceID; marks and case ignored"
        },
    )
    sort = fields.String(
        load_default="-created_at",
        validate=validate.OneOf(
            [
                f"{d}{c}"
                for c in ("created_at", "updated_at", "review_state", "id")
                for d in ("", "-")
            ]
        ),
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
