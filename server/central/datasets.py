"""Central's entity-list routes (``/v1/projects/1/datasets…``), so pyodk's ``entity_lists`` and
``entities`` work against khudan: list the lists, read, create, update (``baseVersion`` or
``force``) and delete entities, and the OData table ``.svc/Entities``. Everything goes through
``services.entities``, scoped as on ``/api/v1``."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import func, select

from khudan.schemas.central import (
    CentralDatasetDetailSchema,
    CentralDatasetInputSchema,
    CentralDatasetSchema,
    CentralEntityCreateSchema,
    CentralEntityInputSchema,
    CentralEntitySchema,
    CentralPropertyInputSchema,
    CentralSuccessSchema,
)

from .. import errors
from ..api import json_body, load
from ..api.auth import current_user, requires
from ..models import Entity, Role, User
from ..runtime import base_url, current
from ..services import audit, entities
from . import PROJECT_ID, bp
from .openapi import ODATA_PAGE, documented

READERS = (Role.SUPERVISOR, Role.ADMIN, Role.COLLECTOR, Role.DESIGNER)  # the lists
HOLDERS = (Role.SUPERVISOR, Role.ADMIN, Role.COLLECTOR)  # the households in them
WRITERS = (Role.SUPERVISOR, Role.ADMIN)
SHAPERS = (Role.ADMIN, Role.DESIGNER)  # the lists themselves, as forms shape them
DATASET = "/projects/<int:project_id>/datasets/<name>"


def _check(project_id: int) -> None:
    if project_id != PROJECT_ID:
        raise errors.NOT_FOUND(what=f"project {project_id} (this server has one project: 1)")


def _dataset(lst) -> dict:
    return {
        "name": lst.name,
        "project_id": PROJECT_ID,
        "created_at": lst.created_at,
        "approval_required": lst.approval_required,
    }


def _entity(session, entity, with_data: bool) -> dict:
    agent = (
        session.scalar(select(User.username).where(User.id == entity.creator_id))
        if entity.creator_id
        else None
    )
    current_version = {
        "label": entity.label,
        "current": True,
        "created_at": entity.updated_at or entity.created_at,
        "creator_id": entity.creator_id,
        "user_agent": agent or "khudan",
        "version": entity.version,
    }
    if with_data:
        current_version["data"] = {k: str(v) for k, v in (entity.data or {}).items()}
    return CentralEntitySchema().dump(
        {
            "uuid": entity.uuid,
            "creator_id": entity.creator_id,
            "created_at": entity.created_at,
            "updated_at": entity.updated_at,
            "deleted_at": entity.deleted_at,
            "conflict": entity.conflict,
            "current_version": current_version,
        }
    )


@bp.get("/projects/<int:project_id>/datasets")
@documented(CentralDatasetSchema(many=True), summary="The entity lists.")
@requires(*READERS)
def datasets(project_id: int):
    _check(project_id)
    with current().db.session() as session:
        return jsonify(
            CentralDatasetSchema(many=True).dump([_dataset(lst) for lst in entities.lists(session)])
        )


@bp.post("/projects/<int:project_id>/datasets")
@documented(
    CentralDatasetSchema,
    body=CentralDatasetInputSchema,
    errors=(400, 401, 403, 404, 409, 422),
    summary="Create an empty entity list (admins and designers).",
)
@requires(*SHAPERS)
def dataset_create(project_id: int):
    _check(project_id)
    data = load(CentralDatasetInputSchema(), json_body())
    with current().db.session() as session:
        lst = entities.create_list(session, data["name"], data["approval_required"])
        audit.record(
            session,
            current_user().id,
            "entity_list.create",
            f"entity_list:{lst.name}",
            approval_required=lst.approval_required,
        )
        session.commit()
        return jsonify(CentralDatasetSchema().dump(_dataset(lst)))


@bp.post(f"{DATASET}/properties")
@documented(
    CentralSuccessSchema,
    body=CentralPropertyInputSchema,
    errors=(400, 401, 403, 404, 409, 422),
    summary="Add a property to an entity list (admins and designers).",
)
@requires(*SHAPERS)
def property_create(project_id: int, name: str):
    _check(project_id)
    data = load(CentralPropertyInputSchema(), json_body())
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        entities.add_property(session, lst, data["name"])
        audit.record(
            session,
            current_user().id,
            "entity_list.property",
            f"entity_list:{name}",
            property=data["name"],
        )
        session.commit()
    return jsonify({"success": True})


@bp.get(DATASET)
@documented(CentralDatasetDetailSchema, summary="One entity list with its properties.")
@requires(*READERS)
def dataset(project_id: int, name: str):
    _check(project_id)
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        body = {
            **_dataset(lst),
            "properties": [
                {"name": p, "odata_name": p, "published_at": lst.created_at, "forms": []}
                for p in lst.properties or []
            ],
            "linked_forms": [],
            "source_forms": [],
        }
        return jsonify(CentralDatasetDetailSchema().dump(body))


@bp.get(f"{DATASET}/entities")
@documented(CentralEntitySchema(many=True), summary="The entities of your areas, metadata only.")
@requires(*HOLDERS)
def entity_list(project_id: int, name: str):
    _check(project_id)
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        rows = session.scalars(
            entities.visible(session, current_user(), lst).order_by(Entity.created_at, Entity.id)
        ).all()
        return jsonify([_entity(session, e, False) for e in rows])


@bp.get(f"{DATASET}/entities/<uuid>")
@documented(CentralEntitySchema, summary="One entity with its current data.")
@requires(*HOLDERS)
def entity_one(project_id: int, name: str, uuid: str):
    _check(project_id)
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        return jsonify(
            _entity(session, entities.get_visible(session, current_user(), lst, uuid), True)
        )


@bp.post(f"{DATASET}/entities")
@documented(
    {"oneOf": [CentralEntitySchema, CentralSuccessSchema]},
    body=CentralEntityCreateSchema,
    errors=(400, 401, 403, 404, 409, 422),
    summary="Create an entity, or many at once, in your areas (supervisors and admins). One "
    "entity (uuid, label, data) answers the entity; many (entities, source: pyodk's create_many "
    "and merge) are made all or none and answer success.",
)
@requires(*WRITERS)
def entity_create(project_id: int, name: str):
    _check(project_id)
    data = load(CentralEntityCreateSchema(), json_body())
    if "entities" in data:
        return _create_many(name, data)
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        entity = entities.create(
            session, lst, data.get("label", ""), data["data"], current_user(), data.get("uuid")
        )
        audit.record(
            session, current_user().id, "entity.create", f"entity:{entity.uuid}", list=name
        )
        session.commit()
        return jsonify(_entity(session, entity, True))


def _create_many(name: str, data: dict):
    if data.get("uuid") or data.get("label") or data["data"]:
        raise errors.FIELDS_INVALID(
            fields="entities",
            errors={
                "entities": [
                    "Send one entity (uuid, label, data) or a list (entities, source), not both."
                ]
            },
        )
    source = (data.get("source") or {}).get("name", "")[:255]
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        made = entities.create_many(session, lst, data["entities"], current_user())
        audit.record(
            session,
            current_user().id,
            "entity.create_many",
            f"entity_list:{name}",
            created=made,
            source=source,
        )
        session.commit()
    return jsonify({"success": True})


@bp.patch(f"{DATASET}/entities/<uuid>")
@documented(
    CentralEntitySchema,
    body=CentralEntityInputSchema,
    errors=(400, 401, 403, 404, 409, 422),
    query={
        "baseVersion": ("integer", "the version you changed: 409 if it is no longer current"),
        "force": ("boolean", "true: change whatever the current version"),
    },
    summary="Change an entity (a new version); baseVersion or force=true is required.",
)
@requires(*WRITERS)
def entity_update(project_id: int, name: str, uuid: str):
    _check(project_id)
    data = load(CentralEntityInputSchema(), json_body())
    force = request.args.get("force", "").lower() == "true"
    raw = request.args.get("baseVersion")
    if not force and raw is None:
        raise errors.FIELDS_INVALID(
            fields="baseVersion",
            errors={"baseVersion": ["Give baseVersion, or force=true, as ODK Central asks."]},
        )
    try:
        base = None if force else int(raw)
    except ValueError:
        raise errors.FIELDS_INVALID(
            fields="baseVersion", errors={"baseVersion": ["Not a whole number."]}
        ) from None
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        entity = entities.get_visible(session, current_user(), lst, uuid)
        entities.update(
            session, entity, data.get("label"), data["data"], current_user(), base_version=base
        )
        audit.record(
            session, current_user().id, "entity.update", f"entity:{entity.uuid}", list=name
        )
        session.commit()
        return jsonify(_entity(session, entity, True))


@bp.delete(f"{DATASET}/entities/<uuid>")
@documented(CentralSuccessSchema, errors=(401, 403, 404), summary="Delete an entity.")
@requires(*WRITERS)
def entity_delete(project_id: int, name: str, uuid: str):
    _check(project_id)
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        entities.remove(session, current_user(), lst, uuid)
        session.commit()
    return jsonify({"success": True})


@bp.get("/projects/<int:project_id>/datasets/<name>.svc/Entities")
@documented(
    ODATA_PAGE,
    query={
        "$top": ("integer", "rows per page"),
        "$skip": ("integer", "rows to skip"),
        "$count": ("boolean", "true: add @odata.count"),
    },
    errors=(400, 401, 404, 501),
    summary="The entities of your areas as an OData table (pyodk's get_table).",
)
@requires(*HOLDERS)
def entity_table(project_id: int, name: str):
    _check(project_id)
    unsupported = sorted(
        k for k in request.args if k.startswith("$") and k not in ("$top", "$skip", "$count")
    )
    if unsupported:
        raise errors.ODATA_UNSUPPORTED(feature=", ".join(unsupported))
    page_size = current().settings.odata_page_size
    top = _int_arg("$top", page_size)
    skip = _int_arg("$skip", 0)
    with current().db.session() as session:
        lst = entities.get_list(session, name)
        query = entities.visible(session, current_user(), lst)
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(
            query.order_by(Entity.created_at, Entity.id).offset(skip).limit(min(top, page_size))
        ).all()
        names = dict(session.execute(select(User.id, User.username)).all()) if rows else {}
        values = [
            {
                "__id": e.uuid,
                "label": e.label,
                **{p: (e.data or {}).get(p) for p in lst.properties or []},
                "__system": {
                    "createdAt": e.created_at.isoformat(),
                    "creatorId": str(e.creator_id or ""),
                    "creatorName": names.get(e.creator_id, ""),
                    "updates": e.version - 1,
                    "updatedAt": e.updated_at.isoformat() if e.updated_at else None,
                    "version": e.version,
                    "conflict": e.conflict,
                },
            }
            for e in rows
        ]
    body = {
        "@odata.context": f"{base_url()}/v1/projects/{PROJECT_ID}/datasets/{name}.svc/$metadata#Entities"
    }
    if request.args.get("$count", "").lower() == "true":
        body["@odata.count"] = total
    body["value"] = values
    if skip + len(values) < total and len(values) == min(top, page_size) and top > page_size:
        body["@odata.nextLink"] = (
            f"{base_url()}{request.path}?$top={top - page_size}&$skip={skip + page_size}"
        )
    response = jsonify(body)
    response.headers["OData-Version"] = "4.0"
    return response


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise errors.ODATA_QUERY_INVALID(option=name, value=raw, reason="a whole number >= 0")
    return value
