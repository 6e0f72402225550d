"""Only with TESTING: stand in for a channel callback, so browser tests can make a customer write.

It goes through the same ``accept_events`` a real callback uses, on the loopback channel, so the
message is routed like any other: to its owner, or into a pool when no clerk owns the customer.
"""
from __future__ import annotations

import uuid

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from app import db, realtime
from app.errors import Invalid
from app.params import is_id
from app.channels.inbound import accept_events
from connectors.base import InboundEvent
from connectors.loopback import LoopbackConnector
from models import ChannelIdentity, Message

bp = Blueprint("console_testing", __name__, url_prefix="/testing")


@bp.post("/inbound")
def inbound():
    data = request.get_json(silent=True) or {}
    if not is_id(data.get("customer_id")):
        raise Invalid("invalid customer", {"customer_id": "required, an integer"})
    external_id = str(data.get("external_id") or uuid.uuid4().hex)
    with db.transaction() as s:
        sender = _loopback_address(s, data["customer_id"])
        counts = accept_events(s, LoopbackConnector("", {}), [InboundEvent(
            "message", sender, external_id, type=data.get("type", "text"), body=str(data.get("body", "")),
            payload=data.get("payload") or {})])
        msg = s.scalar(select(Message).where(Message.channel == "loopback", Message.external_id == external_id))
        body = {"id": msg.id, "conversation_id": msg.conversation_id, "created": not counts.get("duplicate")}
    return jsonify(body), 201 if body["created"] else 200


def _loopback_address(s, customer_id: int) -> str:
    """The customer's loopback id, given one on first use."""
    found = s.scalar(select(ChannelIdentity.external_id).where(ChannelIdentity.customer_id == customer_id,
                                                               ChannelIdentity.channel == "loopback"))
    if found is None:
        found = f"lb-{customer_id}"
        s.add(ChannelIdentity(customer_id=customer_id, channel="loopback", account="", external_id=found))
        s.flush()
    return found


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
