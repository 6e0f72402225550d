"""The outbox dispatcher: claim due rows, send each through its connector, record the outcome.

Nothing is lost and nothing is sent twice:
- every outbound message is an ``OutboxEntry`` row written in the sender's transaction;
- a batch is claimed in one UPDATE (state ``sending``, a batch token in ``claimed_by``) and its
  rows are sent one by one in id order, each outcome committed before the next send. So after a
  crash, the first unsettled row of an expired batch is the only one that may have gone out; the
  others were never tried and go back to ``pending``;
- a row that may have been sent (read timeout, crash mid-send) becomes ``unknown`` unless the
  connector can settle it (``query_status``) or the vendor de-duplicates on our idempotency key;
  it is never re-sent blindly. A person settles the rest with ``flask outbox resolve``;
- retryable failures wait ``backoff`` (exponential with jitter) and give up after
  ``OUTBOX_MAX_ATTEMPTS`` tries: the row is ``dead`` and the clerk sees why (message.error).
"""
from __future__ import annotations

import datetime as dt
import logging
import random
import secrets
from dataclasses import dataclass
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session

from app import db
from app.channels.accounts import registry
from app.channels.ratelimit import LocalRateLimiter, RedisRateLimiter
from app.i18n import t
from app.messaging.actions import address_for, set_message_status
from connectors.base import Connector, ConnectorError, Outbound, SendResult
from connectors.registry import channel_label
from models import (Conversation, CustomerOptOut, Direction, Message, MessageStatus, OutboxEntry, OutboxState,
                    utcnow)

log = logging.getLogger("daogou.outbox")

MAX_ATTEMPTS = 8            # 5 s … 10 min apart: together they outlast a 10-minute outage
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 3600.0
CLAIM_SECONDS = 120         # longer than any connector's HTTP timeout, so a live send is never stolen
BATCH_SIZE = 100


def now() -> dt.datetime:
    """Business time (``models.clock``): tests move it to pass outages in no time."""
    return utcnow()


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before try ``attempts + 1``: doubling from 5 s, capped, with jitter (½…1×)."""
    base = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return base * (0.5 + 0.5 * (rng or random).random())


def _limiter() -> Any:
    ext = current_app.extensions.setdefault("daogou.ratelimit", {})
    if "limiter" not in ext:
        redis = registry().redis()
        ext["limiter"] = RedisRateLimiter(redis) if redis is not None else LocalRateLimiter()
    return ext["limiter"]


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


# claiming -------------------------------------------------------------------------------------
def claim(limit: int = BATCH_SIZE, entry_id: int | None = None) -> tuple[str, list[Claimed]]:
    """Claim up to ``limit`` due rows (or the one ``entry_id`` if it is due) for this batch."""
    database = db.get_db()
    token = secrets.token_hex(8)
    at = now()
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
                           _outbound(r, context.get((r.customer_id, r.channel))),
                           (r.customer_id, r.channel) in opted_out) for r in rows]
    return token, claimed


def _outbound(r: Any, facts: dict[str, Any] | None) -> Outbound:
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
    day_ago = now() - dt.timedelta(days=1)
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


# sending --------------------------------------------------------------------------------------
def dispatch_entry(entry_id: int) -> str:
    """Send one outbox row if it is due (the job enqueued after ``send_message`` commits)."""
    _, batch = claim(1, entry_id)
    if not batch:
        return "skipped"
    return _send_batch(batch)[0]


def dispatch_due(limit: int = BATCH_SIZE) -> int:
    """Claim and send one batch of due rows; return how many were claimed."""
    _, batch = claim(limit)
    _send_batch(batch)
    return len(batch)


# Sends to an idempotent vendor recorded per transaction: a whole claimed batch, so a batch costs
# two write transactions (claim, settle); a crash before the settle only causes harmless resends.
SETTLE_CHUNK = 200


def _send_batch(batch: list[Claimed]) -> list[str]:
    outcomes = []
    unrecorded: list[tuple[Claimed, SendResult]] = []
    for item in batch:
        if item.opted_out:
            outcomes.append(_settle_dead(item, "opted_out", t("channels.error.opted_out")))
            continue
        outcomes.append(_send_one(item, unrecorded))
        if len(unrecorded) >= SETTLE_CHUNK:
            _settle_sent_many(unrecorded)
    _settle_sent_many(unrecorded)
    return outcomes


def _opted_out(s: Session, rows: list[Any]) -> set[tuple[int | None, str]]:
    """A customer who said 退订 after the message was queued is not sent it (read in the claim's
    transaction: no second connection per batch)."""
    customers = {r.customer_id for r in rows if r.customer_id is not None}
    if not customers:
        return set()
    return {(c, ch) for c, ch in s.execute(
        select(CustomerOptOut.customer_id, CustomerOptOut.channel)
        .where(CustomerOptOut.customer_id.in_(customers)))}


def _send_one(item: Claimed, unrecorded: list[tuple[Claimed, SendResult]]) -> str:
    """Send one row. A success at a vendor that de-duplicates on our key joins ``unrecorded``
    and is written with others (a crash before that only causes a harmless resend); any other
    outcome is written before the next send, after the unrecorded ones, so that a crash leaves
    at most the row in flight unsettled."""
    try:
        connector = registry().connector(item.channel, item.account)
    except ConnectorError as exc:
        return _settle_dead(item, str(exc), t("channels.error.no_account", channel=channel_label(item.channel)))
    idempotent = connector.capabilities.idempotent_sends
    if not idempotent:
        _settle_sent_many(unrecorded)
    per_second = float(connector.setting("rate_per_second", connector.capabilities.sends_per_second))
    wait = _limiter().acquire(f"{item.channel}:{connector.account}", per_second)
    if wait > 0:
        return _release(item, wait, counted=False)
    try:
        result = connector.send(item.outbound)
    except ConnectorError as exc:
        return _settle_error(item, connector, exc)
    if idempotent:
        unrecorded.append((item, result))
        return OutboxState.sent.value
    return _settle_sent(item, result)


def _settle_sent_many(unrecorded: list[tuple[Claimed, SendResult]]) -> None:
    """Record many successful sends in one transaction (set-based), then empty the list."""
    if not unrecorded:
        return
    results = {item.id: result for item, result in unrecorded}
    table = OutboxEntry.__table__
    with db.transaction() as s:
        at = now()
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


def _settle_sent(item: Claimed, result: SendResult) -> str:
    with db.transaction() as s:
        if _finish(s, item, state=OutboxState.sent, sent_at=now(), last_error=None,
                   provider_message_id=result.provider_message_id) and item.message_id:
            set_message_status(s, item.message_id,
                               MessageStatus.delivered if result.delivered else MessageStatus.sent)
    return OutboxState.sent.value


def _release(item: Claimed, wait: float, counted: bool = True, error: str | None = None) -> str:
    values: dict[str, Any] = {"state": OutboxState.pending,
                              "next_attempt_at": now() + dt.timedelta(seconds=wait)}
    if not counted:  # deferred by our own rate limit: not a try
        values["attempts"] = OutboxEntry.attempts - 1
    if error:
        values["last_error"] = error[:255]
    with db.transaction() as s:
        _finish(s, item, **values)
    return OutboxState.pending.value


def _settle_dead(item: Claimed, reason: str, clerk_reason: str) -> str:
    with db.transaction() as s:
        if _finish(s, item, state=OutboxState.dead, last_error=reason[:255]) and item.message_id:
            set_message_status(s, item.message_id, MessageStatus.failed, clerk_reason[:255])
    log.warning("outbox row dead", extra={"outbox_id": item.id, "channel": item.channel, "reason": reason})
    return OutboxState.dead.value


def _settle_unknown(item: Claimed, reason: str) -> str:
    with db.transaction() as s:
        if _finish(s, item, state=OutboxState.unknown, last_error=reason[:255]) and item.message_id:
            msg = s.get(Message, item.message_id)
            msg.error = t("channels.error.unknown")[:255]
    log.warning("outbox row outcome unknown", extra={"outbox_id": item.id, "reason": reason})
    return OutboxState.unknown.value


def _settle_error(item: Claimed, connector: Connector, exc: ConnectorError) -> str:
    reason = f"{exc.code}: {exc}" if exc.code is not None else str(exc)
    if exc.fallback:
        return _fall_back(item, connector, reason)
    if exc.maybe_sent and not connector.capabilities.idempotent_sends:
        return _settle_unknown(item, reason)
    max_attempts = current_app.config.get("OUTBOX_MAX_ATTEMPTS", MAX_ATTEMPTS)
    if exc.retryable and item.attempts < max_attempts:
        wait = max(exc.retry_after or 0.0, backoff(item.attempts))
        return _release(item, wait, error=reason)
    key = "channels.error.gave_up" if exc.retryable else "channels.error.refused"
    return _settle_dead(item, reason, t(key, attempts=item.attempts, reason=str(exc)))


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
                              payload=entry.payload, state=OutboxState.pending, next_attempt_at=now()))
    return "fallback"


# the sweep ------------------------------------------------------------------------------------
def recover_expired_claims() -> dict[str, int]:
    """Settle batches whose dispatcher died: never-tried rows back to pending, the in-flight one
    to ``sent``/``pending`` if the connector can tell, else ``unknown``."""
    counts = {"pending": 0, "unknown": 0, "sent": 0}
    cutoff = now() - dt.timedelta(seconds=CLAIM_SECONDS)
    with db.transaction() as s:
        rows = s.scalars(select(OutboxEntry).where(OutboxEntry.state == OutboxState.sending,
                                                   OutboxEntry.claimed_at < cutoff)
                         .order_by(OutboxEntry.claimed_by, OutboxEntry.id)).all()
        first_of_batch: dict[str | None, int] = {}
        for r in rows:
            first_of_batch.setdefault(r.claimed_by, r.id)
        in_flight = []
        for r in rows:
            if r.id != first_of_batch[r.claimed_by]:
                r.state, r.claimed_by, r.attempts = OutboxState.pending, None, max(0, r.attempts - 1)
                counts["pending"] += 1
            else:
                in_flight.append(r.id)
    for entry_id in in_flight:
        counts[_settle_in_flight(entry_id)] += 1
    return counts


def _settle_in_flight(entry_id: int) -> str:
    with db.get_db().Session() as s:
        r = s.get(OutboxEntry, entry_id)
        item = Claimed(r.id, r.message_id, r.customer_id, r.channel, r.account, r.attempts, _outbound(r, None))
        provider_id = r.provider_message_id
    try:
        connector = registry().connector(item.channel, item.account)
        verdict = "pending" if connector.capabilities.idempotent_sends else \
            connector.query_status(item.outbound, provider_id)
    except ConnectorError:
        verdict = None
    if verdict == "sent":
        _settle_sent(item, SendResult(provider_message_id=provider_id))
        return "sent"
    if verdict in ("pending", "not_sent"):
        _release(item, 0)
        return "pending"
    _settle_unknown(item, "dispatcher stopped during the send")
    return "unknown"


def resolve_unknown(limit: int = 100) -> int:
    """Ask connectors that can tell whether ``unknown`` sends went out; return how many settled."""
    with db.get_db().Session() as s:
        rows = s.scalars(select(OutboxEntry).where(OutboxEntry.state == OutboxState.unknown)
                         .order_by(OutboxEntry.id).limit(limit)).all()
        items = [(r.id, r.channel, r.account, r.provider_message_id, _outbound(r, None)) for r in rows]
    settled = 0
    for entry_id, channel, account, provider_id, outbound in items:
        try:
            verdict = registry().connector(channel, account).query_status(outbound, provider_id)
        except ConnectorError:
            continue
        if verdict in ("sent", "not_sent"):
            resolve(entry_id, "sent" if verdict == "sent" else "resend")
            settled += 1
    return settled


def resolve(entry_id: int, verdict: str) -> str:
    """Settle an ``unknown`` (or dead) row by hand: ``sent``, ``resend`` or ``fail``."""
    with db.transaction() as s:
        r = s.get(OutboxEntry, entry_id)
        if r is None or r.state not in (OutboxState.unknown, OutboxState.dead):
            return "unchanged"
        if verdict == "sent":
            r.state, r.sent_at = OutboxState.sent, now()
            if r.message_id:
                set_message_status(s, r.message_id, MessageStatus.sent)
        elif verdict == "resend":
            r.state, r.next_attempt_at, r.attempts = OutboxState.pending, now(), 0
            if r.message_id:
                s.get(Message, r.message_id).error = None
        else:
            r.state = OutboxState.dead
            if r.message_id:
                set_message_status(s, r.message_id, MessageStatus.failed, t("channels.error.unknown_failed"))
        return r.state.value


def sweep_outbox(max_batches: int = 20) -> dict[str, int]:
    """The periodic job: recover dead dispatchers' claims, settle unknowns, send what is due."""
    counts = recover_expired_claims()
    counts["resolved"] = resolve_unknown()
    sent = 0
    for _ in range(max_batches):
        n = dispatch_due()
        sent += n
        if n < BATCH_SIZE:
            break
    counts["dispatched"] = sent
    return counts


def outbox_counts(session: Session) -> dict[str, int]:
    return {state.value: n for state, n in session.execute(
        select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state))}


def init_app(app: Flask) -> None:
    from app import jobs

    jobs.runner(app).every(app.config.get("OUTBOX_SWEEP_SECONDS", 5), sweep_outbox, name="outbox.sweep")

    group = AppGroup("outbox", help="Inspect and settle the outbox.")

    @group.command("status")
    def status_cmd() -> None:
        """Count outbox rows by state."""
        with db.get_db(app).Session() as s:
            for state, n in sorted(outbox_counts(s).items()):
                click.echo(f"{state:<8} {n}")

    @group.command("sweep")
    def sweep_cmd() -> None:
        """Run one sweep now (recover claims, settle unknowns, dispatch due rows)."""
        click.echo(sweep_outbox())

    @group.command("dispatch")
    @click.option("--batches", default=1000, help="stop after this many batches")
    def dispatch_cmd(batches: int) -> None:
        """Dispatch due rows until none are left."""
        total = 0
        for _ in range(batches):
            n = dispatch_due()
            total += n
            if n == 0:
                break
        click.echo(f"dispatched {total}")

    @group.command("resolve")
    @click.argument("entry_id", type=int)
    @click.argument("verdict", type=click.Choice(["sent", "resend", "fail"]))
    def resolve_cmd(entry_id: int, verdict: str) -> None:
        """Settle an outbox row whose send may or may not have happened."""
        click.echo(resolve(entry_id, verdict))

    app.cli.add_command(group)


