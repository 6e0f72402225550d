"""Service waits: a customer's unanswered message opens one, the first reply a person writes
closes it. First-response time, reply rate and escalation are all read from these rows."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import Conversation, ServiceWait, Staff


def open_wait(session: Session, conv: Conversation, at: dt.datetime, channel: str) -> None:
    """The customer wrote: start waiting, unless they were already waiting for an answer."""
    if conv.waiting_since is not None:
        return
    conv.waiting_since = at
    store_id = conv.store_id
    if store_id is None and conv.clerk_id is not None:
        store_id = session.scalar(select(Staff.store_id).where(Staff.id == conv.clerk_id))
    session.add(ServiceWait(conversation_id=conv.id, customer_id=conv.customer_id, store_id=store_id,
                            clerk_id=conv.clerk_id, channel=channel, started_at=at))


def close_wait(session: Session, conv: Conversation, clerk_id: int, at: dt.datetime) -> None:
    """A person answered in the thread: the wait ends, and counts for them."""
    if conv.waiting_since is None:
        return
    session.execute(update(ServiceWait).where(ServiceWait.conversation_id == conv.id,
                                              ServiceWait.answered_at.is_(None))
                    .values(answered_at=at, clerk_id=clerk_id))
    conv.waiting_since = None
