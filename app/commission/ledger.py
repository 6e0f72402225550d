"""The commission ledger's own lines: refund reversals and managers' adjustments.

The ledger is append-only. Every entry has an idempotency key (``earned:<order>:<clerk>:<rule>``,
``reversed:<order>:<clerk>:<rule>:<refund fen>``, ``adjusted:<key>``) inserted with ON CONFLICT
DO NOTHING, so replaying an event books nothing new. A reversal is what a refund takes back of
what was earned, net of what is reversed already; it is booked in the month of the refund (or
the next one still open).
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app import realtime
from app.commission.frames import IN_CHUNK, frame
from app.commission.payloads import earned_payload
from app.commission.periods import booking_period, closed_periods
from app.config import brand_timezone_name
from app.db import bulk_insert_ignoring_duplicates, chunks
from app.errors import Invalid
from app.i18n import t
from app.params import is_id
from assistant import attribution as attr
from assistant.commission_compute import reversals
from models import CommissionEntry, Order, Role, Staff, utcnow
from models.money import parse_yuan, yuan


def effective_refund(orders: pd.DataFrame) -> pd.Series:
    """What was refunded: refund_amount, or the whole amount for cancelled/refunded orders."""
    full = orders["status"].isin(["cancelled", "refunded"]) & (orders["refund_fen"] == 0)
    return np.minimum(orders["refund_fen"].where(~full, orders["amount_fen"]), orders["amount_fen"])


def reverse_refunds(session: Session, orders: pd.DataFrame, *, tz: str, closed: set[str],
                    bulk: bool = False) -> list[dict[str, Any]]:
    """Book the reversal lines the refunds of ``orders`` still call for; return them (only the
    new ones on the event path)."""
    ids = orders["order_id"].tolist()
    rows = []
    for chunk in chunks(ids, IN_CHUNK):
        rows += session.execute(
            select(CommissionEntry.order_id, CommissionEntry.clerk_id, CommissionEntry.rule_id,
                   CommissionEntry.kind, func.sum(CommissionEntry.amount_fen))
            .where(CommissionEntry.order_id.in_(chunk), CommissionEntry.kind.in_(("earned", "reversed")))
            .group_by(CommissionEntry.order_id, CommissionEntry.clerk_id, CommissionEntry.rule_id,
                      CommissionEntry.kind)).all()
    if not rows:
        return []
    sums = frame(rows, ["order_id", "clerk_id", "rule_id", "kind", "amount"])
    table = (sums.pivot_table(index=["order_id", "clerk_id", "rule_id"], columns="kind", values="amount",
                              aggfunc="sum", fill_value=0).reset_index())
    for k in ("earned", "reversed"):
        if k not in table:
            table[k] = 0
    o = orders.assign(refund_eff=effective_refund(orders))
    o["refund_time"] = o["refunded_at"].fillna(o["cancelled_at"]).fillna(o["updated_at"])
    o["refund_period"] = attr.month_of(o["refund_time"], tz)
    table = table.merge(o[["order_id", "amount_fen", "refund_eff", "refund_period"]], on="order_id")
    due = reversals(table.rename(columns={"earned": "earned_fen", "reversed": "reversed_fen",
                                             "refund_eff": "refund_fen"}))
    now = utcnow()
    entry_rows = [
        {"idempotency_key": f"reversed:{r.order_id}:{r.clerk_id}:{r.rule_id}:{r.refund_fen}",
         "clerk_id": int(r.clerk_id), "order_id": int(r.order_id), "kind": "reversed",
         "amount_fen": int(r.delta_fen), "base_fen": int(r.refund_fen), "rule_id": int(r.rule_id),
         "explanation": f"refund:{yuan(int(r.refund_fen))}/{yuan(int(r.amount_fen))}",
         "period": booking_period(r.refund_period, closed), "created_at": now}
        for r in due.itertuples(index=False)]
    if bulk:  # nothing is published: the lines due (net of what is already reversed) are the answer
        bulk_insert_ignoring_duplicates(session, CommissionEntry.__table__, entry_rows, ["idempotency_key"])
        return entry_rows
    return insert_ignoring_duplicates(session, CommissionEntry, entry_rows, ["idempotency_key"], returning=True)


def insert_ignoring_duplicates(session: Session, model: Any, rows: list[dict[str, Any]],
                                conflict: list[str], returning: bool = False) -> list[dict[str, Any]]:
    """INSERT … ON CONFLICT DO NOTHING; return the rows that were new (when asked)."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = ins(model.__table__).on_conflict_do_nothing(index_elements=conflict)
    if not returning:
        bulk_insert_ignoring_duplicates(session, model.__table__, rows, conflict)
        return rows
    key = conflict[0] if model is CommissionEntry else None
    new_keys: set[Any] = set()
    for batch in chunks(rows, IN_CHUNK):
        result = session.execute(stmt.returning(model.__table__.c.idempotency_key), batch)
        new_keys.update(result.scalars().all())
    return [r for r in rows if r[key] in new_keys]


def adjust(session: Session, manager: Staff, *, clerk_id: Any, amount: Any, reason: Any,
           order_id: Any = None, idempotency_key: Any = None, now: dt.datetime | None = None) -> CommissionEntry:
    """Book a manager's adjustment (positive or negative) with a reason, in the open month."""
    errors: dict[str, str] = {}
    fen = parse_yuan(amount)
    if fen is None or fen == 0:
        errors["amount"] = t("commission.adjust.error.amount")
    if not isinstance(reason, str) or not reason.strip() or len(reason.strip()) > 255:
        errors["reason"] = t("commission.adjust.error.reason")
    if idempotency_key is not None and (not isinstance(idempotency_key, str) or not 8 <= len(idempotency_key) <= 100):
        errors["idempotency_key"] = "a string of 8 to 100 characters"
    clerk = session.get(Staff, clerk_id) if is_id(clerk_id) else None
    if clerk is None or (manager.role == Role.manager and clerk.store_id != manager.store_id):
        errors["clerk_id"] = t("commission.adjust.error.clerk_id")
    if order_id is not None:
        ok = is_id(order_id) and session.get(Order, order_id) is not None
        if not ok:
            errors["order_id"] = "no such order"
    if errors:
        raise Invalid(t("commission.adjust.invalid"), errors)
    key = f"adjusted:{idempotency_key or uuid.uuid4().hex}"
    existing = session.scalar(select(CommissionEntry).where(CommissionEntry.idempotency_key == key))
    if existing is not None:
        return existing
    now = now or utcnow()
    period = booking_period(attr.month_of_time(now, brand_timezone_name()), closed_periods(session))
    entry = CommissionEntry(idempotency_key=key, clerk_id=clerk.id, order_id=order_id, kind="adjusted",
                            amount_fen=fen, base_fen=0, rule_id=None, explanation=reason.strip(),
                            period=period, created_by=manager.id, created_at=now)
    session.add(entry)
    session.flush()
    order = session.get(Order, order_id) if order_id else None
    realtime.publish(session, realtime.clerk_room(clerk.id), realtime.COMMISSION_EARNED,
                     earned_payload(kind="adjusted", clerk=clerk, order=order, customer=None, attribution=None,
                                    amount_fen=fen, period=period, reason=entry.explanation))
    return entry
