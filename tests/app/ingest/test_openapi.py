"""The OpenAPI document against the real endpoints: schemathesis-generated requests, and real
responses (success and every error status) validated against the document's schemas."""
from __future__ import annotations

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, positive_data_acceptance,
                                 response_schema_conformance, status_code_conformance)

from app import api_docs
from tests.app.ingest.conftest import order

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          positive_data_acceptance]
# A coupon template has rules JSON Schema cannot state (an end date still to come, a threshold
# above the amount off, scope SKUs that exist): a schema-valid template may rightly get a 422.
CROSS_FIELD_RULES = {"create_coupon_template"}


@pytest.fixture
def document(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return r.get_json()


def _validator(document, ref: str):
    return jsonschema_rs.Draft202012Validator({"$ref": ref, "components": document["components"]})


def _request_validator(document, path: str):
    schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})


def test_document_lists_the_four_endpoints_with_auth_and_errors(document):
    assert document["openapi"].startswith("3.")
    for kind in ("stores", "products", "customers", "orders"):
        responses = document["paths"][f"/api/v1/{kind}"]["post"]["responses"]
        assert {"200", "400", "401", "413", "422"} <= set(responses)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_generated_requests_get_answers_the_document_describes(app, bearer, brand):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [op.ok() for op in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/stores", "/api/v1/orders"}
    for operation in operations:
        @given(case=operation.as_strategy())
        # No shrinking: a failure prints its curl reproduction, and shrinking big bodies takes minutes.
        @settings(max_examples=6, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def call(case):
            # identity: the WSGI transport hands schemathesis the raw (possibly gzipped) body.
            response = case.call(headers={**bearer, "Accept-Encoding": "identity"})
            checks = CHECKS[:-1] if operation.definition.raw.get("operationId") in CROSS_FIELD_RULES else CHECKS
            case.validate_response(response, checks=checks)

        call()


def test_real_responses_match_the_document(client, bearer, document, brand):
    result = _validator(document, "#/components/schemas/IngestResult")
    error = _validator(document, "#/components/schemas/Error")
    answers = [
        (client.post("/api/v1/orders", headers=bearer, json=[order("O1"), order("O2", amount="-1")]), 200, result),
        (client.post("/api/v1/orders", headers={**bearer, "Content-Type": "application/json"}, data="[{"), 400, error),
        (client.post("/api/v1/orders", json=[]), 401, error),
        (client.post("/api/v1/stores", headers=bearer, json=[{}] * 5001), 413, error),
        (client.post("/api/v1/stores", headers=bearer, json={"stores": []}), 422, error),
    ]
    for response, status, validator in answers:
        assert response.status_code == status
        validator.validate(response.get_json())
    assert answers[0][0].get_json()["rejected"][0]["external_id"] == "O2"


def test_objects_the_document_accepts_land_and_ones_it_refuses_are_rejected(client, bearer, document, brand):
    orders = _request_validator(document, "/api/v1/orders")
    good = [order("O1"), order("O2", status="refunded", refund_amount="565.90", refunded_at="2026-11-12T10:00:00Z")]
    bad = [order("O3", amount="12.345"), order("O4", status="lost"), order("O5", items=[]), order("O6", extra=1)]
    assert orders.is_valid(good)
    assert all(not orders.is_valid([b]) for b in bad)
    body = client.post("/api/v1/orders", headers=bearer, json=good + bad).get_json()
    assert body["accepted"] == 2 and [r["index"] for r in body["rejected"]] == [2, 3, 4, 5]


def test_other_areas_can_add_paths(app, client):
    api_docs.register_paths(app, {"/channels/bridge/{account}": {"post": {
        "summary": "Bridge webhook", "responses": {"200": {"description": "ok"}}}}})
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/channels/bridge/{account}" in paths and "/api/v1/orders" in paths
