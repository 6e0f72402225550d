"""The signed webhook bridge: any other platform (a personal-account bridge, WhatsApp, LINE…)
talks to Daogou through two signed HTTP calls, described in the OpenAPI document (``OPENAPI``).

Both directions sign ``<timestamp>.<raw body>`` with HMAC-SHA256 and the account's shared
secret: ``X-Daogou-Timestamp: <unix seconds>``, ``X-Daogou-Signature: sha256=<hex>``. A request
older or newer than five minutes is refused (replay window); within it, each event's ``id``
de-duplicates retries. Outbound deliveries carry ``Idempotency-Key``, which the bridge must
honour, so the outbox may retry a delivery whose answer was lost.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from typing import Any

from connectors.base import (Capabilities, Connector, ConnectorError, InboundEvent, InboundRejected,
                             InboundRequest, Outbound, SendResult, http_call, json_body, register)

REPLAY_WINDOW_SECONDS = 300
EVENT_TYPES = ("message", "status", "subscribe", "unsubscribe", "opt_out")
STATUSES = ("delivered", "read", "failed")
MAX_EVENTS = 100


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"X-Daogou-Timestamp": ts, "X-Daogou-Signature": sign(secret, ts, body),
            "Content-Type": "application/json"}


@register
class BridgeConnector(Connector):
    kind = "bridge"
    label, label_en = "消息桥接", "Webhook bridge"
    capabilities = Capabilities(max_text_chars=4000, two_way=True, media=("text", "image"),
                                sends_per_second=100.0, idempotent_sends=True)
    secret_settings = ("secret",)
    required_settings = ("secret", "url")

    def verify_inbound(self, request: InboundRequest) -> None:
        ts = request.headers.get("x-daogou-timestamp", "")
        try:
            age = abs(time.time() - int(ts))
        except ValueError:
            raise InboundRejected("X-Daogou-Timestamp missing or not a number", 400) from None
        if age > REPLAY_WINDOW_SECONDS:
            raise InboundRejected("timestamp outside the replay window", 403)
        given = request.headers.get("x-daogou-signature", "")
        if not hmac.compare_digest(sign(self.setting("secret", ""), ts, request.body), given):
            raise InboundRejected("bad signature", 403)

    def parse_inbound(self, request: InboundRequest) -> list[InboundEvent]:
        doc = json_body(request)
        items = doc.get("events") if isinstance(doc, dict) else None
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_EVENTS:
            raise InboundRejected(f"events: a list of 1 to {MAX_EVENTS} events", 400)
        return [self._event(i, item) for i, item in enumerate(items)]

    def _event(self, i: int, item: Any) -> InboundEvent:
        def text(key: str, required: bool = True, limit: int = 128) -> str:
            value = item.get(key)
            if value is None and not required:
                return ""
            if not isinstance(value, str) or not value.strip() or len(value) > limit:
                raise InboundRejected(f"events[{i}].{key}: a non-empty string of at most {limit} characters", 400)
            return value

        if not isinstance(item, dict):
            raise InboundRejected(f"events[{i}]: an object", 400)
        type_ = item.get("type")
        if type_ not in EVENT_TYPES:
            raise InboundRejected(f"events[{i}].type: one of {', '.join(EVENT_TYPES)}", 400)
        event_id = text("id")
        at = None
        if item.get("at") is not None:
            try:
                at = dt.datetime.fromisoformat(str(item["at"]))
            except ValueError:
                raise InboundRejected(f"events[{i}].at: ISO 8601 with an offset", 400) from None
            if at.tzinfo is None:
                raise InboundRejected(f"events[{i}].at: ISO 8601 with an offset", 400)
        if type_ == "status":
            status = item.get("status")
            if status not in STATUSES:
                raise InboundRejected(f"events[{i}].status: one of {', '.join(STATUSES)}", 400)
            return InboundEvent("status", text("message_id"), f"bridge:{event_id}",
                                body=text("error", required=False, limit=255), payload={"status": status}, at=at)
        sender = text("sender")
        clerk = text("clerk", required=False) or None
        if type_ == "message":
            body = text("text", limit=4000)
            return InboundEvent("message", sender, f"bridge:{event_id}", body=body, clerk_ref=clerk, at=at,
                                payload={"name": item["name"]} if isinstance(item.get("name"), str) else {})
        kind = {"opt_out": "opt_out"}.get(type_, type_)
        return InboundEvent(kind, sender, f"bridge:{event_id}", body=text("text", required=False, limit=4000),
                            clerk_ref=clerk, at=at)

    def acknowledge(self, request: InboundRequest, events: list[InboundEvent]) -> tuple[str, str]:
        return json.dumps({"accepted": len(events)}), "application/json"

    def send(self, outbound: Outbound) -> SendResult:
        body = json.dumps({"id": outbound.idempotency_key, "recipient": outbound.recipient,
                           "type": outbound.type, "text": outbound.body, "purpose": outbound.purpose},
                          ensure_ascii=False).encode()
        headers = {**signed_headers(self.setting("secret", ""), body), "Idempotency-Key": outbound.idempotency_key}
        response = http_call(self.transport, "POST", self.setting("url"), data=body, headers=headers,
                             timeout=(3.05, float(self.setting("timeout", 10))))
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise ConnectorError(f"bridge answered {response.status_code}", retryable=True,
                                 maybe_sent=response.status_code >= 500, code=response.status_code)
        if response.status_code >= 400:
            raise ConnectorError(f"bridge refused the message ({response.status_code})", code=response.status_code)
        try:
            data = response.json()
        except ValueError:
            data = {}
        return SendResult(provider_message_id=str(data.get("message_id") or outbound.idempotency_key))


_SIGNED = [
    {"name": "X-Daogou-Timestamp", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "Unix seconds when the request was signed; more than 300 s away from our clock is refused."},
    {"name": "X-Daogou-Signature", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "`sha256=` + hex HMAC-SHA256 of `<X-Daogou-Timestamp>.<raw body>` with the account's secret."},
]

OPENAPI_SCHEMAS: dict[str, Any] = {
    "BridgeEvent": {
        "type": "object", "required": ["id", "type"],
        "description": "One event from the bridge. `id` is unique per account: a retry with the same id is "
                       "stored once.",
        "properties": {
            "id": {"type": "string", "maxLength": 128},
            "type": {"enum": list(EVENT_TYPES)},
            "sender": {"type": "string", "maxLength": 128,
                       "description": "The customer's id on the bridged platform (required unless type=status)."},
            "text": {"type": "string", "maxLength": 4000, "description": "Message text (required for type=message)."},
            "name": {"type": "string", "description": "The customer's display name, for a first contact."},
            "clerk": {"type": "string", "description": "The clerk's staff external id or username, when known."},
            "message_id": {"type": "string", "description": "type=status: the message_id you answered our delivery with."},
            "status": {"enum": list(STATUSES), "description": "type=status only."},
            "error": {"type": "string", "maxLength": 255, "description": "type=status, status=failed: why."},
            "at": {"type": "string", "format": "date-time"},
        },
    },
    "BridgeDelivery": {
        "type": "object", "required": ["id", "recipient", "type", "text"],
        "description": "What Daogou POSTs to the bridge's URL, signed like inbound calls, with header "
                       "`Idempotency-Key` equal to `id`: the bridge must deliver each id once. Answer 2xx with "
                       "`{\"message_id\": \"...\"}`; 5xx/408/429 are retried with backoff, other 4xx are final.",
        "properties": {"id": {"type": "string"}, "recipient": {"type": "string"}, "type": {"type": "string"},
                       "text": {"type": "string"}, "purpose": {"enum": ["service", "marketing"]}},
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    "/channels/bridge/{account}": {
        "post": {
            "summary": "Events from a channel bridge (messages, delivery status, follows, opt-outs)",
            "description": "Signed with the account's shared secret (see the headers). In the other "
                           "direction Daogou POSTs a `BridgeDelivery` (components) to the account's URL, "
                           "signed the same way.",
            "security": [],
            "parameters": [{"name": "account", "in": "path", "required": True, "schema": {"type": "string"}},
                           *_SIGNED],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["events"],
                "properties": {"events": {"type": "array", "minItems": 1, "maxItems": MAX_EVENTS,
                                          "items": {"$ref": "#/components/schemas/BridgeEvent"}}}}}}},
            "responses": {
                "200": {"description": "Taken (duplicates included)", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {"accepted": {"type": "integer"}}}}}},
                "400": {"description": "Malformed body or event (the reason names the field)"},
                "403": {"description": "Bad signature or timestamp outside the replay window"},
                "404": {"description": "No such bridge account"},
                "413": {"description": "Body larger than 256 KiB"},
            },
        },
    },
}
