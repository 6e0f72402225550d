"""The coupon endpoints in the integrator API's OpenAPI document."""
from __future__ import annotations

from typing import Any

from app.api_docs import error_response
from app.coupons.validate import MAX_ISSUE, MAX_PER_CUSTOMER, MAX_PERCENT, MAX_VALID_DAYS
from app.ingest.openapi import MONEY, TIME, _nullable, _text
from models.coupons import COUPON_KINDS, COUPON_SOURCES

_REF = "#/components/schemas/"
_DATE_OR_TIME = {"type": "string", "examples": ["2026-12-01", "2026-12-01T10:00:00+08:00"],
                 "description": "A date (the whole day counts) or an ISO 8601 time; without an offset, "
                                "in the brand's timezone."}
MAX_COUNT = 2**31 - 1
_REASONS = ["unknown_customer", "per_customer_limit", "budget_count", "budget_amount"]

SCHEMAS: dict[str, Any] = {
    "CouponTemplateIn": {
        "type": "object", "additionalProperties": False, "required": ["name", "kind", "value"],
        "description": ("amount_off (满减) needs a threshold above value; percent_off (折扣) takes value as the "
                        "percent off (20 = 8折) and needs cap; no_threshold (无门槛) takes no threshold. "
                        "Give valid_days (the coupon lasts to the end of the brand's day N days after "
                        "issue) or valid_to (with an optional valid_from), not both."),
        "properties": {
            "name": _text(60), "kind": {"enum": list(COUPON_KINDS)},
            "value": {"type": ["string", "integer"], "examples": ["20.00", 20],
                      "description": f"Yuan off; for percent_off a whole percent 1–{MAX_PERCENT}."},
            "cap": {**_nullable(MONEY), "description": "percent_off only: the most it takes off."},
            "threshold": _nullable(MONEY),
            "valid_days": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_VALID_DAYS},
            "valid_from": _nullable(_DATE_OR_TIME), "valid_to": _nullable(_DATE_OR_TIME),
            "per_customer_limit": {"type": "integer", "minimum": 1, "maximum": MAX_PER_CUSTOMER, "default": 1},
            "budget_count": {"type": ["integer", "null"], "minimum": 1, "description": "Most coupons ever issued."},
            "budget_amount": {**_nullable(MONEY), "description": "Most money the issued coupons can take off "
                                                                  "(each reserves its value, or its cap)."},
            "scope": {"type": "object", "additionalProperties": False, "description": "Empty: every product.",
                      "properties": {"categories": {"type": "array", "items": _text(40)},
                                     "skus": {"type": "array", "items": _text(64)}}},
            "refund_returns_coupon": {"type": "boolean", "default": False,
                                      "description": "A refunded order gives its coupon back."},
            "active": {"type": "boolean", "default": True},
        },
    },
    "CouponTemplate": {
        "type": "object",
        "description": "A template with its figures: counts, cost of redeemed coupons, budget used.",
        "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "kind": {"enum": list(COUPON_KINDS)},
            "title": {"type": "string", "examples": ["满200减20"]}, "value_label": {"type": "string"},
            "issued": {"type": "integer"}, "redeemed": {"type": "integer"}, "expired": {"type": "integer"},
            "redemption_rate": {"type": ["number", "null"]}, "cost": MONEY,
            "budget_used": {"type": "object", "properties": {"count": {"type": "integer"}, "amount": MONEY}},
        },
    },
    "CouponIssue": {
        "type": "object", "additionalProperties": False, "required": ["template_id"],
        "description": "customers or segment_id, not both. Idempotent per (template, customer, source).",
        "oneOf": [{"required": ["customers"]}, {"required": ["segment_id"]}],
        "properties": {
            "template_id": {"type": "integer", "minimum": 1, "maximum": MAX_COUNT},
            "customers": {"type": "array", "minItems": 1, "maxItems": MAX_ISSUE, "items": _text(64),
                          "description": "Customers' external ids."},
            "segment_id": {"type": "integer", "minimum": 1, "maximum": MAX_COUNT},
            "source": {"type": "object", "required": ["kind"], "properties": {
                "kind": {"enum": [s for s in COUPON_SOURCES if s != "clerk"]}, "id": _text(64)},
                "description": "Where the coupons come from (a campaign, a task…); default api."},
        },
    },
    "CouponIssued": {
        "type": "object", "required": ["issued", "refused"],
        "properties": {
            "issued": {"type": "array", "items": {"type": "object", "properties": {
                "customer": {"type": "string"}, "code": {"type": "string"}, "expires_at": TIME}}},
            "refused": {"type": "array", "items": {"type": "object", "properties": {
                "customer": {"type": "string"}, "reason": {"enum": _REASONS}, "message": {"type": "string"}}}},
        },
    },
}


def _op(op_id: str, summary: str, ok: dict[str, Any], body: str | None = None, **errors: str) -> dict[str, Any]:
    item: dict[str, Any] = {"operationId": op_id, "summary": summary, "tags": ["coupons"],
                            "responses": {**ok, "401": error_response("No valid bearer token or session."),
                                          **{code[1:]: error_response(text) for code, text in errors.items()}}}
    if body:
        item["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": _REF + body}}}}
    return item


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PATHS: dict[str, Any] = {
    "/api/v1/coupon-templates": {
        "post": _op("create_coupon_template", "Create a coupon template",
                    {"201": _json("The template.", {"$ref": _REF + "CouponTemplate"})}, "CouponTemplateIn",
                    e422="A field is wrong: fields names it (scope.skus[1]…)."),
        "get": _op("list_coupon_templates", "Templates with issued/redeemed/expired, budget used, redemption rate",
                   {"200": _json("Newest first.", {"type": "object", "properties": {
                       "templates": {"type": "array", "items": {"$ref": _REF + "CouponTemplate"}}}})}),
    },
    "/api/v1/coupons": {
        "post": _op("issue_coupons", "Issue one unique code per customer, within budget and limits",
                    {"200": _json("Issued and refused customers.", {"$ref": _REF + "CouponIssued"})}, "CouponIssue",
                    e404="No such template or segment (fields names it).",
                    e422="A field is wrong, or the template is inactive or over."),
    },
    "/api/v1/customers/{customer}/coupons": {
        "get": {**_op("customer_coupons", "A customer's coupons (with a bearer token: by external id)",
                      {"200": _json("Every coupon, newest first, with its state.", {"type": "object"})},
                      e404="No such customer."),
                "parameters": [{"name": "customer", "in": "path", "required": True, "schema": {"type": "string"}}]},
    },
    "/api/v1/coupons/flags": {
        "get": _op("coupon_abuse_flags", "Addresses whose coupons many customers redeemed (防薅羊毛)",
                   {"200": _json("Flags, most customers first.", {"type": "object"})}),
    },
}
