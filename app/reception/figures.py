"""Service figures from the waits: how many customers wait now, how fast they were first
answered (median, p90) and how many got an answer, per day, per store and per clerk."""
from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from app.config import brand_timezone
from models import Role, ServiceWait, Staff, Store, utcnow


def _scope(staff: Staff):
    if staff.role == Role.hq:
        return True
    if staff.role == Role.manager:
        return ServiceWait.store_id == staff.store_id
    return ServiceWait.clerk_id == staff.id


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def _summary(rows: list[ServiceWait]) -> dict[str, Any]:
    answered = [(w.answered_at - w.started_at).total_seconds() for w in rows if w.answered_at is not None]
    return {"waits": len(rows), "answered": len(answered),
            "reply_rate": round(len(answered) / len(rows), 4) if rows else None,
            "first_response_median_s": _round(statistics.median(answered) if answered else None),
            "first_response_p90_s": _round(_quantile(answered, 0.9))}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def service_figures(s: Session, staff: Staff, first: dt.date, last: dt.date) -> dict[str, Any]:
    """Days ``first``..``last`` in the brand's timezone: per day, per store and per clerk."""
    tz = brand_timezone()
    start = dt.datetime.combine(first, dt.time(), tz).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.timezone.utc)
    rows = list(s.scalars(select(ServiceWait).where(_scope(staff), ServiceWait.started_at >= start,
                                                    ServiceWait.started_at < end)))
    by_day: dict[str, list[ServiceWait]] = defaultdict(list)
    by_store: dict[int | None, list[ServiceWait]] = defaultdict(list)
    by_clerk: dict[int, list[ServiceWait]] = defaultdict(list)
    for w in rows:
        by_day[w.started_at.astimezone(tz).date().isoformat()].append(w)
        by_store[w.store_id].append(w)
        if w.clerk_id is not None:
            by_clerk[w.clerk_id].append(w)
    days = [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    store_names = dict(s.execute(select(Store.id, Store.name).where(Store.id.in_([k for k in by_store if k]))).all())
    clerk_names = dict(s.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(list(by_clerk)))).all())
    return {
        "from": first.isoformat(), "to": last.isoformat(),
        "waiting_now": waiting_now(s, staff),
        "total": _summary(rows),
        "days": [{"day": d, **_summary(by_day.get(d, []))} for d in days],
        "stores": sorted(({"store_id": k, "store": store_names.get(k, "总部") if k else "总部", **_summary(v)}
                          for k, v in by_store.items()), key=lambda r: -r["waits"]),
        "clerks": sorted(({"clerk_id": k, "clerk": clerk_names.get(k, ""), **_summary(v)}
                          for k, v in by_clerk.items()), key=lambda r: -r["waits"]),
    }


def waiting_now(s: Session, staff: Staff) -> dict[str, Any]:
    """Customers waiting for an answer at this moment, and the longest wait in minutes."""
    count, oldest = s.execute(select(func.count(), func.min(ServiceWait.started_at))
                              .where(and_(_scope(staff), ServiceWait.answered_at.is_(None)))).one()
    longest = None if oldest is None else int((utcnow() - oldest).total_seconds() // 60)
    return {"count": count, "longest_minutes": longest}
