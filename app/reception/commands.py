"""``flask reception pool-unrouted``: the messages kept as ``unrouted`` before pools existed
become pool conversations (or go to their owner, if they have one by now), oldest first."""
from __future__ import annotations

import datetime as dt

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from app import db
from app.channels.accounts import registry
from app.channels.inbound import apply_event
from connectors.base import ConnectorError, InboundEvent
from models import InboundReceipt


def pool_unrouted(batch: int = 200) -> dict[str, int]:
    """Re-route every ``unrouted`` receipt once; return counts by new outcome. Safe to run
    again: each receipt changes outcome in the transaction that stores its message, and a
    message is unique by its channel id."""
    counts: dict[str, int] = {}
    last_id = 0
    while True:
        with db.transaction() as s:
            rows = list(s.scalars(select(InboundReceipt).where(InboundReceipt.outcome == "unrouted",
                                                               InboundReceipt.id > last_id)
                                  .order_by(InboundReceipt.id).limit(batch)))
            for receipt in rows:
                last_id = receipt.id
                outcome = _reroute(s, receipt)
                counts[outcome] = counts.get(outcome, 0) + 1
        if len(rows) < batch:
            return counts


def _reroute(s, receipt: InboundReceipt) -> str:
    kept = receipt.payload or {}
    try:
        connector = registry().connector(receipt.channel, receipt.account)
    except ConnectorError:
        return "account gone"  # stays unrouted: the account it came on is no longer configured
    event = InboundEvent(receipt.kind, str(kept.get("sender") or "-"), receipt.external_id,
                         type=str(kept.get("type") or "text"), body=str(kept.get("body") or ""),
                         payload=kept.get("payload") or {}, at=_at(kept.get("at")) or receipt.created_at)
    receipt.outcome = apply_event(s, connector, event) or "stored"
    return receipt.outcome


def _at(raw: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def init_app(app: Flask) -> None:
    group = AppGroup("reception", help="Pools of conversations no clerk owns yet (待接待).")

    @group.command("pool-unrouted")
    def pool_unrouted_command() -> None:
        """Put the messages kept as unrouted (before pools) into pool conversations, oldest first."""
        with app.app_context():
            counts = pool_unrouted()
        click.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing was unrouted")

    app.cli.add_command(group)
