"""The area tree: browse and search it (within your scope), import residential areas, set the number
of households an official rate is counted against.

A supervisor or collector sees their subtrees and the ancestors leading to them, nothing else; an
area outside that is answered 404, exactly as an area that does not exist.
"""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource

from khudan.schemas.areas import (
    AreaImportSchema,
    AreaPageSchema,
    AreaQuerySchema,
    AreaSchema,
    AreaUpdateSchema,
    ImportReportSchema,
)
from khudan.schemas.common import MAX_PAGE, ErrorSchema

from .. import errors
from ..runtime import current
from ..services import areas, audit
from . import api, docs, json_body, load
from .auth import ADMIN, ANYONE, current_user, requires

ns = Namespace("areas", description="The area tree: provinces, communes, residential areas")
api.add_namespace(ns, path="/areas")
error = docs.model(ns, ErrorSchema)
error_docs = docs.errors_for(ns, error, {403: "Not an admin"})
area_model = docs.model(ns, AreaSchema)

_UPLOAD_TYPES = "multipart/form-data (field 'file', a CSV file) or application/json"


def _dump(area, children: int) -> dict:
    return AreaSchema().dump(
        {
            "code": area.code,
            "name": area.name,
            "full_name": area.full_name,
            "level": area.level,
            "kind": area.kind,
            "parent_code": area.parent_code,
            "households_total": area.households_total,
            "children": children,
        }
    )


def _csv_rows() -> list[dict]:
    """The rows of the uploaded CSV file (UTF-8, with or without a byte-order mark)."""
    try:
        upload = request.files.get("file")
    except ValueError as exc:  # werkzeug's multipart parser on a broken body
        raise errors.MULTIPART_INVALID(reason=str(exc)) from None
    if upload is None:
        raise errors.FIELDS_INVALID(
            fields="file", errors={"file": ["Missing data for required field."]}
        )
    return areas.read_csv(upload.read())


@ns.route("")
class Areas(Resource):
    @ns.doc(
        params={
            "parent": "List this area's children (without parent, level or q: the provinces)",
            "level": {"description": "Only this level", "enum": list(areas.LEVELS)},
            "q": "Part of the name, any case (searches the whole tree unless parent is given)",
            "page": {"type": "integer", "default": 1, "minimum": 1, "maximum": MAX_PAGE},
            "per_page": {"type": "integer", "default": 100, "minimum": 1, "maximum": 1000},
        }
    )
    @ns.response(200, "A page of areas in code order", docs.model(ns, AreaPageSchema))
    @error_docs(401, (422, "Invalid query, per parameter"))
    @requires(*ANYONE)
    def get(self):
        """Browse or search the areas you may see."""
        args = load(AreaQuerySchema(), request.args.to_dict())
        with current().db.session() as session:
            page = areas.search(session, current_user(), **args)
            items = [_dump(a, page.children.get(a.code, 0)) for a in page.items]
        return AreaPageSchema().dump(
            {
                "items": items,
                "page": args["page"],
                "per_page": args["per_page"],
                "total": page.total,
            }
        )


@ns.route("/<string:code>")
@error_docs(401, (404, "No such area, or not in your scope"))
class OneArea(Resource):
    @ns.response(200, "The area", area_model)
    @requires(*ANYONE)
    def get(self, code: str):
        """One area, with how many children you may see and its number of households."""
        with current().db.session() as session:
            area, children = areas.get_area(session, current_user(), code)
            return _dump(area, children)

    @ns.expect(docs.input_model(ns, AreaUpdateSchema))
    @ns.response(200, "Changed", area_model)
    @error_docs(400, 403, 415, (422, "Invalid input, per field"))
    @requires(*ADMIN)
    def patch(self, code: str):
        """Set the number of households in an area, the denominator of its official rates."""
        data = load(AreaUpdateSchema(), json_body())
        with current().db.session() as session:
            area, old = areas.set_households_total(session, code, data["households_total"])
            if old != area.households_total:
                audit.record(
                    session,
                    current_user().id,
                    "area.update",
                    f"area:{code}",
                    households_total=[old, area.households_total],
                )
            session.commit()
            area, children = areas.get_area(session, current_user(), code)
            return _dump(area, children)


@ns.route("/import")
class Import(Resource):
    @ns.doc(
        params={
            "file": {
                "in": "formData",
                "type": "file",
                "required": True,
                "description": "CSV, UTF-8: commune_code,code,name[,kind,households_total]",
            }
        }
    )
    @ns.response(
        200,
        "Imported; rejected rows are listed with the reason",
        docs.model(ns, ImportReportSchema),
    )
    @error_docs(
        (400, "Broken multipart body or broken JSON"),
        401,
        403,
        413,
        (415, "Neither multipart nor JSON"),
        (422, "Unreadable file or invalid JSON, per field"),
    )
    @requires(*ADMIN)
    def post(self):
        """Import residential areas (thôn, tổ dân phố) into their communes.

        Send a CSV file as multipart field ``file`` (header commune_code,code,name and optionally
        kind,households_total), or JSON ``{"rows": [{"commune_code": ..., "code": ..., ...}]}``.
        A row's code becomes ``<commune_code>.<code>``; an existing one is updated. Rows that are
        wrong are rejected and listed with their line (for JSON: position in rows, from 1); the
        others are imported.
        """
        if request.mimetype == "multipart/form-data":
            rows, first_line = _csv_rows(), 2
        elif request.mimetype == "application/json" or request.is_json:
            rows, first_line = load(AreaImportSchema(), json_body())["rows"], 1
        else:
            raise errors.UNSUPPORTED_MEDIA(got=request.mimetype or "none", expected=_UPLOAD_TYPES)
        with current().db.session() as session:
            report = areas.import_areas(session, rows, first_line=first_line)
            audit.record(
                session,
                current_user().id,
                "area.import",
                None,
                added=report.added,
                updated=report.updated,
                unchanged=report.unchanged,
                rejected=len(report.rejected),
            )
            session.commit()
        return ImportReportSchema().dump(
            {
                "added": report.added,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": [{"line": n, "reason": r} for n, r in report.rejected],
            }
        )
