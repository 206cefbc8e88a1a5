"""Entity lists and entities (ODK Entities) as the API shows them, and what people send to change
them."""

from marshmallow import Schema, fields, validate

from .common import MAX_PAGE, page_of

_UUID = {"description": "A version 4 UUID, e.g. 3f1c0a52-5d1b-4c6e-9f0a-2b7e8d4c1a90"}


class EntityListSchema(Schema):
    name = fields.String(required=True, metadata={"description": 'e.g. "households"'})
    properties = fields.List(fields.String(), required=True)
    approval_required = fields.Boolean(
        required=True,
        metadata={
            "description": "true: a submission changes an entity when it is approved; false: "
            "when it is processed"
        },
    )
    entities = fields.Integer(required=True, metadata={"description": "Those you may see"})
    conflicts = fields.Integer(required=True, metadata={"description": "Of those, in conflict"})
    held = fields.Integer(
        required=True,
        metadata={"description": "Offline updates waiting for the update before them"},
    )


class EntityListUpdateSchema(Schema):
    approval_required = fields.Boolean(required=True)


class EntityVersionSchema(Schema):
    version = fields.Integer(required=True)
    label = fields.String(required=True)
    data = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    received = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "What this change sent"},
    )
    source = fields.String(
        required=True, metadata={"description": "submission, csv, api, resolve, facts"}
    )
    submission_id = fields.Integer(allow_none=True)
    instance_id = fields.String(allow_none=True)
    base_version = fields.Integer(allow_none=True)
    branch_id = fields.String(allow_none=True)
    trunk_version = fields.Integer(allow_none=True)
    conflicting = fields.List(fields.String(), allow_none=True)
    user = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)


class EntitySchema(Schema):
    uuid = fields.String(required=True, metadata=_UUID)
    label = fields.String(required=True)
    version = fields.Integer(required=True)
    data = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    province_code = fields.String(allow_none=True)
    commune_code = fields.String(allow_none=True)
    area_code = fields.String(allow_none=True)
    conflict = fields.String(
        allow_none=True, metadata={"description": "null, soft or hard (see the README)"}
    )
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(allow_none=True)


class EntityDetailSchema(EntitySchema):
    versions = fields.List(fields.Nested(EntityVersionSchema), required=True)


EntityPageSchema = page_of(EntitySchema, "EntityPageSchema")


class EntityQuerySchema(Schema):
    q = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "Words of the label or a value, marks optional"},
    )
    area = fields.String(validate=validate.Length(min=1, max=64))
    conflict = fields.Boolean(load_default=False, metadata={"description": "Only conflicts"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


_VALUES = fields.Dict(
    keys=fields.String(validate=validate.Length(min=1, max=64)),
    values=fields.String(validate=validate.Length(max=2000)),
    load_default=dict,
)


class EntityCreateSchema(Schema):
    uuid = fields.String(validate=validate.Length(max=45), metadata=_UUID)
    label = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    data = _VALUES


class EntityUpdateSchema(Schema):
    label = fields.String(validate=validate.Length(min=1, max=1000))
    data = _VALUES
    base_version = fields.Integer(
        validate=validate.Range(min=1),
        metadata={"description": "The version you edited: 409 if it is no longer current"},
    )
    resolve = fields.Boolean(
        load_default=False, metadata={"description": "Also mark the entity's conflict resolved"}
    )


class EntityImportReportSchema(Schema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    rejected = fields.List(
        fields.Dict(keys=fields.String(), values=fields.Raw()),
        required=True,
        metadata={"description": "[{line, reason}]"},
    )


class EntitySeedSchema(Schema):
    period = fields.String(required=True, validate=validate.Length(min=1, max=16))
    approved_only = fields.Boolean(load_default=False)
