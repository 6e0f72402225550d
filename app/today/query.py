"""The Today list as one query over precomputed scores (``CustomerScore``), filtered by a basic
contact policy: opted-out customers, customers contacted in the last few days and suggestions the
clerk already handled today (in the brand's timezone) never appear. Quiet hours do not empty the
list — the clerk plans the day on the way to work; the route marks what will wait until they end.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from app.scoping import where_visible
from models import (Conversation, Customer, CustomerOptOut, CustomerScore, FollowerBinding, Role,
                    Staff, SuggestionOutcome)

HANDLED = ("contacted", "skipped")
SERVICE_ACTIONS = ("payment",)  # allowed in quiet hours


def today_rows(session: Session, staff: Staff, clerk_id: int, now: dt.datetime, limit: int,
               recent_days: int, local_day: dt.date) -> list:
    """The clerk's top ``limit`` followers by expected value, after the policy filter."""
    # Start from the clerk's followers (index on clerk_id) rather than from all scores: a clerk
    # has thousands of followers, the brand millions of scores.
    followers = (select(FollowerBinding.customer_id)
                 .where(FollowerBinding.clerk_id == clerk_id, FollowerBinding.ended_at.is_(None))
                 .distinct().subquery())
    stmt = (
        select(CustomerScore, Customer.name, Customer.paid_orders, Customer.total_spent_fen,
               Customer.last_contacted_at, Customer.last_paid_at,
               Conversation.id, Conversation.last_message_at, Conversation.last_message_preview)
        .select_from(followers)
        .join(CustomerScore, CustomerScore.customer_id == followers.c.customer_id)
        .join(Customer, Customer.id == followers.c.customer_id)
        .outerjoin(Conversation, and_(Conversation.customer_id == followers.c.customer_id,
                                      Conversation.clerk_id == clerk_id))
        .where(
            ~exists().where(CustomerOptOut.customer_id == followers.c.customer_id),
            or_(Customer.last_contacted_at.is_(None),
                Customer.last_contacted_at < now - dt.timedelta(days=recent_days)),
            ~exists().where(SuggestionOutcome.customer_id == followers.c.customer_id,
                            SuggestionOutcome.clerk_id == clerk_id, SuggestionOutcome.day == local_day,
                            SuggestionOutcome.action.in_(HANDLED)),
        )
        .order_by(CustomerScore.expected_value_fen.desc(), CustomerScore.propensity.desc(),
                  CustomerScore.customer_id)
        .limit(limit))
    if staff.role != Role.clerk:
        # A clerk's own followers are exactly their scope; others may only look at a clerk's
        # list within theirs (the route already checked the clerk; this keeps the rule in SQL).
        stmt = stmt.where(where_visible(staff, followers.c.customer_id))
    return session.execute(stmt).all()
