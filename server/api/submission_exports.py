"""GET /forms/<form_id>/submissions.xlsx|.csv: every submission of a form you may see, as files.

XLSX: the main sheet and a sheet per repeat group. CSV: the main table, or ``?repeat=<name>`` for
a repeat's table. ``?attachments=true``: a ZIP of the XLSX (or of every CSV table) with the photos
under ``media/<instanceID>/``. The CSV and the ZIP are streamed while they are made; the XLSX is
written to a temporary file first (a workbook cannot be sent before it is whole) and then sent from
disk, the file disappearing once sent.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, request, send_file
from flask_restx import Resource

from khudan.schemas.exports import SubmissionExportQuerySchema

from ..runtime import current
from ..services import submission_export as export_service
from ..services import submissions as submission_service
from ..xlsxstream import XLSX_TYPE
from . import load
from .auth import current_user, requires
from .forms import error_docs, ns
from .submissions import READERS

query = ns.parser()
for _name, _field in SubmissionExportQuerySchema().fields.items():
    query.add_argument(
        _name, location="args", required=False, help=_field.metadata.get("description")
    )


@ns.route("/<form_id>/submissions.xlsx", "/<form_id>/submissions.csv")
@ns.doc(params={"form_id": "The form's id (settings sheet 'form_id')"})
class SubmissionsFile(Resource):
    @ns.expect(query)
    @ns.produces([XLSX_TYPE, "text/csv", "application/zip"])
    @ns.response(200, "The file (a ZIP with ?attachments=true)")
    @error_docs(
        401,
        (403, "Not a supervisor, collector or admin"),
        404,
        (
            422,
            "Invalid option, or no repeat group of that name (422.6); a sheet longer than Excel's "
            "1,048,576 rows (422.8: choose a smaller area or period, or CSV)",
        ),
    )
    @requires(*READERS)
    def get(self, form_id: str):
        """Submissions of a form with every answer: a row per submission, a sheet (or CSV) per
        repeat group linked by PARENT_KEY/KEY; supervisors get their areas, collectors their own."""
        q = load(SubmissionExportQuerySchema(), request.args.to_dict())
        kind = "csv" if request.path.endswith(".csv") else "xlsx"
        export_service.check_repeat(q["repeat"], kind, q["attachments"])
        runtime, user = current(), current_user()
        options = export_service.Options(q["labels"], q["period"], q["area"], q["state"])
        with runtime.db.session() as session:
            visible = submission_service.visible(session, user)
            export = export_service.prepare(session, visible, form_id, options)
            table = export.table_index(q["repeat"])
        db, storage = runtime.db, runtime.storage
        table_rows = export_service.rows(db, export, typed=kind == "xlsx")
        if kind == "xlsx":
            workbook = export_service.workbook_file(export, table_rows)  # 422.8 when too long
        if q["attachments"]:
            files = (
                export_service.csv_members(export, table_rows)
                if kind == "csv"
                else [export_service.workbook_member(workbook, export)]
            )
            chunks = export_service.zip_chunks(db, storage, export, files)
            response = _download(chunks, "application/zip", export.file_name("zip"))
        elif kind == "csv":
            chunks = export_service.csv_chunks(export, table_rows, table)
            response = _download(chunks, "text/csv; charset=utf-8", export.file_name("csv", table))
        else:
            response = send_file(
                workbook,
                mimetype=XLSX_TYPE,
                as_attachment=True,
                download_name=export.file_name("xlsx"),
                max_age=0,
            )
        with runtime.db.session() as session:
            export_service.record(session, user.id, export, kind, q["attachments"], q["repeat"])
            session.commit()
        return response


def _download(chunks, mimetype: str, name: str) -> Response:
    response = Response(chunks, content_type=mimetype, direct_passthrough=True)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{name.encode("ascii", "replace").decode()}"; '
        f"filename*=UTF-8''{quote(name)}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
