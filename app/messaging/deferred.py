"""Sends held for quiet hours: released when they end, under the contact policy of that moment.

A marketing send that falls in quiet hours (a campaign at 22:00, a task deadline at 23:59, a
birthday automation, a clerk's first message at 22:30) is written at once as a ``scheduled``
message with a ``deferred`` outbox row, so nothing is lost and the clerk sees "已顺延至 09:00".
``release_due`` (a periodic job) takes the rows whose time has come, asks the whole policy again
(caps, opt-outs, duplicates and platform windows may have changed overnight), and either hands
them to the dispatcher or calls them off with the reason. ``cancel_scheduled`` lets the clerk
call one off before it goes. Either way ``hooks.OUTBOUND_SETTLED`` tells the areas that planned
the send (campaign targets, task targets, automation runs) what became of it.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db, hooks, realtime
from app.contact.service import decide_many
from app.errors import Conflict, NotFound
from app.messaging.actions import mark_contacted
from app.messaging.payloads import message_status
from models import Conversation, Message, MessageStatus, OutboxEntry, OutboxState, Staff, utcnow

log = logging.getLogger("daogou.deferred")
BATCH = 500


def release_due(now: dt.datetime | None = None) -> dict[str, int]:
    """Release (or call off) every deferred send whose time has come; safe to run concurrently."""
    counts = {"released": 0, "cancelled": 0, "deferred": 0}
    database = db.get_db()
    while True:
        at = now or utcnow()
        with database.transaction() as s:
            due = (select(OutboxEntry).where(OutboxEntry.state == OutboxState.deferred,
                                             OutboxEntry.next_attempt_at <= at)
                   .order_by(OutboxEntry.next_attempt_at, OutboxEntry.id).limit(BATCH))
            if database.dialect == "postgresql":
                due = due.with_for_update(skip_locked=True)
            entries = list(s.scalars(due))
            if not entries:
                break
            _settle_batch(s, entries, at, counts)
    if any(counts.values()):
        log.info("deferred sends settled", extra=counts)
    return counts


def _settle_batch(s: Session, entries: list[OutboxEntry], now: dt.datetime, counts: dict[str, int]) -> None:
    # One policy call per kind of send; a customer appears once per call (a second deferred send
    # to the same customer waits for the next round, so caps see the first one).
    groups: dict[tuple[Any, ...], dict[int, OutboxEntry]] = {}
    for e in entries:
        key = (e.purpose, e.channel, bool(e.payload.get("mass")), e.payload.get("source", "clerk"))
        groups.setdefault(key, {}).setdefault(e.customer_id, e)
    for (purpose, channel, mass, source), by_customer in groups.items():
        texts = {cid: e.payload.get("body", "") for cid, e in by_customer.items() if e.payload.get("type") == "text"}
        decisions = decide_many(s, list(by_customer), purpose=purpose, now=now, channel=channel,
                                mass=mass, source=source, texts=texts)
        for cid, entry in by_customer.items():
            d = decisions[cid]
            if d.allowed:
                _release(s, entry, now)
                counts["released"] += 1
            elif d.deferred and d.until:
                entry.next_attempt_at = d.until
                counts["deferred"] += 1
            else:
                _call_off(s, entry, f"顺延后未发送：{d.reason}"[:255])
                counts["cancelled"] += 1
    s.flush()


def _release(s: Session, entry: OutboxEntry, now: dt.datetime) -> None:
    msg = s.get(Message, entry.message_id)
    entry.state, entry.next_attempt_at = OutboxState.pending, now
    msg.status, msg.status_at = MessageStatus.queued, now
    msg.created_at = now  # the chat shows it when it actually went
    s.flush()
    conv = s.get(Conversation, msg.conversation_id)
    realtime.publish(s, realtime.clerk_room(conv.clerk_id), realtime.MESSAGE_STATUS, message_status(msg))
    mark_contacted(s, msg, entry)
    hooks.fire(s, hooks.OUTBOUND_SETTLED, message_id=msg.id, customer_id=entry.customer_id,
               client_id=msg.client_id, sent=True, reason=None)


def _call_off(s: Session, entry: OutboxEntry, reason: str) -> None:
    msg = s.get(Message, entry.message_id)
    entry.state, entry.last_error = OutboxState.cancelled, reason
    msg.status, msg.error, msg.status_at = MessageStatus.cancelled, reason, utcnow()
    s.flush()
    conv = s.get(Conversation, msg.conversation_id)
    realtime.publish(s, realtime.clerk_room(conv.clerk_id), realtime.MESSAGE_STATUS, message_status(msg))
    hooks.fire(s, hooks.OUTBOUND_SETTLED, message_id=msg.id, customer_id=entry.customer_id,
               client_id=msg.client_id, sent=False, reason=reason)


def cancel_scheduled(s: Session, staff: Staff, message_id: int) -> Message:
    """The clerk calls off a message still waiting for quiet hours to end."""
    msg = s.get(Message, message_id)
    conv = s.get(Conversation, msg.conversation_id) if msg else None
    if msg is None or conv is None or conv.clerk_id != staff.id:  # another clerk's: not theirs to see
        raise NotFound("message not found", {"message_id": "no such message"})
    entry = s.scalar(select(OutboxEntry).where(OutboxEntry.message_id == message_id).with_for_update())
    if msg.status == MessageStatus.cancelled:
        return msg
    if msg.status != MessageStatus.scheduled or entry is None or entry.state != OutboxState.deferred:
        raise Conflict("already sent", {"message_id": "this message has already gone out"})
    _call_off(s, entry, "导购已取消")
    return msg
