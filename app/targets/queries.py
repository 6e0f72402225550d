"""``GET /api/v1/targets``: the month's targets in the reader's scope, each with its progress and
history (a clerk: their own; a manager: their store and its clerks; head office: every store and
clerk). Clerks and stores without a target are listed too, with a null amount, for the forms."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.targets.progress import days_left, figures, net_sales
from models import Attribution, Role, SalesTarget, Staff, Store, utcnow
from models.money import yuan


def _history_json(row: SalesTarget, names: dict[int, str]) -> dict[str, Any]:
    return {"amount": yuan(row.amount_fen), "new_customers": row.new_customers, "reactivations": row.reactivations,
            "set_by": names.get(row.set_by) if row.set_by else None, "set_at": row.set_at.isoformat(),
            "superseded_at": row.superseded_at.isoformat() if row.superseded_at else None,
            "current": row.superseded_at is None}


def _in_scope(session: Session, reader: Staff, period: str) -> tuple[list[Store], list[Staff]]:
    if reader.role == Role.clerk:
        return [], [reader]
    targeted = select(SalesTarget.clerk_id).where(SalesTarget.period == period, SalesTarget.clerk_id.is_not(None))
    clerks = select(Staff).where(Staff.role == Role.clerk, or_(Staff.active.is_(True), Staff.id.in_(targeted)))
    stores = select(Store)
    if reader.role == Role.manager:
        clerks = clerks.where(Staff.store_id == reader.store_id)
        stores = stores.where(Store.id == reader.store_id)
    return (list(session.scalars(stores.order_by(Store.name, Store.id))),
            list(session.scalars(clerks.order_by(Staff.store_id, Staff.display_name, Staff.id))))


def month_targets(session: Session, reader: Staff, period: str, now: dt.datetime | None = None) -> dict[str, Any]:
    stores, clerks = _in_scope(session, reader, period)
    clerk_ids, store_ids = [c.id for c in clerks], [st.id for st in stores]
    rows = list(session.scalars(select(SalesTarget).where(SalesTarget.period == period, or_(
        SalesTarget.clerk_id.in_(clerk_ids), SalesTarget.store_id.in_(store_ids)))
        .order_by(SalesTarget.set_at.desc(), SalesTarget.id.desc())))
    setters = {r.set_by for r in rows if r.set_by}
    names = dict(session.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(setters))).all()) if setters else {}
    history: dict[tuple[str, int], list[SalesTarget]] = {}
    for r in rows:
        history.setdefault(("clerk", r.clerk_id) if r.clerk_id else ("store", r.store_id), []).append(r)
    achieved_by_clerk = net_sales(session, period, Attribution.clerk_id.in_(clerk_ids)) if clerk_ids else {}
    achieved_by_store = net_sales(session, period, Attribution.store_id.in_(store_ids), by=Attribution.store_id) \
        if store_ids else {}
    days = days_left(period, now or utcnow())
    store_names = dict(session.execute(select(Store.id, Store.name)).all()) if clerks else {}

    def entry(kind: str, ident: int, head: dict[str, Any], achieved: int) -> dict[str, Any]:
        past = history.get((kind, ident), [])
        current = past[0] if past and past[0].superseded_at is None else None
        return {**head, "amount": yuan(current.amount_fen) if current else None,
                **figures(current, achieved, days), "history": [_history_json(r, names) for r in past]}

    targets = [entry("store", st.id, {"store": st.external_id, "store_id": st.id, "name": st.name},
                     achieved_by_store.get(st.id, 0)) for st in stores]
    targets += [entry("clerk", c.id, {"clerk": c.username, "clerk_id": c.id, "name": c.display_name,
                                      "store_id": c.store_id, "store_name": store_names.get(c.store_id)},
                      achieved_by_clerk.get(c.id, 0)) for c in clerks]
    return {"period": period, "days_left": days, "targets": targets}
