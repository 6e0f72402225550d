"""Commission months (YYYY-MM in the brand's timezone): which are closed, and where a line is booked.

A closed month is settled: a line that belongs to it (a refund of an order paid then, an
adjustment) is booked in the next month still open.
"""
from __future__ import annotations

import datetime as dt
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.commission.rules import require_head_office
from app.config import brand_timezone_name
from app.errors import Conflict, Invalid
from app.i18n import t
from app.params import valid_period
from assistant import attribution as attr
from models import CommissionPeriod, Staff, utcnow


def next_month(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def closed_periods(session: Session) -> set[str]:
    return set(session.scalars(select(CommissionPeriod.period)))


def booking_period(period: str, closed: set[str]) -> str:
    """The month a line for ``period`` is booked in: that month, or the next one still open."""
    while period in closed:
        period = next_month(period)
    return period


def close_period(session: Session, staff: Staff, period: str, now: dt.datetime | None = None) -> CommissionPeriod:
    """Close a finished month: its lines become settled; later corrections go to the next month."""
    require_head_office(staff, "close_period")
    now = now or utcnow()
    if not valid_period(period):
        raise Invalid(t("commission.close.invalid"), {"period": t("commission.close.choose_month")})
    if period >= attr.month_of_time(now, brand_timezone_name()):
        raise Invalid(t("commission.close.not_over"), {"period": t("commission.close.not_over_reason")})
    if session.get(CommissionPeriod, period) is not None:
        raise Conflict(t("commission.close.already"), {"period": t("commission.close.already")})
    row = CommissionPeriod(period=period, closed_at=now, closed_by=staff.id)
    session.add(row)
    session.flush()
    return row


