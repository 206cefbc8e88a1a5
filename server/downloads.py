"""A form's submissions as a file download, for the API (``GET /api/v1/forms/<id>/submissions.
xlsx|csv``) and the pages (the review queue's download links) alike: one HTTP-layer helper over
``services.submission_export``, so both give the same file for the same reader and filters.

XLSX: the main sheet and a sheet per repeat group. CSV: the main table, or ``repeat=<name>`` for a
repeat's table. ``attachments=true``: a ZIP of the XLSX (or of every CSV table) with the photos under
``media/<instanceID>/``. The CSV and the ZIP are streamed while they are made; the XLSX is written to
a temporary file first (a workbook cannot be sent before it is whole), then sent from disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from flask import Response, send_file

from khudan.schemas.exports import SubmissionExportQuerySchema

from .models import User
from .runtime import current
from .services import submission_export as export_service
from .services import submissions as submission_service
from .xlsxstream import XLSX_TYPE


def submissions_file(
    user: User, form_id: str, kind: str, args: Mapping[str, str], load
) -> Response:
    """The file; ``load(schema, args)`` validates the query as the calling layer reports errors."""
    q = load(SubmissionExportQuerySchema(), dict(args))
    export_service.check_repeat(q["repeat"], kind, q["attachments"])
    runtime = current()
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
        response = attachment(chunks, "application/zip", export.file_name("zip"))
    elif kind == "csv":
        chunks = export_service.csv_chunks(export, table_rows, table)
        response = attachment(chunks, "text/csv; charset=utf-8", export.file_name("csv", table))
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


def attachment(chunks, mimetype: str, name: str) -> Response:
    """A file to save, named in ASCII and in UTF-8 (RFC 6266), never sniffed."""
    response = Response(chunks, content_type=mimetype, direct_passthrough=True)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{name.encode("ascii", "replace").decode()}"; '
        f"filename*=UTF-8''{quote(name)}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
