"""Schemathesis against an app's own OpenAPI document, with path parameters drawn half the time
from what exists, so that the 200 answers are checked too, not only the 404s of random names."""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st


def schema_with_known_paths(app, document: str, existing: dict[str, list]):
    """The schemathesis schema of ``document`` (a path of ``app``) whose path parameters named in
    ``existing`` also take those values."""
    schema = schemathesis.openapi.from_wsgi(document, app)

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        known = {
            name: st.sampled_from(existing[name])
            for name in path_parameters or {}
            if name in existing
        }
        if not known:
            return st.just(path_parameters)
        drawn = {name: known.get(name, st.just(value)) for name, value in path_parameters.items()}
        return st.one_of(st.just(path_parameters), st.fixed_dictionaries(drawn))

    return schema
