"""GET /forms/<form_id>/submissions.xlsx|.csv: every submission of a form you may see, as files
(``khudan.downloads``, which the pages' download links use too)."""

from __future__ import annotations

from flask import request
from flask_restx import Resource

from khudan.schemas.exports import SubmissionExportQuerySchema

from .. import downloads
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
        kind = "csv" if request.path.endswith(".csv") else "xlsx"
        return downloads.submissions_file(current_user(), form_id, kind, request.args, load)
