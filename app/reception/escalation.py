"""Long waits go up: past the brand's first threshold the store's manager is told, past the
second head office. Runs every minute; each wait escalates once per level."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app import db, realtime
from app.reception.pools import reception_settings
from models import Customer, ServiceWait, utcnow


def escalate_due() -> int:
    """Escalate every wait past its next threshold; return how many were escalated."""
    with db.transaction() as s:
        first, second = reception_settings(s).escalate_minutes
        now = utcnow()
        done = 0
        for level, minutes in ((1, first), (2, second)):
            due = list(s.scalars(select(ServiceWait).where(
                ServiceWait.answered_at.is_(None), ServiceWait.escalation < level,
                ServiceWait.started_at <= now - dt.timedelta(minutes=minutes)).limit(500)))
            names = dict(s.execute(select(Customer.id, Customer.name)
                                   .where(Customer.id.in_({w.customer_id for w in due}))).all()) if due else {}
            for wait in due:
                wait.escalation = level
                payload = {"conversation_id": wait.conversation_id, "customer_id": wait.customer_id,
                           "customer": names.get(wait.customer_id), "store_id": wait.store_id,
                           "waiting_minutes": int((now - wait.started_at).total_seconds() // 60), "level": level}
                room = realtime.store_room(wait.store_id) if level == 1 and wait.store_id else "hq"
                realtime.publish(s, room, realtime.CONVERSATION_ESCALATED, payload)
                done += 1
        return done
