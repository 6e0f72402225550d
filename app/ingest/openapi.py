"""The ingestion endpoints as OpenAPI: what each object may carry, mirroring ``validate``."""
from __future__ import annotations

from typing import Any

from app.api_docs import error_response
from app.ingest.validate import MAX_ITEMS, MAX_QUANTITY, MAX_USAGE_DAYS, follow_channels
from app.urls import MAX_URL_CHARS
from connectors.registry import channel_kinds
from models.commerce import ORDER_STATUSES

BULK_LIMIT = 5000
MONEY = {"type": "string", "pattern": r"^\d{1,13}(\.\d{1,2})?$", "examples": ["268.00"],
         "description": "Yuan as a decimal string; never negative."}
TIME = {"type": "string", "examples": ["2026-11-11T10:00:00+08:00", "2026-11-11 10:00:00"],
        "description": "ISO 8601; without an offset the time is in the brand's timezone."}


# Some non-space character, and no control characters (NUL…).
_CONTROL = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f"
_PRINTABLE = rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"


def _text(max_len: int, nullable: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["string", "null"] if nullable else "string",
                              "minLength": 1, "maxLength": max_len, "pattern": _PRINTABLE}
    return schema


# A product page or image: http(s) only, no space, control character or backslash (``app.urls``).
_URL_CHAR = r"[^\s\\\u0000-\u001f\u007f-\u009f]"
WEB_URL = {"type": ["string", "null"], "maxLength": MAX_URL_CHARS,
           "pattern": rf"^[Hh][Tt][Tt][Pp][Ss]?://(?![/?#]){_URL_CHAR}+$",
           "examples": ["https://shop.example.com/p/SK-001"]}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


EXTERNAL_ID = _text(64)

SCHEMAS: dict[str, Any] = {
    "Store": {
        "type": "object", "additionalProperties": False, "required": ["external_id", "name"],
        "properties": {
            "external_id": EXTERNAL_ID, "name": _text(120), "city": _text(60, True),
            "province": _text(60, True),
            "timezone": {"type": ["string", "null"], "examples": ["Asia/Shanghai"],
                         "description": "An IANA timezone name."},
        },
    },
    "Product": {
        "type": "object", "additionalProperties": False, "required": ["sku", "name", "category", "price"],
        "description": "Upserted by `sku`, which is the product's external id.",
        "properties": {
            "sku": _text(64), "name": _text(120), "category": _text(40), "price": MONEY,
            "usage_days": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_USAGE_DAYS,
                           "description": "Days one unit lasts (product cycle) for consumables."},
            "in_stock": {"type": "boolean"}, "image_url": WEB_URL, "url": WEB_URL,
            "launched_at": _nullable(TIME),
        },
    },
    "OrderItem": {
        "type": "object", "required": ["sku", "quantity", "price"],
        "properties": {"sku": _text(64), "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY}, "price": MONEY},
    },
    "Order": {
        "type": "object", "additionalProperties": False,
        "required": ["external_id", "customer", "status", "created_at", "amount", "items"],
        "description": (
            "Status only moves forward (created → paid → shipped → delivered → completed; unpaid "
            "orders may be cancelled, paid ones refunded). paid_at is required once paid. Each "
            "<status>_at is set the first time the order reaches the status (the time sent, else "
            "now). refund_amount equal to amount makes the order refunded; smaller is a partial "
            "refund. Amount and items may change only while the recorded order is unpaid. "
            "coupon_code redeems that coupon the first time the order shows it (re-sending the "
            "order is not a second use); a coupon that cannot be used rejects the order with "
            "fields.coupon_code naming the reason (unknown, already used, expired, not this "
            "customer's, below the threshold, out of scope, a phone or address limit) and nothing "
            "of it is written. Once set, coupon_code cannot change. A cancelled order gives its "
            "coupon back; a refunded one only when the coupon's template says so."),
        "properties": {
            "external_id": EXTERNAL_ID,
            "customer": {**EXTERNAL_ID, "description": "The customer's external id."},
            "store": {**_text(64, True), "description": "The store's external id."},
            "clerk": {**_text(64, True), "description": "Staff external id or username."},
            "status": {"enum": list(ORDER_STATUSES)},
            "created_at": TIME, "paid_at": _nullable(TIME), "shipped_at": _nullable(TIME),
            "delivered_at": _nullable(TIME), "completed_at": _nullable(TIME),
            "cancelled_at": _nullable(TIME), "refunded_at": _nullable(TIME),
            "amount": MONEY, "refund_amount": _nullable(MONEY),
            "ref": {**_text(64, True), "description": "The personal link (its token or short code) the "
                                                      "order came through; stored as given."},
            "coupon_code": {**_text(40, True), "description": "The coupon the customer used; case, spaces "
                                                              "and dashes are ignored."},
            "items": {"type": "array", "minItems": 1, "maxItems": MAX_ITEMS,
                      "items": {"$ref": "#/components/schemas/OrderItem"}},
        },
    },
    "IngestResult": {
        "type": "object", "required": ["accepted", "created", "updated", "rejected"],
        "additionalProperties": False,
        "properties": {
            "accepted": {"type": "integer", "minimum": 0,
                         "description": "Objects now stored as sent (new, changed or unchanged)."},
            "created": {"type": "integer", "minimum": 0},
            "updated": {"type": "integer", "minimum": 0},
            "rejected": {"type": "array", "items": {
                "type": "object", "required": ["index", "external_id", "fields"], "additionalProperties": False,
                "properties": {
                    "index": {"type": "integer", "minimum": 0, "description": "Position in the request array."},
                    "external_id": {"type": ["string", "null"]},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"},
                               "description": "Field (items[0].sku…) → reason."},
                }}},
        },
    },
}


def _customer_schemas() -> dict[str, Any]:
    """Customer and Identity, whose channel enums are the connector registry's at this moment."""
    return {
        "Identity": {
            "type": "object", "required": ["channel", "external_id"],
            "properties": {"channel": {"enum": list(channel_kinds())},
                           "account": {"type": ["string", "null"], "maxLength": 64}, "external_id": _text(128)},
        },
        "Customer": {
            "type": "object", "additionalProperties": False, "required": ["external_id", "name"],
            "description": "Absent fields keep their stored value; null clears it.",
            "properties": {
                "external_id": EXTERNAL_ID, "name": _text(80), "phone": _text(20, True),
                "email": _text(254, True), "gender": _nullable({"enum": ["F", "M", "女", "男"]}),
                "birthday": _nullable({"type": "string", "format": "date"}), "address": _text(255, True),
                "city": _text(60, True), "province": _text(60, True), "member_level": _text(32, True),
                "store": {**_text(64, True), "description": "Home store's external id."},
                "clerk": {**_text(64, True),
                          "description": "The owning clerk (staff external id or username): binds the "
                                         "customer to that clerk as owner."},
                "channel": {"enum": list(follow_channels()),
                            "description": "How the customer follows the clerk; default in_store."},
                "identities": {"type": "array", "items": {"$ref": "#/components/schemas/Identity"}},
            },
            "dependentRequired": {"channel": ["clerk"]},
        },
    }


def schemas() -> dict[str, Any]:
    """Every component schema of the ingestion endpoints."""
    return {**SCHEMAS, **_customer_schemas()}


def _bulk(kind: str, schema: str, summary: str) -> dict[str, Any]:
    return {"post": {
        "operationId": f"upsert_{kind}",
        "summary": summary,
        "tags": ["ingestion"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "array", "maxItems": BULK_LIMIT, "items": {"$ref": f"#/components/schemas/{schema}"}}}}},
        "responses": {
            "200": {"description": "Valid objects landed; invalid ones are named in `rejected`.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestResult"}}}},
            "400": error_response("The body is not JSON (the error names line and column)."),
            "401": error_response("No valid bearer token or session."),
            "403": error_response("A session that is not head office, or a missing CSRF token."),
            "409": error_response("A concurrent request wrote the same external id; retry."),
            "413": error_response(f"More than {BULK_LIMIT} objects, or a body over the size limit."),
            "422": error_response("The body is not a JSON array."),
        },
    }}


PATHS: dict[str, Any] = {
    "/api/v1/stores": _bulk("stores", "Store", "Create or update stores by external_id"),
    "/api/v1/products": _bulk("products", "Product", "Create or update products by sku"),
    "/api/v1/customers": _bulk("customers", "Customer", "Create or update customers by external_id"),
    "/api/v1/orders": _bulk("orders", "Order", "Record orders and their status changes by external_id"),
}
