"""Entity lists (ODK Entities): the household registry the phones choose from.

Collectors, supervisors and admins read the entities of their areas (designers see the lists, not
the households in them); supervisors and admins add, change, import, delete and
settle conflicts within theirs; admins decide whether a list changes on approval or on receipt.
"""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource

from khudan.schemas.common import ErrorSchema
from khudan.schemas.entities import (
    EntityCreateSchema,
    EntityDetailSchema,
    EntityImportReportSchema,
    EntityListSchema,
    EntityListUpdateSchema,
    EntityPageSchema,
    EntityQuerySchema,
    EntitySchema,
    EntitySeedSchema,
    EntityUpdateSchema,
)

from .. import errors
from ..downloads import attachment
from ..models import Role, Submission, User
from ..runtime import current
from ..services import audit, entities
from . import api, docs, json_body, load
from .auth import ADMIN, ANYONE, REVIEWERS, current_user, requires

# Who may read households (personal data): those who collect or review them; designers see the
# lists and their properties, not the people in them.
HOLDERS = (Role.COLLECTOR, Role.SUPERVISOR, Role.ADMIN)

ns = Namespace("entity-lists", description="Entity lists: the household registry on the phones")
api.add_namespace(ns, path="/entity-lists")
error = docs.model(ns, ErrorSchema)
error_docs = docs.errors_for(ns, error, {403: "Not allowed for your role"})
list_model = docs.model(ns, EntityListSchema)
entity_model = docs.model(ns, EntitySchema)
detail_model = docs.model(ns, EntityDetailSchema)


def dump_list(session, lst) -> dict:
    count, conflicts = entities.summary(session, current_user(), lst)
    held = entities.held_count(session, lst)
    return EntityListSchema().dump(
        {
            "name": lst.name,
            "properties": lst.properties or [],
            "approval_required": lst.approval_required,
            "entities": count,
            "conflicts": conflicts,
            "held": held,
        }
    )


def dump_report(report: entities.ImportReport) -> dict:
    """What an import or a seed did: counts, and the lines left out with why."""
    return EntityImportReportSchema().dump(
        {
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": [{"line": n, "reason": r} for n, r in report.rejected],
        }
    )


def dump_entity(entity) -> dict:
    return EntitySchema().dump(_entity_dict(entity))


def _entity_dict(entity) -> dict:
    return {
        "uuid": entity.uuid,
        "label": entity.label,
        "version": entity.version,
        "data": {k: str(v) for k, v in (entity.data or {}).items()},
        "province_code": entity.province_code,
        "commune_code": entity.commune_code,
        "area_code": entity.area_code,
        "conflict": entity.conflict,
        "created_at": entity.created_at,
        "updated_at": entity.updated_at,
    }


def dump_detail(session, entity) -> dict:
    versions = []
    for v in entities.history(session, entity):
        versions.append(
            {
                "version": v.version,
                "label": v.label,
                "data": {k: str(x) for k, x in (v.data or {}).items()},
                "received": {k: str(x) for k, x in (v.received or {}).items()},
                "source": v.source,
                "submission_id": v.submission_id,
                "instance_id": session.get(Submission, v.submission_id).instance_id
                if v.submission_id
                else None,
                "base_version": v.base_version,
                "branch_id": v.branch_id,
                "trunk_version": v.trunk_version,
                "conflicting": v.conflicting,
                "user": session.get(User, v.user_id).username if v.user_id else None,
                "created_at": v.created_at,
            }
        )
    return EntityDetailSchema().dump({**_entity_dict(entity), "versions": versions})


@ns.route("")
class Lists(Resource):
    @ns.response(200, "The entity lists", [list_model])
    @error_docs(401)
    @requires(*ANYONE)
    def get(self):
        """Every entity list, with how many of its entities you may see."""
        with current().db.session() as session:
            return [dump_list(session, lst) for lst in entities.lists(session)]


@ns.route("/<string:name>")
@error_docs(401, (404, "No such list"))
class OneList(Resource):
    @ns.response(200, "The list", list_model)
    @requires(*ANYONE)
    def get(self, name: str):
        """One entity list."""
        with current().db.session() as session:
            return dump_list(session, entities.get_list(session, name))

    @ns.expect(docs.input_model(ns, EntityListUpdateSchema))
    @ns.response(200, "Changed", list_model)
    @error_docs(400, 403, 415, (422, "Invalid input, per field"))
    @requires(*ADMIN)
    def patch(self, name: str):
        """Whether submissions change the list's entities on approval or on receipt."""
        data = load(EntityListUpdateSchema(), json_body())
        with current().db.session() as session:
            lst = entities.get_list(session, name)
            if lst.approval_required != data["approval_required"]:
                lst.approval_required = data["approval_required"]
                audit.record(
                    session,
                    current_user().id,
                    "entity_list.update",
                    f"entity_list:{name}",
                    approval_required=data["approval_required"],
                )
                session.commit()
            return dump_list(session, lst)


@ns.route("/<string:name>/entities")
@error_docs(401, (404, "No such list"))
class Entities(Resource):
    @ns.doc(
        params={
            "q": "Words of the label or a value, marks optional",
            "area": "Only this area's subtree (a code)",
            "conflict": {"type": "boolean", "description": "Only entities in conflict"},
            "page": {"type": "integer", "default": 1, "minimum": 1},
            "per_page": {"type": "integer", "default": 100, "minimum": 1, "maximum": 1000},
        }
    )
    @ns.response(200, "A page of entities in label order", docs.model(ns, EntityPageSchema))
    @error_docs((422, "Invalid query, per parameter"))
    @requires(*HOLDERS)
    def get(self, name: str):
        """Search the entities of your areas."""
        args = load(EntityQuerySchema(), request.args.to_dict())
        with current().db.session() as session:
            lst = entities.get_list(session, name)
            total, rows = entities.search(
                session,
                current_user(),
                lst,
                q=args.get("q", ""),
                area=args.get("area"),
                conflict_only=args["conflict"],
                limit=args["per_page"],
                offset=(args["page"] - 1) * args["per_page"],
            )
            items = [_entity_dict(e) for e in rows]
        return EntityPageSchema().dump(
            {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}
        )

    @ns.expect(docs.input_model(ns, EntityCreateSchema))
    @ns.response(201, "Created", entity_model)
    @error_docs(400, 403, 415, (409, "That id exists"), (422, "Invalid input, per field"))
    @requires(*REVIEWERS)
    def post(self, name: str):
        """Add an entity in one of your areas (its province, commune and area_code values)."""
        data = load(EntityCreateSchema(), json_body())
        with current().db.session() as session:
            lst = entities.get_list(session, name)
            entity = entities.create(
                session, lst, data["label"], data["data"], current_user(), data.get("uuid")
            )
            audit.record(
                session, current_user().id, "entity.create", f"entity:{entity.uuid}", list=name
            )
            session.commit()
            return dump_entity(entity), 201


@ns.route("/<string:name>/entities.csv")
@error_docs(401, 403, (404, "No such list"))
class Export(Resource):
    @ns.produces(["text/csv"])
    @ns.response(200, "CSV, UTF-8 with BOM: name, label, __version, the properties, ...")
    @requires(*REVIEWERS)
    def get(self, name: str):
        """Download the entities of your areas as CSV."""
        with current().db.session() as session:
            lst = entities.get_list(session, name)
            body = entities.export_csv(session, current_user(), lst)
        return attachment(body, "text/csv; charset=utf-8", f"{name}.csv")


@ns.route("/<string:name>/import")
@error_docs(401, 403, (404, "No such list"))
class Import(Resource):
    @ns.doc(
        params={
            "file": {
                "in": "formData",
                "type": "file",
                "required": True,
                "description": "CSV, UTF-8: label[,name][,property...]",
            }
        }
    )
    @ns.response(200, "Imported; rejected rows listed", docs.model(ns, EntityImportReportSchema))
    @error_docs((400, "Broken multipart body"), (422, "Unreadable file, or no label column"))
    @requires(*REVIEWERS)
    def post(self, name: str):
        """Import entities (e.g. the commune's household list of last year).

        A row with an empty ``name`` is a new entity; a ``name`` (uuid) updates that entity. Other
        columns are properties (added to the list when new). Rows outside your areas are rejected
        with their line number; the others are imported."""
        try:
            upload = request.files.get("file")
        except ValueError as exc:
            raise errors.MULTIPART_INVALID(reason=str(exc)) from None
        if upload is None:
            raise errors.ENTITY_CSV_INVALID(reason="no file")
        data = upload.read()
        with current().db.session() as session:
            lst = entities.get_list(session, name)
            report = entities.import_file(session, lst, data, current_user())
            session.commit()
        return dump_report(report)


@ns.route("/<string:name>/seed")
@error_docs(401, 403, (404, "No such list"))
class Seed(Resource):
    @ns.expect(docs.input_model(ns, EntitySeedSchema))
    @ns.response(200, "Seeded", docs.model(ns, EntityImportReportSchema))
    @error_docs(400, 415, (422, "Invalid input, per field"))
    @requires(*REVIEWERS)
    def post(self, name: str):
        """Add the households reviewed in a period (within your areas) to the list; those already
        on it (same code in the commune) are brought up to that period, never duplicated."""
        data = load(EntitySeedSchema(), json_body())
        with current().db.session() as session:
            lst = entities.get_list(session, name)
            report = entities.seed_from_facts(
                session, lst, data["period"], current_user(), approved_only=data["approved_only"]
            )
            session.commit()
        return dump_report(report)


@ns.route("/<string:name>/entities/<string:uuid>")
@error_docs(401, (404, "No such list or entity, or not in your areas"))
class OneEntity(Resource):
    @ns.response(200, "The entity with every version, newest first", detail_model)
    @requires(*HOLDERS)
    def get(self, name: str, uuid: str):
        """One entity and its history: who changed what, from which submission."""
        with current().db.session() as session:
            lst = entities.get_list(session, name)
            return dump_detail(session, entities.get_visible(session, current_user(), lst, uuid))

    @ns.expect(docs.input_model(ns, EntityUpdateSchema))
    @ns.response(200, "A new version", detail_model)
    @error_docs(400, 403, 415, (409, "Changed since base_version"), (422, "Invalid input"))
    @requires(*REVIEWERS)
    def patch(self, name: str, uuid: str):
        """Change an entity (a new version); with ``resolve``, also settle its conflict."""
        data = load(EntityUpdateSchema(), json_body())
        with current().db.session() as session:
            lst = entities.get_list(session, name)
            entity = entities.get_visible(session, current_user(), lst, uuid)
            if data.get("label") is None and not data["data"]:
                if not data["resolve"]:
                    raise errors.FIELDS_INVALID(
                        fields="label, data", errors={"data": ["Nothing to change."]}
                    )
                entities.resolve(session, entity, current_user())
            else:
                entities.update(
                    session,
                    entity,
                    data.get("label"),
                    data["data"],
                    current_user(),
                    base_version=data.get("base_version"),
                    resolve=data["resolve"],
                )
            audit.record(
                session, current_user().id, "entity.update", f"entity:{entity.uuid}", list=name
            )
            session.commit()
            return dump_detail(session, entity)

    @ns.response(204, "Deleted: phones drop it at their next update")
    @error_docs(403)
    @requires(*REVIEWERS)
    def delete(self, name: str, uuid: str):
        """Delete an entity (kept in the database, gone from lists and phones)."""
        with current().db.session() as session:
            lst = entities.get_list(session, name)
            entities.remove(session, current_user(), lst, uuid)
            session.commit()
        return "", 204
