"""Query strings and form posts read through the API's marshmallow schemas, so a page accepts
exactly what the matching API route does. A form sends its empty fields as ``""``: those are left
out, as are keys the schema does not know (``lang``, a page's own switches)."""

from __future__ import annotations

from collections.abc import Mapping

from marshmallow import Schema

from ..api import load


def load_args(schema: Schema, values: Mapping[str, str]) -> dict:
    wanted = {k: v for k, v in values.items() if k in schema.load_fields and v != ""}
    return load(schema, wanted)
