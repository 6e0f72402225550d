"""JSON shapes of the console's conversations, messages and quick replies (one place)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.i18n import negotiate_locale, t
from app.messaging.payloads import message_json as _message_json
from connectors.registry import channel_label
from models import Conversation, Customer, Message, QuickReply, Store


def customers_by_id(session: Session, ids: list[int]) -> dict[int, Customer]:
    """One query for the customers shown in a page of conversations."""
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(set(ids))))}


def store_names(session: Session, conversations: list[Conversation]) -> dict[int, str]:
    ids = {c.store_id for c in conversations if c.store_id is not None}
    return dict(session.execute(select(Store.id, Store.name).where(Store.id.in_(ids))).all()) if ids else {}


def conversation_json(conv: Conversation, customer: Customer | None, stores: dict[int, str] | None = None) -> dict[str, Any]:
    return {
        "id": conv.id,
        "clerk_id": conv.clerk_id,
        "store_id": conv.store_id,
        "store_name": (stores or {}).get(conv.store_id) if conv.store_id else None,
        "pooled": conv.clerk_id is None,  # waiting in a pool (待接待) for someone to claim it
        "waiting_since": conv.waiting_since.isoformat() if conv.waiting_since else None,
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
        "last_channel_label": channel_label(conv.last_channel, negotiate_locale()) if conv.last_channel else None,
        "last_inbound_at": conv.last_inbound_at.isoformat() if conv.last_inbound_at else None,
    }


def message_json(m: Message) -> dict[str, Any]:
    """The same shape as the ``message.created`` event's message, so the console has one renderer."""
    return _message_json(m)


def quick_reply_json(r: QuickReply) -> dict[str, Any]:
    return {"id": r.id, "text": r.text, "shared": r.owner_id is None}
