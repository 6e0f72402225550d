"""Only with TESTING: stand in for a channel callback, so browser tests can make a customer write.

It goes through the same ``receive_message`` action a real callback uses (loopback channel).
"""
from __future__ import annotations

import uuid

from flask import Blueprint, jsonify, request

from app import db, realtime
from app.errors import Invalid
from app.params import is_id
from app.messaging.actions import receive_message

bp = Blueprint("console_testing", __name__, url_prefix="/testing")


@bp.post("/inbound")
def inbound():
    data = request.get_json(silent=True) or {}
    if not is_id(data.get("customer_id")):
        raise Invalid("invalid customer", {"customer_id": "required, an integer"})
    with db.transaction() as s:
        msg, created = receive_message(
            s, channel="loopback", external_id=str(data.get("external_id") or uuid.uuid4().hex),
            customer_id=data["customer_id"], body=str(data.get("body", "")), type=data.get("type", "text"),
            payload=data.get("payload"))
        body = {"id": msg.id, "conversation_id": msg.conversation_id, "created": created}
    return jsonify(body), 201 if created else 200


@bp.post("/probe")
def probe():
    """Publish a bare event to one clerk's room: the realtime path alone (row, commit, emit)."""
    data = request.get_json(silent=True) or {}
    if not is_id(data.get("clerk_id")):
        raise Invalid("invalid clerk", {"clerk_id": "required, an integer"})
    with db.transaction() as s:
        event = realtime.publish(s, realtime.clerk_room(data["clerk_id"]), realtime.TODAY_UPDATED,
                                 {"probe": str(data.get("body", ""))})
        event_id = event.id
    return jsonify({"event_id": event_id}), 201
