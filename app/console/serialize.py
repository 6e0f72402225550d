"""JSON shapes of the console's conversations, messages and quick replies (one place)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.i18n import t
from app.messaging.payloads import message_json as _message_json
from models import Conversation, Customer, Message, QuickReply


def customers_by_id(session: Session, ids: list[int]) -> dict[int, Customer]:
    """One query for the customers shown in a page of conversations."""
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(set(ids))))}


def conversation_json(conv: Conversation, customer: Customer | None) -> dict[str, Any]:
    return {
        "id": conv.id,
        "clerk_id": conv.clerk_id,
        "customer": None if customer is None else {
            "id": customer.id, "name": customer.name,
            "stage": customer.stage.value if customer.stage else None,
            "stage_label": t(f"stage.{customer.stage.value}") if customer.stage else None,
        },
        "customer_id": conv.customer_id,
        "unread_count": conv.unread_count,
        "last_message_at": conv.last_message_at.isoformat() if conv.last_message_at else None,
        "last_message_preview": conv.last_message_preview,
        "last_channel": conv.last_channel,
        "last_inbound_at": conv.last_inbound_at.isoformat() if conv.last_inbound_at else None,
    }


def message_json(m: Message) -> dict[str, Any]:
    """The same shape as the ``message.created`` event's message, so the console has one renderer."""
    return _message_json(m)


def quick_reply_json(r: QuickReply) -> dict[str, Any]:
    return {"id": r.id, "text": r.text, "shared": r.owner_id is None}
