"""The OpenAPI document of /v1: every route is in it, it is valid OpenAPI 3, and schemathesis's
generated requests (logged in as an admin, over real households) get only documented answers."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_paths import schema_with_known_paths
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)


def not_a_crash(ctx, response, case):
    """5xx is a crash, except the documented 501: an OData option ODK Central refuses too."""
    if response.status_code == 501:
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [not_a_crash, status_code_conformance, response_schema_conformance]
UNDOCUMENTED = {"central.not_offered", "central.openapi_document", "central.openapi_page"}


def test_every_v1_route_is_documented_and_the_document_is_valid(app, client):
    doc = client.get("/v1/openapi.json").json
    validate(doc)
    operations = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("central.") or rule.endpoint in UNDOCUMENTED:
            continue
        path = rule.rule.replace("<int:", "<").replace("<path:", "<")
        path = path.replace("<", "{").replace(">", "}")
        if path.endswith(".svc/"):
            continue  # the alias of .svc
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in operations, (method, path)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and "200" in op["responses"], (method, path)
            if path != "/v1/sessions":
                assert "401" in op["responses"] and op["security"], (method, path)
    page = client.get("/v1/docs")
    assert page.status_code == 200 and "/v1/openapi.json" in page.text


@pytest.fixture
def v1_schema(app, households, central_login):
    existing = {
        "project_id": [1],
        "form_id": ["household"],
        "instance_id": households,
        "version": ["1"],
        "name": ["house.jpg", "b.jpg"],
        "subpath": ["Submissions", "Submissions.member", "Submissions('uuid:h2')/member"],
    }
    return schema_with_known_paths(app, "/v1/openapi.json", existing)


@pytest.fixture
def v1_admin(central_login) -> dict:
    return central_login()


v1 = schemathesis.pytest.from_fixture("v1_schema")


@v1.parametrize()
@settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_v1_answers_as_documented(case, client, v1_admin):
    headers = v1_admin
    if case.operation.method.upper() == "DELETE":
        r = client.post("/v1/sessions", json={"email": "admin1", "password": "correct horse"})
        headers = {"Authorization": f"Bearer {r.json['token']}"}
    case.call_and_validate(headers=headers, checks=CHECKS, buffered=True)
