"""Claiming outbox rows: take a batch of due rows for one dispatcher and read what sending needs.

A batch is claimed in one UPDATE (state ``sending``, a batch token in ``claimed_by``, one more
attempt counted) in the same transaction that reads, per (customer, channel), the platform-cap
facts a connector checks (the last inbound message and what was sent since and in the last
day) and whether the customer has opted out since the message was queued. Nothing here sends.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import db
from connectors.base import Outbound
from models import Conversation, CustomerOptOut, Direction, Message, OutboxEntry, OutboxState, utcnow

BATCH_SIZE = 100


@dataclass
class Claimed:
    """What the dispatcher needs of a claimed row, detached from any session."""

    id: int
    message_id: int | None
    customer_id: int | None
    channel: str
    account: str | None
    attempts: int
    outbound: Outbound
    opted_out: bool = False  # the customer said 退订 on this channel after the message was queued


def claim(limit: int = BATCH_SIZE, entry_id: int | None = None) -> tuple[str, list[Claimed]]:
    """Claim up to ``limit`` due rows (or the one ``entry_id`` if it is due) for this batch."""
    database = db.get_db()
    token = secrets.token_hex(8)
    at = utcnow()
    with database.transaction() as s:
        due = select(OutboxEntry.id).where(OutboxEntry.state == OutboxState.pending,
                                           OutboxEntry.next_attempt_at <= at)
        if entry_id is not None:
            due = due.where(OutboxEntry.id == entry_id)
        due = due.order_by(OutboxEntry.next_attempt_at, OutboxEntry.id).limit(limit)
        if database.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(s.scalars(due))
        if not ids:
            return token, []
        # One UPDATE … RETURNING claims the rows and reads back only what a send needs (no ORM
        # objects: loading and tracking 200 entities cost more than the claim itself).
        table = OutboxEntry.__table__
        rows = sorted(s.execute(
            update(table).where(table.c.id.in_(ids), table.c.state == OutboxState.pending)
            .values(state=OutboxState.sending, claimed_at=at, claimed_by=token, attempts=table.c.attempts + 1)
            .returning(table.c.id, table.c.message_id, table.c.customer_id, table.c.channel, table.c.account,
                       table.c.attempts, table.c.idempotency_key, table.c.recipient, table.c.payload,
                       table.c.purpose)).all(), key=lambda r: r.id)
        context = _policy_context(s, rows)
        opted_out = _opted_out(s, rows)
        claimed = [Claimed(r.id, r.message_id, r.customer_id, r.channel, r.account, r.attempts,
                           outbound_of(r, context.get((r.customer_id, r.channel))),
                           (r.customer_id, r.channel) in opted_out) for r in rows]
    return token, claimed


def outbound_of(r: Any, facts: dict[str, Any] | None) -> Outbound:
    """The connector's ``Outbound`` for an outbox row, with the platform-cap facts (if read)."""
    facts = facts or {}
    extra = dict(r.payload.get("extra") or {})
    extra["sent_since_inbound"] = facts.get("sent_since_inbound", 0)
    extra["sent_last_day"] = facts.get("sent_last_day", 0)
    if r.payload.get("clerk_ref"):
        extra["clerk_ref"] = r.payload["clerk_ref"]
    return Outbound(idempotency_key=r.idempotency_key, recipient=r.recipient,
                    type=r.payload.get("type", "text"), body=r.payload.get("body", ""),
                    purpose=r.purpose, extra=extra, last_inbound_at=facts.get("last_inbound_at"))


def _policy_context(s: Session, rows: list[Any]) -> dict[tuple[int | None, str], dict[str, Any]]:
    """Platform-cap facts for every (customer, channel) of the batch, in two grouped queries:
    the last inbound message (the OA reply window), what was sent since, and in the last day."""
    pairs = {(r.customer_id, r.channel) for r in rows if r.customer_id is not None}
    if not pairs:
        return {}
    customers = {c for c, _ in pairs}
    channels = {ch for _, ch in pairs}
    last_in = {(c, ch): at for c, ch, at in s.execute(
        select(Conversation.customer_id, Message.channel, func.max(Message.created_at))
        .join(Message, Message.conversation_id == Conversation.id)
        .where(Conversation.customer_id.in_(customers), Message.channel.in_(channels),
               Message.direction == Direction.inbound)
        .group_by(Conversation.customer_id, Message.channel))}
    day_ago = utcnow() - dt.timedelta(days=1)
    since = min([day_ago, *(at for at in last_in.values() if at is not None)])
    facts = {p: {"last_inbound_at": last_in.get(p), "sent_since_inbound": 0, "sent_last_day": 0} for p in pairs}
    for c, ch, at in s.execute(
            select(OutboxEntry.customer_id, OutboxEntry.channel, OutboxEntry.sent_at)
            .where(OutboxEntry.customer_id.in_(customers), OutboxEntry.channel.in_(channels),
                   OutboxEntry.state == OutboxState.sent, OutboxEntry.sent_at >= since)):
        f = facts.get((c, ch))
        if f is None:
            continue
        if f["last_inbound_at"] is not None and at >= f["last_inbound_at"]:
            f["sent_since_inbound"] += 1
        if at >= day_ago:
            f["sent_last_day"] += 1
    return facts


def _opted_out(s: Session, rows: list[Any]) -> set[tuple[int | None, str]]:
    """A customer who said 退订 after the message was queued is not sent it (read in the claim's
    transaction: no second connection per batch)."""
    customers = {r.customer_id for r in rows if r.customer_id is not None}
    if not customers:
        return set()
    return {(c, ch) for c, ch in s.execute(
        select(CustomerOptOut.customer_id, CustomerOptOut.channel)
        .where(CustomerOptOut.customer_id.in_(customers)))}
