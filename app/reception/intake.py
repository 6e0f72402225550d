"""The last step of inbound routing: a message from a customer no clerk owns lands in a pool
(or, when the brand set the pool to assign, straight with one of the store's clerks)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.followers.bindings import bind
from app.messaging.actions import receive_message
from app.reception.pools import reception_settings
from app.reception.routing import destination
from models import Conversation, utcnow

ACCOUNT_KEYS = ("store", "pool_assign", "pool_cap")


def receive_unowned(s: Session, account_settings: dict[str, Any], *, customer_id: int, **message: Any) -> str:
    """Store the message in the customer's pooled thread, or with the clerk the pool picks;
    return the receipt's outcome (``pooled`` or ``stored``)."""
    dest = destination(s, customer_id, account_settings)
    msg, _ = receive_message(s, customer_id=customer_id, clerk_id=dest.clerk_id, store_id=dest.store_id, **message)
    if dest.clerk_id is None:
        return "pooled"
    conv = s.get(Conversation, msg.conversation_id)
    if conv is not None and conv.assigned_at is None:
        conv.assigned_at, conv.store_id = utcnow(), dest.store_id
    bind(s, customer_id, dest.clerk_id, message["channel"], may_own=reception_settings(s).claim_binds)
    return "stored"
