"""Where a message from a customer no clerk owns goes: the store's pool or head office's.

The owner and the clerk a channel names come first (``app.channels.inbound``); what is left
lands here. The store is the one the customer buys at (their last paid order's store), else
their home store, else the store the channel account is set up for (the brand's code printed in
that shop). A brand may have the store's pool hand each new conversation to one of that
store's clerks at once, round-robin or to whoever has the fewest open conversations.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Conversation, Customer, Order, Role, Staff, Store
from models.commerce import PAID_STATUSES

ASSIGN_MODES = ("claim", "round_robin", "least_open")
DEFAULT_CAP = 30


@dataclass(frozen=True)
class Destination:
    store_id: int | None            # the pool's store; None is head office's pool
    clerk_id: int | None = None     # set when the pool hands it to a clerk at once


def destination(s: Session, customer_id: int, account_settings: dict[str, Any]) -> Destination:
    pooled = s.execute(select(Conversation.store_id).where(
        Conversation.customer_id == customer_id, Conversation.clerk_id.is_(None))).first()
    if pooled is not None:  # already waiting in a pool: stay there, in one thread
        return Destination(pooled[0])
    store_id = customer_store(s, customer_id) or _account_store(s, account_settings)
    mode = account_settings.get("pool_assign") or "claim"
    if store_id is None or mode == "claim":
        return Destination(store_id)
    cap = _cap(account_settings.get("pool_cap"))
    return Destination(store_id, pick_clerk(s, store_id, mode, cap))


def is_waiting_in_pool(s: Session, customer_id: int) -> bool:
    return s.scalar(select(Conversation.id).where(Conversation.customer_id == customer_id,
                                                  Conversation.clerk_id.is_(None))) is not None


def customer_store(s: Session, customer_id: int) -> int | None:
    """The store the customer buys at: their last paid order's, else their home store."""
    last_paid = s.scalar(select(Order.store_id).where(
        Order.customer_id == customer_id, Order.status.in_(PAID_STATUSES), Order.store_id.is_not(None))
        .order_by(Order.paid_at.desc(), Order.id.desc()).limit(1))
    return last_paid or s.scalar(select(Customer.home_store_id).where(Customer.id == customer_id))


def _account_store(s: Session, settings: dict[str, Any]) -> int | None:
    ref = settings.get("store")
    if not ref:
        return None
    return s.scalar(select(Store.id).where(Store.external_id == str(ref)))


def _cap(value: Any) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return DEFAULT_CAP


def pick_clerk(s: Session, store_id: int, mode: str, cap: int) -> int | None:
    """The store's clerk to hand a new conversation to, or None (all at their cap: it waits
    in the pool). ``least_open``: fewest conversations waiting for their answer;
    ``round_robin``: the one given a conversation longest ago."""
    clerks = list(s.scalars(select(Staff.id).where(Staff.store_id == store_id, Staff.role == Role.clerk,
                                                   Staff.active.is_(True)).order_by(Staff.id)))
    if not clerks:
        return None
    open_counts = dict(s.execute(select(Conversation.clerk_id, func.count()).where(
        Conversation.clerk_id.in_(clerks), Conversation.waiting_since.is_not(None))
        .group_by(Conversation.clerk_id)).all())
    free = [c for c in clerks if open_counts.get(c, 0) < cap]
    if not free:
        return None
    if mode == "least_open":
        return min(free, key=lambda c: (open_counts.get(c, 0), c))
    last_given = dict(s.execute(select(Conversation.clerk_id, func.max(Conversation.assigned_at)).where(
        Conversation.clerk_id.in_(free), Conversation.assigned_at.is_not(None))
        .group_by(Conversation.clerk_id)).all())
    return min(free, key=lambda c: (last_given.get(c) is not None, last_given.get(c) or 0, c))
