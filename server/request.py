"""The request class: multipart bodies that cannot be parsed raise instead of reading as empty.

Werkzeug silently returns an empty form for a broken multipart body; a collector would then be told
"xml_submission_file is missing" instead of "the upload is broken, send it again".
"""

from __future__ import annotations

from flask import Request as FlaskRequest
from werkzeug.formparser import FormDataParser


class Request(FlaskRequest):
    def make_form_data_parser(self) -> FormDataParser:
        return self.form_data_parser_class(
            stream_factory=self._get_file_stream,
            max_form_memory_size=self.max_form_memory_size,
            max_content_length=self.max_content_length,
            max_form_parts=self.max_form_parts,
            cls=self.parameter_storage_class,
            silent=False,
        )
