"""The JSON shapes of ODK Central's REST API that khudan offers under /v1 (``khudan.central``).

Names and nullable-but-present keys follow Central's ``docs/api.yaml`` and what pyodk's models
require (a key typed ``X | None`` without a default must be present, even as null). Timestamps are
ISO 8601 in UTC with milliseconds and ``Z``, as Central writes them.
"""

import datetime as dt

from marshmallow import Schema, fields

EXTENDED = "only with X-Extended-Metadata: true"


def central_time(value: dt.datetime | None) -> str | None:
    """``2026-12-03T08:51:02.123Z``; SQLite hands back times without their zone: those are UTC."""
    if value is None:
        return None
    value = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class CentralTime(fields.DateTime):
    def _serialize(self, value, attr, obj, **kwargs):
        return central_time(value)


class CentralLoginSchema(Schema):
    email = fields.String(
        required=True, metadata={"description": "The khudan username (Central calls it email)"}
    )
    password = fields.String(required=True, load_only=True)


class CentralSessionSchema(Schema):
    token = fields.String(required=True)
    csrf = fields.String(required=True)
    expires_at = CentralTime(data_key="expiresAt", required=True)
    created_at = CentralTime(data_key="createdAt", required=True)


class CentralUserSchema(Schema):
    id = fields.Integer(required=True)
    type = fields.String(required=True)
    display_name = fields.String(data_key="displayName", required=True)
    email = fields.String(required=True)
    role = fields.String(metadata={"description": "khudan's role (not in Central)"})
    created_at = CentralTime(data_key="createdAt", required=True)
    updated_at = CentralTime(data_key="updatedAt", allow_none=True)
    deleted_at = CentralTime(data_key="deletedAt", allow_none=True)


class CentralProjectSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(allow_none=True)
    archived = fields.Boolean(allow_none=True)
    key_id = fields.Integer(data_key="keyId", allow_none=True)
    created_at = CentralTime(data_key="createdAt", required=True)
    updated_at = CentralTime(data_key="updatedAt", allow_none=True)
    deleted_at = CentralTime(data_key="deletedAt", allow_none=True)
    # With X-Extended-Metadata: true, as Central:
    forms = fields.Integer(metadata={"description": EXTENDED})
    app_users = fields.Integer(data_key="appUsers", metadata={"description": EXTENDED})
    datasets = fields.Integer(metadata={"description": EXTENDED})
    last_submission = CentralTime(
        data_key="lastSubmission", allow_none=True, metadata={"description": EXTENDED}
    )


class CentralActorSchema(Schema):
    id = fields.Integer(required=True)
    type = fields.String(required=True)
    display_name = fields.String(data_key="displayName", required=True)


class CentralFormSchema(Schema):
    project_id = fields.Integer(data_key="projectId", required=True)
    xml_form_id = fields.String(data_key="xmlFormId", required=True)
    name = fields.String(allow_none=True)
    version = fields.String(required=True)
    hash = fields.String(required=True, metadata={"description": "MD5 of the XForm"})
    sha256 = fields.String(allow_none=True)
    state = fields.String(required=True, metadata={"description": "open, closing or closed"})
    enketo_id = fields.String(data_key="enketoId", allow_none=True)
    enketo_once_id = fields.String(data_key="enketoOnceId", allow_none=True)
    key_id = fields.Integer(data_key="keyId", allow_none=True)
    draft_token = fields.String(data_key="draftToken", allow_none=True)
    created_at = CentralTime(data_key="createdAt", required=True)
    updated_at = CentralTime(data_key="updatedAt", allow_none=True)
    published_at = CentralTime(data_key="publishedAt", allow_none=True)
    # With X-Extended-Metadata: true, as Central (counted over the rows the caller sees):
    submissions = fields.Integer(metadata={"description": EXTENDED})
    last_submission = CentralTime(
        data_key="lastSubmission", allow_none=True, metadata={"description": EXTENDED}
    )
    review_states = fields.Dict(
        data_key="reviewStates",
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": EXTENDED},
    )
    entity_related = fields.Boolean(data_key="entityRelated", metadata={"description": EXTENDED})
    excel_content_type = fields.String(
        data_key="excelContentType", allow_none=True, metadata={"description": EXTENDED}
    )
    public_links = fields.Integer(data_key="publicLinks", metadata={"description": EXTENDED})
    created_by = fields.Nested(
        CentralActorSchema,
        data_key="createdBy",
        allow_none=True,
        metadata={"description": EXTENDED + " (null: published by the server itself)"},
    )


class CentralSubmissionVersionSchema(Schema):
    instance_id = fields.String(data_key="instanceId", required=True)
    instance_name = fields.String(data_key="instanceName", allow_none=True)
    submitter_id = fields.Integer(data_key="submitterId", allow_none=True)
    device_id = fields.String(data_key="deviceId", allow_none=True)
    user_agent = fields.String(data_key="userAgent", allow_none=True)
    created_at = CentralTime(data_key="createdAt", required=True)
    current = fields.Boolean(required=True)


class CentralSubmissionSchema(Schema):
    instance_id = fields.String(data_key="instanceId", required=True)
    submitter_id = fields.Integer(data_key="submitterId", required=True)
    device_id = fields.String(data_key="deviceId", allow_none=True)
    user_agent = fields.String(data_key="userAgent", allow_none=True)
    review_state = fields.String(
        data_key="reviewState",
        allow_none=True,
        metadata={"description": "null (received), hasIssues, edited, approved, rejected"},
    )
    instance_name = fields.String(data_key="instanceName", allow_none=True)
    created_at = CentralTime(data_key="createdAt", required=True)
    updated_at = CentralTime(data_key="updatedAt", allow_none=True)
    deleted_at = CentralTime(data_key="deletedAt", allow_none=True)
    current_version = fields.Nested(CentralSubmissionVersionSchema, data_key="currentVersion")
    submitter = fields.Nested(
        CentralActorSchema, allow_none=True, metadata={"description": EXTENDED}
    )


class CentralReviewSchema(Schema):
    review_state = fields.String(data_key="reviewState", required=True, allow_none=True)
    comment = fields.String(
        load_default=None,
        metadata={"description": "khudan: the comment a rejection or hasIssues needs"},
    )


class CentralCommentSchema(Schema):
    body = fields.String(required=True)
    actor_id = fields.Integer(data_key="actorId", dump_only=True, allow_none=True)
    created_at = CentralTime(data_key="createdAt", dump_only=True)


class CentralAttachmentSchema(Schema):
    name = fields.String(required=True)
    exists = fields.Boolean(required=True)


class CentralDatasetSchema(Schema):
    name = fields.String(required=True)
    project_id = fields.Integer(data_key="projectId", required=True)
    created_at = CentralTime(data_key="createdAt", required=True)
    approval_required = fields.Boolean(data_key="approvalRequired", required=True)


class CentralDatasetPropertySchema(Schema):
    name = fields.String(required=True)
    odata_name = fields.String(data_key="odataName", required=True)
    published_at = CentralTime(data_key="publishedAt", allow_none=True)
    forms = fields.List(fields.Dict(), required=True)


class CentralDatasetDetailSchema(CentralDatasetSchema):
    properties = fields.List(fields.Nested(CentralDatasetPropertySchema), required=True)
    linked_forms = fields.List(fields.Dict(), data_key="linkedForms", required=True)
    source_forms = fields.List(fields.Dict(), data_key="sourceForms", required=True)


class CentralEntityVersionSchema(Schema):
    label = fields.String(required=True)
    current = fields.Boolean(required=True)
    created_at = CentralTime(data_key="createdAt", required=True)
    creator_id = fields.Integer(data_key="creatorId", allow_none=True)
    user_agent = fields.String(data_key="userAgent", required=True)
    version = fields.Integer(required=True)
    data = fields.Dict(keys=fields.String(), values=fields.String())
    base_version = fields.Integer(data_key="baseVersion", allow_none=True)
    conflicting_properties = fields.List(
        fields.String(), data_key="conflictingProperties", allow_none=True
    )


class CentralEntitySchema(Schema):
    uuid = fields.String(required=True)
    creator_id = fields.Integer(data_key="creatorId", allow_none=True)
    created_at = CentralTime(data_key="createdAt", required=True)
    updated_at = CentralTime(data_key="updatedAt", allow_none=True)
    deleted_at = CentralTime(data_key="deletedAt", allow_none=True)
    conflict = fields.String(allow_none=True, metadata={"description": "null, soft or hard"})
    current_version = fields.Nested(CentralEntityVersionSchema, data_key="currentVersion")


class CentralEntityInputSchema(Schema):
    uuid = fields.String(metadata={"description": "A version 4 UUID (made when absent)"})
    label = fields.String()
    data = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


class CentralEntitySourceSchema(Schema):
    name = fields.String(
        required=True, metadata={"description": "where the entities come from, e.g. a file name"}
    )
    size = fields.Raw(metadata={"description": "the source's size, as the client gives it"})


class CentralEntityCreateSchema(CentralEntityInputSchema):
    """One entity (``uuid``, ``label``, ``data``) or many (``entities`` and ``source``)."""

    entities = fields.List(
        fields.Nested(CentralEntityInputSchema),
        metadata={"description": "many entities at once, all or none (pyodk's create_many)"},
    )
    source = fields.Nested(CentralEntitySourceSchema)


class CentralDatasetInputSchema(Schema):
    name = fields.String(required=True, metadata={"description": "letters, digits, _ and -"})
    approval_required = fields.Boolean(
        data_key="approvalRequired",
        load_default=False,
        metadata={"description": "submissions change the list once approved (false: on receipt)"},
    )


class CentralPropertyInputSchema(Schema):
    name = fields.String(required=True)


class CentralSuccessSchema(Schema):
    success = fields.Boolean(required=True)
