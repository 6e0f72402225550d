"""What a clerk did with a suggestion (contacted, skipped): recorded so the ranker can learn."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Invalid
from app.scoping import get_visible_customer
from models import CustomerScore, Staff, SuggestionOutcome

OUTCOMES = ("contacted", "skipped")


def record_outcome(session: Session, clerk: Staff, customer_id: int, action: object,
                   now: dt.datetime) -> SuggestionOutcome:
    """Record ``action`` on today's suggestion of ``customer_id`` (a follower of ``clerk``)."""
    if action not in OUTCOMES:
        raise Invalid("invalid outcome", {"action": f"one of {', '.join(OUTCOMES)}"})
    get_visible_customer(session, clerk, customer_id)
    propensity = session.scalar(select(CustomerScore.propensity).where(CustomerScore.customer_id == customer_id))
    outcome = SuggestionOutcome(clerk_id=clerk.id, customer_id=customer_id, day=now.date(), action=action,
                                propensity=propensity, created_at=now)
    session.add(outcome)
    session.flush()
    return outcome
