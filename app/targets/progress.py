"""How far a clerk (or a store) is from the month's target: achieved, gap, days left, pace per day.

``achieved`` is the month's attributed sales net of refunds, read through
``app.commission.queries.attributed_sales`` (the earnings screen's own figure); the month and
"today" are in the brand's timezone. Money comes back as yuan strings.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.commission.queries import attributed_sales, month_bounds
from app.config import brand_timezone
from models import Attribution, SalesTarget, Staff, utcnow
from models.money import yuan


def days_left(period: str, now: dt.datetime) -> int:
    """Days of ``period`` from today on, today included (0 once the month is over)."""
    zone = brand_timezone()
    start, end = month_bounds(period, zone.key)
    first, last = start.astimezone(zone).date(), (end.astimezone(zone) - dt.timedelta(days=1)).date()
    today = now.astimezone(zone).date()
    return (last - max(today, first)).days + 1 if today <= last else 0


def figures(target: SalesTarget | None, achieved_fen: int, days: int) -> dict[str, Any]:
    """The progress fields for one subject: target and gap null without a target; the pace is
    the gap spread over the days left, rounded up to the fen (null once the month is over)."""
    target_fen = target.amount_fen if target is not None else None
    gap_fen = max(target_fen - achieved_fen, 0) if target_fen is not None else None
    pace = None
    if gap_fen is not None and (days or not gap_fen):
        pace = -(-gap_fen // days) if gap_fen else 0
    return {
        "target": yuan(target_fen), "achieved": yuan(achieved_fen), "gap": yuan(gap_fen),
        "attainment": round(achieved_fen / target_fen, 4) if target_fen else None,
        "days_left": days, "pace_per_day": yuan(pace),
        "target_new_customers": target.new_customers if target is not None else None,
        "target_reactivations": target.reactivations if target is not None else None,
    }


def current_target(session: Session, period: str, *, clerk_id: int | None = None,
                   store_id: int | None = None) -> SalesTarget | None:
    subject = SalesTarget.clerk_id == clerk_id if clerk_id is not None else SalesTarget.store_id == store_id
    return session.scalar(select(SalesTarget).where(SalesTarget.period == period, subject,
                                                    SalesTarget.superseded_at.is_(None)))


def net_sales(session: Session, period: str, *where: Any, by: Any = Attribution.clerk_id) -> dict[Any, int]:
    """Attributed sales net of refunds, fen, per clerk (or per store with ``by``)."""
    return {key: gross - refunded for key, (_n, gross, refunded) in attributed_sales(session, period, *where, by=by).items()}


def progress(session: Session, staff: Staff, period: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """The clerk's month against their target: ``{"period", "target", "achieved", "gap",
    "attainment", "days_left", "pace_per_day", "target_new_customers", "target_reactivations"}``."""
    achieved = net_sales(session, period, Attribution.clerk_id == staff.id).get(staff.id, 0)
    return {"period": period, **figures(current_target(session, period, clerk_id=staff.id), achieved,
                                        days_left(period, now or utcnow()))}
