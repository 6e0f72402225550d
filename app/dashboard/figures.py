"""The overview's figures, each one grouped query over the window, by the brand's calendar days.

Scope: head office sees the brand; a store manager their store (sales by the store the order was
attributed to, messages by the store of the clerk who wrote or owns the thread).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.orm import Session

from app.care.actions import REACHED
from app.config import brand_timezone
from app.db import local_day
from app.reception.figures import service_figures
from models.money import yuan
from models import (Attribution, Campaign, CareTask, CareTaskTarget, Conversation, Direction, Message, Order,
                    Role, Staff, clock)



def _bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = brand_timezone()
    return (dt.datetime.combine(first, dt.time(), tz).astimezone(dt.timezone.utc),
            dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.timezone.utc))


def _store_clerks(staff: Staff):
    return select(Staff.id).where(Staff.store_id == staff.store_id)


def daily_sales(s: Session, staff: Staff, first: dt.date, last: dt.date) -> dict[str, tuple[int, int]]:
    """day → (attributed sales in fen, orders), by the day the order was paid."""
    start, end = _bounds(first, last)
    day = local_day(s, Order.paid_at, brand_timezone())
    q = (select(day, func.coalesce(func.sum(Attribution.sales_fen), 0), func.count(func.distinct(Order.id)))
         .join(Order, Order.id == Attribution.order_id)
         .where(Order.paid_at >= start, Order.paid_at < end).group_by(day))
    if staff.role != Role.hq:
        q = q.where(Attribution.store_id == staff.store_id)
    return {d: (int(fen), int(n)) for d, fen, n in s.execute(q)}


def daily_messages(s: Session, staff: Staff, first: dt.date, last: dt.date) -> dict[str, tuple[int, int]]:
    """day → (messages clerks sent, messages customers wrote)."""
    start, end = _bounds(first, last)
    day = local_day(s, Message.created_at, brand_timezone())
    out = cast(Message.direction == Direction.outbound, Integer)
    q = (select(day, func.sum(case((Message.sender_id.is_not(None), out), else_=0)),
                func.sum(case((Message.direction == Direction.inbound, 1), else_=0)))
         .where(Message.created_at >= start, Message.created_at < end, Message.type.not_in(("event", "note")))
         .group_by(day))
    if staff.role != Role.hq:
        q = q.join(Conversation, Conversation.id == Message.conversation_id).where(
            Conversation.clerk_id.in_(_store_clerks(staff)) | (Conversation.store_id == staff.store_id))
    return {d: (int(sent or 0), int(received or 0)) for d, sent, received in s.execute(q)}


def open_tasks(s: Session, staff: Staff, limit: int = 6) -> list[dict[str, Any]]:
    """Open care tasks with how many of their targets were reached (for this scope)."""
    q = (select(CareTask.id, CareTask.title, CareTask.deadline, func.count(CareTaskTarget.id),
                func.sum(cast(CareTaskTarget.status.in_(REACHED), Integer)),
                func.sum(cast(CareTaskTarget.status == "bought", Integer)))
         .join(CareTaskTarget, CareTaskTarget.task_id == CareTask.id)
         .where(CareTask.status == "open").group_by(CareTask.id, CareTask.title, CareTask.deadline)
         .order_by(CareTask.deadline).limit(limit))
    if staff.role != Role.hq:
        q = q.where(CareTaskTarget.clerk_id.in_(_store_clerks(staff)))
    return [{"id": i, "title": title, "deadline": deadline.isoformat(), "targets": n, "reached": int(r or 0),
             "buyers": int(b or 0)} for i, title, deadline, n, r, b in s.execute(q)]


def recent_campaigns(s: Session, limit: int = 5) -> list[dict[str, Any]]:
    from app.care.campaigns import campaign_report

    rows = s.scalars(select(Campaign.id).where(Campaign.status != "draft").order_by(Campaign.id.desc()).limit(limit))
    out = []
    for campaign_id in rows:
        r = campaign_report(s, campaign_id)
        row = {k: r.get(k) for k in ("campaign_id", "name", "status", "sent", "buyers", "holdout_conversion", "conversion")}
        out.append({**row, "revenue": yuan(r.get("revenue_fen") or 0), "cost": yuan(r.get("cost_fen") or 0)})
    return out


def overview(s: Session, staff: Staff, days: int) -> dict[str, Any]:
    today = clock.now().astimezone(brand_timezone()).date()
    first = today - dt.timedelta(days=days - 1)
    month_start = today.replace(day=1)
    since = min(first, month_start)
    sales = daily_sales(s, staff, since, today)
    messages = daily_messages(s, staff, first, today)
    service = service_figures(s, staff, first, today)
    series = []
    for i in range(days):
        d = (first + dt.timedelta(days=i)).isoformat()
        fen, orders = sales.get(d, (0, 0))
        sent, received = messages.get(d, (0, 0))
        sd = service["days"][i]
        series.append({"day": d, "sales": yuan(fen), "orders": orders, "contacts": sent, "replies": received,
                       "first_response_median_s": sd["first_response_median_s"], "reply_rate": sd["reply_rate"]})
    month = [v for d, v in sales.items() if d >= month_start.isoformat()]
    return {
        "today": today.isoformat(), "days": series,
        "totals": {"sales_today": yuan(sales.get(today.isoformat(), (0, 0))[0]),
                   "orders_today": sales.get(today.isoformat(), (0, 0))[1],
                   "sales_month": yuan(sum(f for f, _ in month)), "orders_month": sum(n for _, n in month),
                   "contacts": sum(x["contacts"] for x in series), "replies": sum(x["replies"] for x in series),
                   "waiting_now": service["waiting_now"], "first_response_median_s": service["total"]["first_response_median_s"],
                   "reply_rate": service["total"]["reply_rate"]},
        "tasks": open_tasks(s, staff),
        "campaigns": recent_campaigns(s) if staff.role == Role.hq else [],
    }
