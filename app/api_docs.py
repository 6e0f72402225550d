"""``GET /api/v1/openapi.json``: the OpenAPI 3.1 document of the integrator API.

Areas contribute their own paths and component schemas with ``register_paths(app, paths,
schemas)`` from their ``init_app`` (ingestion adds the bulk endpoints; the channels area adds
the bridge webhook). The shared parts — security schemes and the error shape — live here.
"""
from __future__ import annotations

import copy
from typing import Any

from flask import Flask, current_app, jsonify

_KEY = "daogou.openapi"

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every 4xx answer: a message and, when a field is at fault, why.",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def error_response(description: str) -> dict[str, Any]:
    """A response object whose body is the shared error shape."""
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def register_paths(app: Flask, paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> None:
    """Add path items (and component schemas they reference) to the document."""
    spec = app.extensions.setdefault(_KEY, {"paths": {}, "schemas": {}})
    for path, item in paths.items():
        spec["paths"].setdefault(path, {}).update(item)
    spec["schemas"].update(schemas or {})


def document(app: Flask) -> dict[str, Any]:
    spec = app.extensions.get(_KEY, {"paths": {}, "schemas": {}})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Daogou integrator API",
            "version": "1",
            "description": (
                "Bulk ingestion of stores, products, customers and orders from POS systems and "
                "e-shops, and channel bridges. Money is a decimal string in yuan (\"268.00\"); "
                "times are ISO 8601, and a time without an offset is in the brand's timezone "
                f"({app.config.get('BRAND_TIMEZONE', 'Asia/Shanghai')}). Errors are "
                "`{\"error\", \"fields\"}` with a 4xx status."),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"headOfficeSession": []}],
        "paths": copy.deepcopy(spec["paths"]),
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "An integrator token from `flask api-token create NAME`."},
                "headOfficeSession": {"type": "apiKey", "in": "cookie", "name": "session",
                                      "description": "A head-office staff session (POST /auth/login); "
                                                     "writes also need the X-CSRF-Token header."},
            },
            "schemas": {"Error": ERROR_SCHEMA, **copy.deepcopy(spec["schemas"])},
        },
    }


def init_app(app: Flask) -> None:
    if "api_docs.openapi" not in app.view_functions:
        app.add_url_rule("/api/v1/openapi.json", "api_docs.openapi", _openapi)


def _openapi():
    return jsonify(document(current_app))
