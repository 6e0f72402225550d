"""What a clerk did with a suggestion (contacted, skipped): recorded so the ranker can learn."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.config import brand_timezone
from app.errors import Invalid
from app.scoping import get_visible_customer
from models import CustomerScore, Order, Staff, SuggestionOutcome
from models.commerce import PAID_STATUSES

OUTCOMES = ("contacted", "skipped")
OUTCOME_WINDOW_DAYS = 14  # an order this soon after a contact counts as the suggestion bought


def record_outcome(session: Session, clerk: Staff, customer_id: int, action: object,
                   now: dt.datetime) -> SuggestionOutcome:
    """Record ``action`` on today's suggestion of ``customer_id`` (a follower of ``clerk``)."""
    if action not in OUTCOMES:
        raise Invalid("invalid outcome", {"action": f"one of {', '.join(OUTCOMES)}"})
    get_visible_customer(session, clerk, customer_id)
    propensity = session.scalar(select(CustomerScore.propensity).where(CustomerScore.customer_id == customer_id))
    outcome = SuggestionOutcome(clerk_id=clerk.id, customer_id=customer_id, day=now.astimezone(brand_timezone()).date(), action=action,
                                propensity=propensity, created_at=now)
    session.add(outcome)
    session.flush()
    return outcome


def mark_bought(session: Session, order_ids: list[int], customer_ids: list[int]) -> int:
    """Link newly paid orders to the suggestions a clerk acted on shortly before (one UPDATE)."""
    earliest = session.scalar(select(func.min(Order.paid_at)).where(
        Order.id.in_(order_ids), Order.status.in_(PAID_STATUSES)))
    if earliest is None:
        return 0
    outcome = SuggestionOutcome.__table__
    first_paid_after = (
        select(Order.id)
        .where(Order.id.in_(order_ids), Order.status.in_(PAID_STATUSES),
               Order.customer_id == outcome.c.customer_id, Order.paid_at >= outcome.c.day)
        .order_by(Order.paid_at).limit(1).scalar_subquery())
    result = session.execute(
        update(outcome)
        .where(outcome.c.customer_id.in_(customer_ids), outcome.c.action == "contacted",
               outcome.c.bought_order_id.is_(None),
               outcome.c.day >= (earliest - dt.timedelta(days=OUTCOME_WINDOW_DAYS)).date(),
               first_paid_after.is_not(None))
        .values(bought_order_id=first_paid_after))
    return result.rowcount or 0
