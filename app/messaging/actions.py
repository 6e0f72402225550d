"""Message actions. Each runs inside the caller's transaction and never commits itself.

``receive_message`` stores an inbound message exactly once (by channel + external id), updates the
conversation and tells the owning clerk's consoles. ``send_message`` is idempotent by the
console's client id: it writes the message and its outbox row before anything is sent, then
hands the outbox row to the dispatcher after commit.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import hooks, realtime
from app.db import chunks
from app.errors import Invalid, NotFound
from app.messaging.payloads import message_created, message_status
from app.messaging.waits import close_wait, open_wait
from connectors.registry import address_fields
from models import (ChannelIdentity, Conversation, Customer, CustomerOptOut, Direction,
                    FollowerBinding, Message, MessageStatus, OutboxEntry, OutboxState, Staff,
                    utcnow)

PREVIEW_CHARS = 60
MAX_TEXT_CHARS = 2000


def owner_clerk_id(session: Session, customer_id: int) -> int | None:
    return session.scalar(select(FollowerBinding.clerk_id).where(
        FollowerBinding.customer_id == customer_id, FollowerBinding.current_owner()))


def owner_clerk_ids(session: Session, customer_ids: Sequence[int]) -> dict[int, int]:
    """customer id → owning clerk id, for many customers (chunked under SQLite's bind limit)."""
    ids = list(customer_ids)
    out: dict[int, int] = {}
    for chunk in chunks(ids):
        out.update(session.execute(select(FollowerBinding.customer_id, FollowerBinding.clerk_id).where(
            FollowerBinding.customer_id.in_(chunk), FollowerBinding.current_owner())).all())
    return out


def conversation_for(session: Session, customer_id: int, clerk_id: int) -> Conversation:
    conv = session.scalar(select(Conversation).where(
        Conversation.customer_id == customer_id, Conversation.clerk_id == clerk_id))
    if conv is None:
        conv = Conversation(customer_id=customer_id, clerk_id=clerk_id, unread_count=0)
        session.add(conv)
        session.flush()
    return conv


def pooled_conversation(session: Session, customer_id: int, store_id: int | None) -> Conversation:
    """The customer's thread in a pool (待接待): the one already there, wherever it sits, else a
    new one in ``store_id``'s pool (head office's when None)."""
    conv = session.scalar(select(Conversation).where(
        Conversation.customer_id == customer_id, Conversation.clerk_id.is_(None)))
    if conv is None:
        conv = Conversation(customer_id=customer_id, clerk_id=None, store_id=store_id, unread_count=0)
        session.add(conv)
        session.flush()
    return conv


def rooms_of(conv: Conversation) -> list[str]:
    """Where a conversation's events go: its clerk, or everyone who may claim it from its pool."""
    if conv.clerk_id is not None:
        return [realtime.clerk_room(conv.clerk_id)]
    return [realtime.pool_room(conv.store_id), "hq"] if conv.store_id is not None else ["hq"]


def publish_to_conversation(session: Session, conv: Conversation, name: str, payload: dict[str, Any]) -> None:
    for room in rooms_of(conv):
        realtime.publish(session, room, name, payload)


def _preview(body: str, type_: str) -> str:
    if type_ == "image":
        return "[图片]"
    if type_ == "product":
        return "[商品] " + body[:PREVIEW_CHARS]
    return body[:PREVIEW_CHARS]


def receive_message(session: Session, *, channel: str, external_id: str, customer_id: int,
                    body: str, account: str | None = None, type: str = "text",
                    payload: dict[str, Any] | None = None, clerk_id: int | None = None,
                    store_id: int | None = None, received_at: dt.datetime | None = None) -> tuple[Message, bool]:
    """Store an inbound message once; return it and whether it was new.

    The conversation is the one with ``clerk_id`` when the channel names the clerk (a WeCom
    contact added by that clerk), else with the customer's owner clerk, else the customer's
    thread in a pool: ``store_id``'s, or head office's. Every message lands where a person sees it.
    """
    existing = session.scalar(select(Message).where(Message.channel == channel,
                                                    Message.external_id == external_id))
    if existing is not None:
        return existing, False
    clerk_id = clerk_id or owner_clerk_id(session, customer_id)
    when = received_at or utcnow()
    conv = (conversation_for(session, customer_id, clerk_id) if clerk_id is not None
            else pooled_conversation(session, customer_id, store_id))
    msg = Message(conversation_id=conv.id, direction=Direction.inbound, channel=channel,
                  account=account, type=type, body=body, payload=payload, external_id=external_id,
                  status=MessageStatus.received, created_at=when)
    session.add(msg)
    conv.unread_count = (conv.unread_count or 0) + 1
    conv.last_message_at = when
    conv.last_inbound_at = when
    conv.last_channel = channel
    conv.last_message_preview = _preview(body, type)
    if type != "event":
        open_wait(session, conv, when, channel)
    # One UPDATE, not a load of the customer row first (this is on the callback's clock).
    session.execute(update(Customer).where(Customer.id == customer_id).values(last_inbound_at=when))
    session.flush()
    publish_to_conversation(session, conv, realtime.MESSAGE_CREATED, message_created(msg, conv))
    hooks.fire(session, hooks.MESSAGE_RECEIVED, message_id=msg.id, customer_id=customer_id)
    return msg, True


def address_for(session: Session, customer_id: int, channel: str) -> tuple[str, str | None] | None:
    """The customer's address on ``channel`` and the account that reaches it, if any."""
    field = address_fields().get(channel)
    if field is not None:
        address = session.scalar(select(getattr(Customer, field)).where(Customer.id == customer_id))
        return (address, None) if address else None
    row = session.execute(select(ChannelIdentity.external_id, ChannelIdentity.account).where(
        ChannelIdentity.customer_id == customer_id, ChannelIdentity.channel == channel)
        .order_by(ChannelIdentity.id.desc()).limit(1)).first()
    return (row[0], row[1] or None) if row else None


def recipient_for(session: Session, customer_id: int, channel: str) -> str | None:
    """The address of the customer on ``channel`` (openid, external_userid, phone, e-mail)."""
    found = address_for(session, customer_id, channel)
    return found[0] if found else None


def send_message(session: Session, *, clerk_id: int, customer_id: int, body: str,
                 client_id: str | None = None, channel: str | None = None, type: str = "text",
                 payload: dict[str, Any] | None = None, purpose: str = "service",
                 defer_until: dt.datetime | None = None, source: str = "clerk") -> tuple[Message, bool]:
    """Queue an outbound message; return it and whether it was new (False on a client retry).

    With ``defer_until`` (quiet hours, see ``assistant.policy``) the message is ``scheduled`` and
    its outbox row ``deferred``: nothing goes, nothing counts as contact, until
    ``app.messaging.deferred.release_due`` checks the contact policy again at that time.
    """
    if client_id:
        existing = session.scalar(select(Message).where(Message.client_id == client_id))
        if existing is not None:
            return existing, False
    body = (body or "").strip()
    fields: dict[str, str] = {}
    if type == "text" and not body:
        fields["body"] = "empty message"
    if len(body) > MAX_TEXT_CHARS:
        fields["body"] = f"longer than {MAX_TEXT_CHARS} characters"
    if fields:
        raise Invalid("invalid message", fields)
    conv = conversation_for(session, customer_id, clerk_id)
    channel = channel or outbound_channel(session, conv)
    if channel is None:
        raise Invalid("no channel reaches this customer", {"channel": "customer has no bound channel"})
    if session.scalar(select(CustomerOptOut.id).where(CustomerOptOut.customer_id == customer_id,
                                                       CustomerOptOut.channel == channel)):
        raise Invalid("customer opted out on this channel", {"channel": f"{channel}: opted out"})
    found = address_for(session, customer_id, channel)
    if found is None:
        raise Invalid("no address on this channel", {"channel": f"{channel}: customer has no address"})
    now = utcnow()
    deferred = defer_until is not None and defer_until > now
    if deferred:
        payload = {**(payload or {}), "deferred_until": defer_until.isoformat()}
    msg = Message(conversation_id=conv.id, direction=Direction.outbound, channel=channel,
                  type=type, body=body, payload=payload, client_id=client_id, sender_id=clerk_id,
                  purpose=purpose, status=MessageStatus.scheduled if deferred else MessageStatus.queued,
                  created_at=now)
    session.add(msg)
    session.flush()
    recipient, account = found
    entry = OutboxEntry(idempotency_key=f"msg:{msg.id}", message_id=msg.id, customer_id=customer_id,
                        channel=channel, account=account, recipient=recipient, purpose=purpose,
                        payload={"type": type, "body": body, "extra": payload or {},
                                 "clerk_ref": _clerk_ref(session, clerk_id),
                                 "source": source, "mass": bool((payload or {}).get("mass"))},
                        state=OutboxState.deferred if deferred else OutboxState.pending,
                        next_attempt_at=defer_until if deferred else now)
    session.add(entry)
    if source == "clerk":
        # The clerk wrote in this thread: it moves up and what the customer said counts as seen.
        # Campaigns, automations and task fallbacks leave the thread where it is, unread
        # questions included, so a mass send never buries a message waiting for an answer.
        conv.last_message_at = now
        conv.last_message_preview = _preview(body, type)
        conv.unread_count = 0
        close_wait(session, conv, clerk_id, now)
    session.flush()
    realtime.publish(session, realtime.clerk_room(clerk_id), realtime.MESSAGE_CREATED,
                     message_created(msg, conv))
    if not deferred:
        mark_contacted(session, msg, entry)
    return msg, True


def mark_contacted(session: Session, msg: Message, entry: OutboxEntry) -> None:
    """The message is on its way: it counts as contact now, and the dispatcher takes it."""
    session.execute(update(Customer).where(Customer.id == entry.customer_id)
                    .values(last_contacted_at=msg.created_at))
    hooks.fire(session, hooks.MESSAGE_SENT, message_id=msg.id, customer_id=entry.customer_id,
               clerk_id=msg.sender_id, source=entry.payload.get("source", "clerk"))
    _dispatch_after_commit(session, entry)


def _clerk_ref(session: Session, clerk_id: int) -> str | None:
    """The clerk's id on the channel side (WeCom userid): their staff external id."""
    return session.scalar(select(Staff.external_id).where(Staff.id == clerk_id))


def outbound_channel(session: Session, conv: Conversation) -> str | None:
    """The channel a message in this thread goes on when none is named: the thread's last, else
    the clerk's binding with the customer."""
    return conv.last_channel or _binding_channel(session, conv.customer_id, conv.clerk_id)


def _binding_channel(session: Session, customer_id: int, clerk_id: int) -> str | None:
    return session.scalar(select(FollowerBinding.channel).where(
        FollowerBinding.customer_id == customer_id, FollowerBinding.clerk_id == clerk_id,
        FollowerBinding.ended_at.is_(None)).limit(1))


def _dispatch_after_commit(session: Session, entry: OutboxEntry) -> None:
    from app import jobs
    from app.channels import dispatch  # the dispatcher module of the channels area

    jobs.enqueue_after_commit(session, dispatch.dispatch_entry, entry.id)


def set_message_status(session: Session, message_id: int, status: MessageStatus,
                       error: str | None = None) -> Message:
    """Record a delivery status (only forward: queued → sent → delivered → read; or failed)."""
    msg = session.get(Message, message_id)
    if msg is None:
        raise NotFound("message not found", {"message_id": "no such message"})
    order = [MessageStatus.queued, MessageStatus.sent, MessageStatus.delivered, MessageStatus.read]
    if status != MessageStatus.failed and msg.status in order and status in order \
            and order.index(status) <= order.index(msg.status):
        return msg
    msg.status = status
    msg.error = error
    msg.status_at = utcnow()
    session.flush()
    conv = session.get(Conversation, msg.conversation_id)
    publish_to_conversation(session, conv, realtime.MESSAGE_STATUS, message_status(msg))
    return msg
