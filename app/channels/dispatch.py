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

Claiming lives in ``app.channels.claims`` and recording outcomes in ``app.channels.outcomes``;
this module sends, sweeps up after dead dispatchers, and holds the jobs and the ``flask outbox``
commands.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import db
from app.channels.accounts import registry
from app.channels.claims import BATCH_SIZE, Claimed, claim, outbound_of
from app.channels.outcomes import (release, settle_dead, settle_error, settle_sent, settle_sent_many,
                                   settle_unknown)
from app.channels.ratelimit import LocalRateLimiter, RedisRateLimiter
from app.i18n import t
from app.messaging.actions import set_message_status
from connectors.base import ConnectorError, SendResult
from connectors.registry import channel_label
from models import Message, MessageStatus, OutboxEntry, OutboxState, utcnow

CLAIM_SECONDS = 120         # longer than any connector's HTTP timeout, so a live send is never stolen


def _limiter() -> Any:
    ext = current_app.extensions.setdefault("daogou.ratelimit", {})
    if "limiter" not in ext:
        redis = registry().redis()
        ext["limiter"] = RedisRateLimiter(redis) if redis is not None else LocalRateLimiter()
    return ext["limiter"]


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
            outcomes.append(settle_dead(item, "opted_out", t("channels.error.opted_out")))
            continue
        outcomes.append(_send_one(item, unrecorded))
        if len(unrecorded) >= SETTLE_CHUNK:
            settle_sent_many(unrecorded)
    settle_sent_many(unrecorded)
    return outcomes


def _send_one(item: Claimed, unrecorded: list[tuple[Claimed, SendResult]]) -> str:
    """Send one row. A success at a vendor that de-duplicates on our key joins ``unrecorded``
    and is written with others (a crash before that only causes a harmless resend); any other
    outcome is written before the next send, after the unrecorded ones, so that a crash leaves
    at most the row in flight unsettled."""
    try:
        connector = registry().connector(item.channel, item.account)
    except ConnectorError as exc:
        return settle_dead(item, str(exc), t("channels.error.no_account", channel=channel_label(item.channel)))
    idempotent = connector.capabilities.idempotent_sends
    if not idempotent:
        settle_sent_many(unrecorded)
    per_second = float(connector.setting("rate_per_second", connector.capabilities.sends_per_second))
    wait = _limiter().acquire(f"{item.channel}:{connector.account}", per_second)
    if wait > 0:
        return release(item, wait, counted=False)
    try:
        result = connector.send(item.outbound)
    except ConnectorError as exc:
        return settle_error(item, connector, exc)
    if idempotent:
        unrecorded.append((item, result))
        return OutboxState.sent.value
    return settle_sent(item, result)


# the sweep ------------------------------------------------------------------------------------
def recover_expired_claims() -> dict[str, int]:
    """Settle batches whose dispatcher died: never-tried rows back to pending, the in-flight one
    to ``sent``/``pending`` if the connector can tell, else ``unknown``."""
    counts = {"pending": 0, "unknown": 0, "sent": 0}
    cutoff = utcnow() - dt.timedelta(seconds=CLAIM_SECONDS)
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
        item = Claimed(r.id, r.message_id, r.customer_id, r.channel, r.account, r.attempts, outbound_of(r, None))
        provider_id = r.provider_message_id
    try:
        connector = registry().connector(item.channel, item.account)
        verdict = "pending" if connector.capabilities.idempotent_sends else \
            connector.query_status(item.outbound, provider_id)
    except ConnectorError:
        verdict = None
    if verdict == "sent":
        settle_sent(item, SendResult(provider_message_id=provider_id))
        return "sent"
    if verdict in ("pending", "not_sent"):
        release(item, 0)
        return "pending"
    settle_unknown(item, "dispatcher stopped during the send")
    return "unknown"


def resolve_unknown(limit: int = 100) -> int:
    """Ask connectors that can tell whether ``unknown`` sends went out; return how many settled."""
    with db.get_db().Session() as s:
        rows = s.scalars(select(OutboxEntry).where(OutboxEntry.state == OutboxState.unknown)
                         .order_by(OutboxEntry.id).limit(limit)).all()
        items = [(r.id, r.channel, r.account, r.provider_message_id, outbound_of(r, None)) for r in rows]
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
            r.state, r.sent_at = OutboxState.sent, utcnow()
            if r.message_id:
                set_message_status(s, r.message_id, MessageStatus.sent)
        elif verdict == "resend":
            r.state, r.next_attempt_at, r.attempts = OutboxState.pending, utcnow(), 0
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
