"""The one builder of each realtime payload about messages (their shape is pinned by tests)."""
from __future__ import annotations

from typing import Any

from models import Conversation, Message


def message_json(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "direction": m.direction.value,
        "channel": m.channel,
        "type": m.type,
        "body": m.body,
        "payload": m.payload,
        "client_id": m.client_id,
        "status": m.status.value,
        "error": m.error,
        "created_at": m.created_at.isoformat(),
    }


def message_created(m: Message, conv: Conversation) -> dict[str, Any]:
    return {"message": message_json(m), "conversation": {
        "id": conv.id, "customer_id": conv.customer_id, "unread_count": conv.unread_count,
        "clerk_id": conv.clerk_id, "store_id": conv.store_id, "pooled": conv.clerk_id is None,
        "last_message_at": conv.last_message_at.isoformat() if conv.last_message_at else None,
        "last_message_preview": conv.last_message_preview}}


def message_status(m: Message) -> dict[str, Any]:
    return {"message_id": m.id, "conversation_id": m.conversation_id, "client_id": m.client_id,
            "status": m.status.value, "error": m.error}
