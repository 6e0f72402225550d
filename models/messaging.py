"""Channel accounts, conversations, messages, the outbox and the console event log."""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BigId, str_enum, utcnow


class Direction(str, enum.Enum):
    inbound = "in"
    outbound = "out"


class MessageStatus(str, enum.Enum):
    received = "received"    # inbound
    scheduled = "scheduled"  # outbound, waiting for quiet hours to end (see the outbox row)
    cancelled = "cancelled"  # outbound, never sent: called off, or refused when it was due
    queued = "queued"        # outbound, in the outbox
    sent = "sent"            # accepted by the channel
    delivered = "delivered"  # the channel reported delivery
    read = "read"
    failed = "failed"        # dead-lettered; the reason is in ``error``


class OutboxState(str, enum.Enum):
    deferred = "deferred"    # a marketing send held until quiet hours end; policy re-checked then
    cancelled = "cancelled"  # a deferred send that was called off or refused when due
    pending = "pending"      # waiting for its next attempt
    sending = "sending"      # claimed by a dispatcher
    sent = "sent"
    unknown = "unknown"      # the send may have happened (timeout): never blindly re-sent
    dead = "dead"            # gave up after N tries; reason shown to the clerk


class ChannelAccount(Base):
    """One configured account of a channel (an OA, a WeCom corp, an SMS provider…)."""

    __tablename__ = "channel_accounts"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # secrets encrypted
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    """The thread between one customer and one clerk, across channels.

    Without a clerk it sits in a pool (待接待): the pool of ``store_id``, or head office's when
    that is empty too, until someone claims it. A customer has at most one pooled thread.
    """

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("customer_id", "clerk_id"),
        Index("ix_conversations_clerk_last", "clerk_id", "last_message_at"),
        Index("uq_conversations_pooled_customer", "customer_id", unique=True,
              sqlite_where=text("clerk_id IS NULL"), postgresql_where=text("clerk_id IS NULL")),
        Index("ix_conversations_pool", "store_id", "clerk_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))  # the pool it sits in, or came from
    assigned_at: Mapped[dt.datetime | None]  # when a clerk claimed it or was given it
    # The first inbound message nobody has answered yet (None when answered): what the
    # service figures and the escalation measure from.
    waiting_since: Mapped[dt.datetime | None]
    last_channel: Mapped[str | None] = mapped_column(String(16))
    last_message_at: Mapped[dt.datetime | None]
    last_message_preview: Mapped[str | None] = mapped_column(String(120))
    last_inbound_at: Mapped[dt.datetime | None]  # opens the channel's reply window
    unread_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    messages: Mapped[list[Message]] = relationship(back_populates="conversation")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_messages_conversation_id", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, 3))
    channel: Mapped[str] = mapped_column(String(16))
    account: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16), default="text")  # text, image, product, event
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    external_id: Mapped[str | None] = mapped_column(String(128))  # the channel's message id
    client_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # console idempotency
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    purpose: Mapped[str] = mapped_column(String(16), default="service")  # service | marketing
    status: Mapped[MessageStatus] = mapped_column(str_enum(MessageStatus, 16))
    error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status_at: Mapped[dt.datetime | None]

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class OutboxEntry(Base):
    """An outbound send, written before any attempt; the dispatcher works from these rows."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    account: Mapped[str | None] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(254))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(16), default="service")
    state: Mapped[OutboxState] = mapped_column(str_enum(OutboxState, 16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[dt.datetime | None]
    # The dispatcher batch holding the claim: after a crash, the first unsettled row of a batch
    # is the one that was in flight (maybe sent); the rest were never tried.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(255))
    provider_message_id: Mapped[str | None] = mapped_column(String(128), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class ConsoleEvent(Base):
    """Every realtime event, numbered, so a console that reconnects can ask for what it missed."""

    __tablename__ = "console_events"
    __table_args__ = (Index("ix_console_events_room_id", "room", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    room: Mapped[str] = mapped_column(String(40))  # "clerk:12", "store:3", "hq"
    name: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class InboundReceipt(Base):
    """Every inbound callback event we accepted, once: how vendor retries are recognised.

    Messages are also unique on (channel, external_id) in ``messages``; events (subscribe,
    contact changes, delivery reports) have no row of their own, so this is their memory. An
    event we could not route (no clerk yet) keeps its payload here, so it is not lost.
    """

    __tablename__ = "inbound_receipts"
    __table_args__ = (UniqueConstraint("channel", "account", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    account: Mapped[str] = mapped_column(String(64), default="")
    external_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(24))
    outcome: Mapped[str] = mapped_column(String(24))  # stored, pooled, ignored (unrouted: before pools)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ServiceWait(Base):
    """A customer waiting for an answer: opened by their first unanswered message, closed by the
    first reply a person writes. The service figures (first-response time, reply rate) and the
    escalation of long waits (manager, then head office) are read from these rows."""

    __tablename__ = "service_waits"
    __table_args__ = (Index("ix_service_waits_open", "answered_at", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # who answered (or holds it)
    channel: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime]
    answered_at: Mapped[dt.datetime | None]
    escalation: Mapped[int] = mapped_column(default=0)  # 0 none, 1 manager told, 2 head office told
