"""OpenAPI models generated from the marshmallow schemas, for documentation only.

marshmallow loads and dumps every request and response; flask-restx does not read marshmallow
(python-restx/flask-restx#505), so these models only describe the same shapes in the docs.
"""

from __future__ import annotations

from flask_restx import Namespace, fields
from marshmallow import Schema
from marshmallow import fields as mf

_SIMPLE = {
    mf.String: fields.String,
    mf.Email: fields.String,
    mf.Integer: fields.Integer,
    mf.Float: fields.Float,
    mf.Boolean: fields.Boolean,
    mf.DateTime: fields.DateTime,
    mf.Date: fields.Date,
    mf.Raw: fields.Raw,
    mf.Dict: fields.Raw,
    mf.Url: fields.String,
}


def model(ns: Namespace, schema: Schema | type[Schema], name: str | None = None):
    """A restx model with the schema's fields (nested schemas become nested models)."""
    schema = schema() if isinstance(schema, type) else schema
    name = name or type(schema).__name__.removesuffix("Schema")
    return ns.model(
        name, {key: _field(ns, f) for key, f in schema.fields.items() if not f.load_only}
    )


def input_model(ns: Namespace, schema: Schema | type[Schema], name: str | None = None):
    schema = schema() if isinstance(schema, type) else schema
    name = name or type(schema).__name__.removesuffix("Schema") + "Input"
    return ns.model(
        name, {key: _field(ns, f) for key, f in schema.fields.items() if not f.dump_only}
    )


def _field(ns: Namespace, f: mf.Field):
    doc = _doc_field(ns, f)
    return _nullable(doc) if f.allow_none else doc


def _doc_field(ns: Namespace, f: mf.Field):
    kwargs = {"required": f.required, "description": f.metadata.get("description")}
    if isinstance(f, mf.Nested):
        return fields.Nested(model(ns, f.schema), **kwargs, as_list=bool(f.many))
    if isinstance(f, mf.List):
        return fields.List(_field(ns, f.inner), **kwargs)
    for kind, doc in _SIMPLE.items():
        if isinstance(f, kind):
            return doc(**kwargs)
    return fields.Raw(**kwargs)


def _nullable(field):
    """Swagger 2.0 has no null type; ``x-nullable`` is the extension clients and schemathesis read
    (flask-restx drops its own ``nullable`` argument from the document)."""
    base = type(field)
    field.__class__ = type(
        f"Nullable{base.__name__}",
        (base,),
        {"schema": lambda self: {**base.schema(self), "x-nullable": True}},
    )
    return field


ERROR_TEXT = {
    400: "Broken JSON",
    401: "Not logged in",
    413: "Too large",
    415: "Not JSON",
}


def errors_for(ns: Namespace, error_model, texts: dict[int, str] | None = None):
    """A decorator factory documenting a route's error responses in one decorator.

    ``@error_docs(401, 404, (422, "Invalid period"))``: a bare code takes the namespace's wording
    (``texts``, else ``ERROR_TEXT``), a ``(code, text)`` pair says what it means on that route.
    """
    known = {**ERROR_TEXT, **(texts or {})}

    def error_docs(*responses: int | tuple[int, str]):
        def decorate(target):
            for response in responses:
                code, text = (
                    response if isinstance(response, tuple) else (response, known[response])
                )
                target = ns.response(code, text, error_model)(target)
            return target

        return decorate

    return error_docs
