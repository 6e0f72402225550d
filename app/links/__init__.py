"""Personal product pages (专属商品页): links, the public page, its events and funnels."""
from __future__ import annotations

from typing import Any

from flask import Flask

from app.api_docs import error_response

_SOURCES = ["clerk", "task", "campaign", "automation"]


def openapi_paths() -> dict[str, Any]:
    """``POST /api/v1/links`` for the integrator API's document."""
    from connectors.registry import channel_kinds

    text = {"type": "string", "minLength": 1, "maxLength": 64}
    body = {
        "type": "object", "required": ["products"],
        "anyOf": [{"required": ["customer"]}, {"required": ["customer_id"]}],
        "properties": {
            "customer": {**text, "description": "The customer's external id."},
            "customer_id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
            "products": {"type": "array", "minItems": 1, "maxItems": 20, "items": text},
            "source": {"oneOf": [{"enum": _SOURCES}, {
                "type": "object", "required": ["kind"],
                "properties": {"kind": {"enum": _SOURCES}, "id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}}]},
            "clerk_id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
            "clerk": {**text, "description": "The clerk's staff external id."},
            "channel": {"enum": list(channel_kinds()), "description": "The channel the link is sent on."}}}
    link = {"type": "object", "required": ["url", "token", "code", "link_id", "expires_at"], "properties": {
        "url": {"type": "string"}, "token": {"type": "string"}, "code": {"type": "string"},
        "link_id": {"type": "integer"}, "expires_at": {"type": "string", "format": "date-time"}}}
    return {"/api/v1/links": {"post": {
        "operationId": "create_personal_link",
        "summary": "Make a customer's personal product page link",
        "description": ("The customer by external id (`customer`) or id (`customer_id`); 1–20 product SKUs; "
                        "optionally who sends it (`source`: clerk, task, campaign or automation, with the task's "
                        "or campaign's id — the customer must be one of its targets) and the clerk the page "
                        "presents (`clerk_id`, or `clerk` by staff external id; default: the customer's owner). "
                        "The page `/p/<token>` opens without login until `expires_at`; orders naming the link in "
                        "`ref` (its token or `code`) after a product click count for its clerk (attribution "
                        "rule `link`)."),
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "201": {"description": "The link (the token is shown once).",
                    "content": {"application/json": {"schema": link}}},
            "401": error_response("No valid bearer token or session."),
            "404": error_response("No such customer, product, clerk, or task or campaign target."),
            "422": error_response("A field is wrong, or the customer has no clerk to present; `fields` names it."),
        },
    }}}


def init_app(app: Flask) -> None:
    from app import api_docs
    from app.links import page, routes

    app.register_blueprint(routes.bp)
    app.register_blueprint(page.bp)
    api_docs.register_paths(app, openapi_paths())
