"""Recording what a send did: each outbox row's outcome, and its message's status with it.

An outcome is written only while the dispatcher's batch still holds the row's claim (a sweep
may have taken it back). A success marks the row ``sent`` and its message sent or delivered; a
retryable failure puts the row back to ``pending`` after ``backoff``; a refusal, or too many
tries, makes it ``dead`` and tells the clerk why; a send that may have happened is ``unknown``;
a send out of the reply window moves to the account's fallback channel.
"""
from __future__ import annotations

import datetime as dt
import logging
import random
from typing import Any

from flask import current_app
from sqlalchemy import case, insert, select, update
from sqlalchemy.orm import Session

from app import db
from app.channels.claims import Claimed
from app.i18n import t
from app.messaging.actions import address_for, set_message_status
from connectors.base import Connector, ConnectorError, SendResult
from models import (Conversation, CustomerOptOut, Message, MessageStatus, OutboxEntry, OutboxState,
                    utcnow)

log = logging.getLogger("daogou.outbox")

MAX_ATTEMPTS = 8            # 5 s … 10 min apart: together they outlast a 10-minute outage
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 3600.0


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before try ``attempts + 1``: doubling from 5 s, capped, with jitter (½…1×)."""
    base = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return base * (0.5 + 0.5 * (rng or random).random())


def settle_sent_many(unrecorded: list[tuple[Claimed, SendResult]]) -> None:
    """Record many successful sends in one transaction (set-based), then empty the list."""
    if not unrecorded:
        return
    results = {item.id: result for item, result in unrecorded}
    table = OutboxEntry.__table__
    with db.transaction() as s:
        at = utcnow()
        # One statement for the chunk: only rows this batch still holds (a sweep may have taken
        # some) are settled, and RETURNING says which, atomically with the write.
        still_ours = set(s.scalars(
            update(table).where(table.c.id.in_(results), table.c.state == OutboxState.sending,
                                table.c.claimed_by.isnot(None))
            .values(state=OutboxState.sent, sent_at=at, last_error=None, claimed_by=None,
                    provider_message_id=case({i: r.provider_message_id for i, r in results.items()},
                                             value=table.c.id))
            .returning(table.c.id)))
        if still_ours:
            message_ids = {item.message_id: results[item.id].delivered for item, _ in unrecorded
                           if item.id in still_ours and item.message_id}
            mark_messages_sent(s, message_ids)
    unrecorded.clear()


def mark_messages_sent(s: Session, delivered_by_id: dict[int, bool]) -> None:
    """``set_message_status`` for many messages at once: forward-only, set-based, with one
    ``message.status`` event each (recorded like ``realtime.publish``, emitted after commit)."""
    from app import realtime
    from app.db import after_commit
    from app.messaging.payloads import message_status
    from models import ConsoleEvent

    if not delivered_by_id:
        return
    # Plain rows, not entities: only the columns the status event needs.
    rows = s.execute(select(Message.id, Message.conversation_id, Message.client_id, Message.status, Message.error,
                            Conversation.clerk_id)
                     .join(Conversation, Conversation.id == Message.conversation_id)
                     .where(Message.id.in_(delivered_by_id))).all()
    at = utcnow()
    by_status: dict[MessageStatus, list[int]] = {}
    events = []
    for msg in rows:
        new = MessageStatus.delivered if delivered_by_id[msg.id] else MessageStatus.sent
        if msg.status not in (MessageStatus.queued, MessageStatus.sent) or msg.status == new:
            continue
        by_status.setdefault(new, []).append(msg.id)
        events.append({"room": realtime.clerk_room(msg.clerk_id), "name": realtime.MESSAGE_STATUS,
                       "payload": {**message_status(msg), "status": new.value, "error": None}, "created_at": at})
    if not events:
        return
    table = Message.__table__
    for new, ids in by_status.items():  # at most two statements: delivered, sent
        s.execute(update(table).where(table.c.id.in_(ids)).values(status=new, error=None, status_at=at))
    event_ids = list(s.scalars(insert(ConsoleEvent).returning(ConsoleEvent.id, sort_by_parameter_order=True),
                               events))

    def emit() -> None:
        for event_id, e in zip(event_ids, events):
            realtime.socketio.emit(e["name"], {"event_id": event_id, **e["payload"]}, to=e["room"],
                                   namespace=realtime.NAMESPACE)
    after_commit(s, emit)


def _finish(s: Session, item: Claimed, **values: Any) -> OutboxEntry | None:
    """Write an outcome only if this batch still holds the claim (a sweep may have taken it)."""
    done = s.execute(update(OutboxEntry).where(OutboxEntry.id == item.id, OutboxEntry.claimed_by.isnot(None),
                                               OutboxEntry.state == OutboxState.sending)
                     .values(claimed_by=None, **values))
    return s.get(OutboxEntry, item.id) if done.rowcount else None


def settle_sent(item: Claimed, result: SendResult) -> str:
    with db.transaction() as s:
        if _finish(s, item, state=OutboxState.sent, sent_at=utcnow(), last_error=None,
                   provider_message_id=result.provider_message_id) and item.message_id:
            set_message_status(s, item.message_id,
                               MessageStatus.delivered if result.delivered else MessageStatus.sent)
    return OutboxState.sent.value


def release(item: Claimed, wait: float, counted: bool = True, error: str | None = None) -> str:
    """Put the row back to ``pending`` for ``wait`` seconds."""
    values: dict[str, Any] = {"state": OutboxState.pending,
                              "next_attempt_at": utcnow() + dt.timedelta(seconds=wait)}
    if not counted:  # deferred by our own rate limit: not a try
        values["attempts"] = OutboxEntry.attempts - 1
    if error:
        values["last_error"] = error[:255]
    with db.transaction() as s:
        _finish(s, item, **values)
    return OutboxState.pending.value


def settle_dead(item: Claimed, reason: str, clerk_reason: str) -> str:
    with db.transaction() as s:
        if _finish(s, item, state=OutboxState.dead, last_error=reason[:255]) and item.message_id:
            set_message_status(s, item.message_id, MessageStatus.failed, clerk_reason[:255])
    log.warning("outbox row dead", extra={"outbox_id": item.id, "channel": item.channel, "reason": reason})
    return OutboxState.dead.value


def settle_unknown(item: Claimed, reason: str) -> str:
    with db.transaction() as s:
        if _finish(s, item, state=OutboxState.unknown, last_error=reason[:255]) and item.message_id:
            msg = s.get(Message, item.message_id)
            msg.error = t("channels.error.unknown")[:255]
    log.warning("outbox row outcome unknown", extra={"outbox_id": item.id, "reason": reason})
    return OutboxState.unknown.value


def settle_error(item: Claimed, connector: Connector, exc: ConnectorError) -> str:
    """A failed send: fall back, mark unknown, retry later, or give up, as the error says."""
    reason = f"{exc.code}: {exc}" if exc.code is not None else str(exc)
    if exc.fallback:
        return _fall_back(item, connector, reason)
    if exc.maybe_sent and not connector.capabilities.idempotent_sends:
        return settle_unknown(item, reason)
    max_attempts = current_app.config.get("OUTBOX_MAX_ATTEMPTS", MAX_ATTEMPTS)
    if exc.retryable and item.attempts < max_attempts:
        wait = max(exc.retry_after or 0.0, backoff(item.attempts))
        return release(item, wait, error=reason)
    key = "channels.error.gave_up" if exc.retryable else "channels.error.refused"
    return settle_dead(item, reason, t(key, attempts=item.attempts, reason=str(exc)))


def _fall_back(item: Claimed, connector: Connector, reason: str) -> str:
    """Out of the reply window or quota: queue the same message on the account's fallback channel."""
    fallback = connector.setting("fallback_channel")
    with db.transaction() as s:
        recipient = address_for(s, item.customer_id, fallback) if fallback and item.customer_id else None
        opted = fallback and item.customer_id and s.scalar(select(CustomerOptOut.id).where(
            CustomerOptOut.customer_id == item.customer_id, CustomerOptOut.channel == fallback))
        entry = _finish(s, item, state=OutboxState.dead, last_error=f"fallback: {reason}"[:255])
        if entry is None:
            return OutboxState.dead.value
        if recipient is None or opted:
            if item.message_id:
                set_message_status(s, item.message_id, MessageStatus.failed,
                                   t("channels.error.out_of_window", reason=reason)[:255])
            return OutboxState.dead.value
        address, account = recipient
        key = f"{entry.idempotency_key}>{fallback}"[:128]
        if s.scalar(select(OutboxEntry.id).where(OutboxEntry.idempotency_key == key)) is None:
            s.add(OutboxEntry(idempotency_key=key, message_id=entry.message_id, customer_id=entry.customer_id,
                              channel=fallback, account=account, recipient=address, purpose=entry.purpose,
                              payload=entry.payload, state=OutboxState.pending, next_attempt_at=utcnow()))
    return "fallback"
