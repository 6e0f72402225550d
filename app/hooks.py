"""Domain events inside a transaction: an order is recorded, a message arrives…

Subscribers run in the same session and transaction as the action that fired the event, so a
retag or a commission entry lands with the order or not at all. Areas subscribe in their
``init_app``; an action calls ``fire``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

ORDER_RECORDED = "order.recorded"          # kwargs: order_ids, customer_ids
MESSAGE_RECEIVED = "message.received"      # kwargs: message_id, customer_id
MESSAGE_SENT = "message.sent"              # kwargs: message_id, customer_id, clerk_id, source (clerk, task, campaign, automation)
FOLLOWER_CHANGED = "follower.changed"      # kwargs: customer_id, clerk_id
# A send held for quiet hours went (sent=True) or was called off (sent=False, with the reason).
OUTBOUND_SETTLED = "outbound.settled"      # kwargs: message_id, customer_id, client_id, sent, reason

Subscriber = Callable[..., Any]


def init_app(app: Flask) -> None:
    app.extensions["daogou.hooks"] = {}


def subscribe(app: Flask, name: str, fn: Subscriber) -> None:
    subs = app.extensions["daogou.hooks"].setdefault(name, [])
    if fn not in subs:
        subs.append(fn)


def fire(session: Session, name: str, **kwargs: Any) -> None:
    """Call every subscriber of ``name`` with the session and the event's fields."""
    if not has_app_context():
        return
    for fn in current_app.extensions["daogou.hooks"].get(name, []):
        fn(session, **kwargs)
