"""Attributing orders to clerks and booking what they earned, for one order event or the whole history.

The same set-based core (``_attribute`` and ``ledger.reverse_refunds``, pandas over whole
columns) serves one order event and a batch of millions, so the live number and the history
agree. Each action runs inside the caller's transaction and never commits itself.

Safety against double counting, in layers:
- PostgreSQL: the orders being processed are locked (``SELECT … FOR UPDATE``, in id order) so two
  workers on one order run one after the other; SQLite serialises write transactions already.
- attributions are unique per (order, clerk) and ledger lines carry an idempotency key, both
  inserted with ON CONFLICT DO NOTHING: replaying an event books nothing new.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from app import realtime
from app.commission import frames
from app.commission.ledger import effective_refund, insert_ignoring_duplicates, reverse_refunds
from app.commission.payloads import earned_payload
from app.commission.periods import booking_period, closed_periods
from app.commission.rules import active_rules, attribution_config
from app.config import brand_timezone_name
from app.db import bulk_insert_ignoring_duplicates
from assistant import attribution as attr
from assistant import commission_compute as cc
from models import Attribution, CommissionEntry, Customer, Order, Staff, utcnow
from models.commerce import PAID_STATUSES

EARNABLE = tuple(sorted(PAID_STATUSES))


def on_order_recorded(session: Session, order_ids: Sequence[int], customer_ids: Sequence[int] = (), **_: Any) -> None:
    """``hooks.ORDER_RECORDED`` subscriber: attribute newly paid orders, reverse refunds."""
    process_orders(session, order_ids)


def process_orders(session: Session, order_ids: Iterable[int], *, publish: bool = True) -> dict[str, int]:
    """Attribute the paid, not yet attributed orders among ``order_ids`` and book their
    commission; book reversals for refunds; tell each clerk what they just earned.

    Idempotent: processing the same orders again books nothing. Returns counts.
    """
    ids = sorted({int(i) for i in order_ids})
    if not ids:
        return {"attributed": 0, "earned": 0, "reversed": 0}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Order.id).where(Order.id.in_(ids)).order_by(Order.id).with_for_update())
    orders = frames.orders_frame(session, Order.id.in_(ids))
    return _process(session, orders, tz=brand_timezone_name(), publish=publish)


def _process(session: Session, orders: pd.DataFrame, *, tz: str, publish: bool,
             bulk: bool = False) -> dict[str, int]:
    counts = {"attributed": 0, "earned": 0, "reversed": 0}
    if orders.empty:
        return counts
    closed = closed_periods(session)
    attributed = frames.attributed_order_ids(session, orders["order_id"].tolist(), bulk)
    fresh = orders[orders["status"].isin(EARNABLE) & orders["paid_at"].notna()
                   & ~orders["order_id"].isin(attributed)]
    earned_rows: list[dict[str, Any]] = []
    if len(fresh):
        counts["attributed"], counts["earned"], earned_rows = _attribute(session, fresh, tz=tz, closed=closed,
                                                                        bulk=bulk)
    refunded = orders[effective_refund(orders) > 0]
    reversed_rows: list[dict[str, Any]] = []
    if len(refunded):
        reversed_rows = reverse_refunds(session, refunded, tz=tz, closed=closed, bulk=bulk)
        counts["reversed"] = len(reversed_rows)
    if publish and (earned_rows or reversed_rows):
        _publish(session, orders, earned_rows + reversed_rows)
    return counts


def _attribute(session: Session, orders: pd.DataFrame, *, tz: str, closed: set[str],
               bulk: bool) -> tuple[int, int, list[dict[str, Any]]]:
    """Attribute fresh paid orders and book what they earned; return (attributions, earned
    lines, the new earned lines on the event path)."""
    config = attribution_config(session)
    cands = frames.candidates(session, orders, config["last_touch_days"])
    shares = attr.attribute_frame(cands, config)
    if shares.empty:
        return 0, 0, []
    if session.get_bind().dialect.name == "postgresql" and not bulk:
        # One clerk's month-to-date sales feed the tiers: take their orders one worker at a time.
        clerk_ids = sorted(int(c) for c in shares["clerk_id"].unique())
        session.execute(select(Staff.id).where(Staff.id.in_(clerk_ids)).order_by(Staff.id).with_for_update())
    o = orders.copy()
    o["period"] = attr.month_of(o["paid_at"], tz)
    o = o[o["order_id"].isin(shares["order_id"])]
    mtd = frames.month_to_date(session, shares, o["period"].unique())
    result = cc.compute(shares, o[["order_id", "paid_at", "period", "amount_fen"]],
                        frames.order_lines(session, o, bulk), active_rules(session), mtd)

    stores = dict(session.execute(select(Staff.id, Staff.store_id).where(
        Staff.id.in_([int(c) for c in shares["clerk_id"].unique()]))).all())
    now = utcnow()
    if bulk:
        n_attr, n_earned = _book_bulk(session, shares, cands, o, result, stores, closed, now)
        return n_attr, n_earned, []
    return _book_live(session, shares, cands, o, result, stores, closed, now)


def _book_live(session: Session, shares: pd.DataFrame, cands: pd.DataFrame, o: pd.DataFrame,
               result: cc.Commission, stores: dict[int, int], closed: set[str],
               now: dt.datetime) -> tuple[int, int, list[dict[str, Any]]]:
    """The event path's attributions and earned lines, row by row; the new lines are returned
    so that each clerk is told what they just earned."""
    # Plain lookups rather than DataFrame merges: cheap for one order, linear for millions.
    period_of = dict(zip(o["order_id"].tolist(), o["period"].tolist()))
    share_sales = {(oid, cid): (sales, comm) for oid, cid, sales, comm in zip(
        result.shares["order_id"].tolist(), result.shares["clerk_id"].tolist(),
        result.shares["sales_fen"].tolist(), result.shares["commissionable_fen"].tolist())}
    why = dict(zip(cands["order_id"].tolist(), zip(cands["owner_since"].tolist(), cands["last_touch_at"].tolist(),
                                                  cands["link_at"].tolist())))
    split_orders: dict[int, list[int]] = {}
    if (shares["rule"] == "split").any():
        for oid, cid in zip(shares["order_id"].tolist(), shares["clerk_id"].tolist()):
            split_orders.setdefault(oid, []).append(cid)
    attribution_rows = []
    for oid, cid, rule, bp in zip(shares["order_id"].tolist(), shares["clerk_id"].tolist(),
                                  shares["rule"].tolist(), shares["share_bp"].tolist()):
        sales, commissionable = share_sales.get((oid, cid), (0, 0))
        attribution_rows.append({
            "order_id": oid, "clerk_id": cid, "rule": rule, "share_bp": bp, "store_id": stores.get(cid),
            "period": period_of[oid], "sales_fen": int(sales), "commissionable_fen": int(commissionable),
            "detail": _detail(rule, oid, cid, *why.get(oid, (None, None, None)), split_orders), "created_at": now})
    insert_ignoring_duplicates(session, Attribution, attribution_rows, ["order_id", "clerk_id"])

    e = result.entries
    booked = {p: booking_period(p, closed) for p in set(period_of.values())}
    entry_rows = [
        {"idempotency_key": f"earned:{oid}:{cid}:{rid}", "clerk_id": int(cid), "order_id": int(oid),
         "kind": "earned", "amount_fen": int(amount), "base_fen": int(base), "rule_id": int(rid),
         "explanation": why_text if isinstance(why_text, str) else None,
         "period": booked[period_of[oid]], "created_at": now}
        for oid, cid, rid, amount, base, why_text in zip(
            e["order_id"].tolist(), e["clerk_id"].tolist(), e["rule_id"].tolist(), e["amount_fen"].tolist(),
            e["base_fen"].tolist(), e["explanation"].tolist())]
    inserted = insert_ignoring_duplicates(session, CommissionEntry, entry_rows, ["idempotency_key"],
                                           returning=True)
    return len(attribution_rows), len(inserted), inserted


def _book_bulk(session: Session, shares: pd.DataFrame, cands: pd.DataFrame, orders: pd.DataFrame,
               result: cc.Commission, stores: dict[int, int], closed: set[str],
               now: dt.datetime) -> tuple[int, int]:
    """The batch's attributions and earned lines, built column by column (the same values the
    row-by-row event path writes) and handed to the driver in one go. Returns (attributions,
    earned lines); nothing is published, so the new rows need not be told apart."""
    order_ids = shares["order_id"].to_numpy(dtype=np.int64)
    clerk_ids = shares["clerk_id"].to_numpy(dtype=np.int64)
    rules = shares["rule"].to_numpy(dtype=object)
    period = pd.Series(orders["period"].to_numpy(), index=orders["order_id"].to_numpy())
    share_period = period.reindex(order_ids).to_numpy(dtype=object)
    sales = shares[["order_id", "clerk_id"]].merge(result.shares, on=["order_id", "clerk_id"], how="left")
    store = pd.Series(clerk_ids).map(stores)
    attribution = {
        "order_id": order_ids.tolist(), "clerk_id": clerk_ids.tolist(), "rule": rules.tolist(),
        "share_bp": shares["share_bp"].to_numpy(dtype=np.int64).tolist(),
        "store_id": [None if pd.isna(v) else int(v) for v in store.tolist()],
        "period": share_period.tolist(),
        "sales_fen": sales["sales_fen"].fillna(0).to_numpy(dtype=np.int64).tolist(),
        "commissionable_fen": sales["commissionable_fen"].fillna(0).to_numpy(dtype=np.int64).tolist(),
        "detail": _details_json(order_ids, clerk_ids, rules, cands),
        "created_at": [now] * len(order_ids)}
    bulk_insert_ignoring_duplicates(session, Attribution.__table__, attribution, ["order_id", "clerk_id"])

    e = result.entries
    if e.empty:
        return len(order_ids), 0
    booked = {p: booking_period(p, closed) for p in set(share_period.tolist())}
    e_orders = e["order_id"].to_numpy(dtype=np.int64)
    e_period = period.reindex(e_orders).map(booked)
    oid, cid, rid = e_orders.tolist(), e["clerk_id"].to_numpy(dtype=np.int64).tolist(), \
        e["rule_id"].to_numpy(dtype=np.int64).tolist()
    entries = {
        "idempotency_key": [f"earned:{a}:{b}:{c}" for a, b, c in zip(oid, cid, rid)],
        "clerk_id": cid, "order_id": oid, "kind": ["earned"] * len(oid),
        "amount_fen": e["amount_fen"].to_numpy(dtype=np.int64).tolist(),
        "base_fen": e["base_fen"].to_numpy(dtype=np.int64).tolist(), "rule_id": rid,
        "explanation": [w if isinstance(w, str) else None for w in e["explanation"].tolist()],
        "period": e_period.tolist(), "created_at": [now] * len(oid)}
    bulk_insert_ignoring_duplicates(session, CommissionEntry.__table__, entries, ["idempotency_key"])
    return len(order_ids), len(oid)


# The moment that makes an order a clerk's, per rule: the detail key the screens phrase.
WHY_KEYS = {"owner": "owner_since", "last_touch": "last_touch_at", "link": "link_at"}


def _details_json(order_ids: np.ndarray, clerk_ids: np.ndarray, rules: np.ndarray,
                  cands: pd.DataFrame) -> list[str | None]:
    """``_detail`` for every share, as the JSON text the column stores. Each distinct time is
    formatted once: a binding or a message is the reason for many orders."""
    by_order = cands.set_index("order_id")
    out: list[str | None] = [None] * len(order_ids)
    for rule, key in WHY_KEYS.items():
        idx = np.flatnonzero(rules == rule)
        if not len(idx):
            continue
        times = by_order[key].reindex(order_ids[idx])
        text = {t: json.dumps({key: pd.Timestamp(t).isoformat()}) for t in times.dropna().unique()}
        for i, t in zip(idx.tolist(), times.tolist()):
            if t is not None and not pd.isna(t):
                out[i] = text[t]
    split = np.flatnonzero(rules == "split")
    if len(split):
        clerks_of: dict[int, list[int]] = {}
        for i in split.tolist():
            clerks_of.setdefault(int(order_ids[i]), []).append(int(clerk_ids[i]))
        for i in split.tolist():
            me = int(clerk_ids[i])
            out[i] = json.dumps({"with": [c for c in clerks_of[int(order_ids[i])] if c != me]})
    return out


def _detail(rule: str, order_id: int, clerk_id: int, owner_since: Any, last_touch_at: Any, link_at: Any,
            split_orders: dict[int, list[int]]) -> dict[str, Any] | None:
    """Why the order is this clerk's, in data the screens phrase (binding since, last message,
    the click on their link)."""
    at = {"owner": owner_since, "last_touch": last_touch_at, "link": link_at}.get(rule)
    if at is not None and not pd.isna(at):
        return {WHY_KEYS[rule]: pd.Timestamp(at).isoformat()}
    if rule == "split":
        return {"with": [c for c in split_orders.get(order_id, []) if c != clerk_id]}
    return None


def _publish(session: Session, orders: pd.DataFrame, entries: list[dict[str, Any]]) -> None:
    """One ``commission.earned`` per clerk and order, after commit, with what just changed."""
    by_key: dict[tuple[int, int, str], list[dict[str, Any]]] = {}
    for e in entries:
        by_key.setdefault((e["clerk_id"], e["order_id"], e["kind"]), []).append(e)
    order_ids = sorted({k[1] for k in by_key})
    attributions = {(a.order_id, a.clerk_id): a for a in session.scalars(
        select(Attribution).where(Attribution.order_id.in_(order_ids)))}
    order_rows = {o.id: o for o in session.scalars(select(Order).where(Order.id.in_(order_ids)))}
    customers = {c.id: c for c in session.scalars(select(Customer).where(
        Customer.id.in_({o.customer_id for o in order_rows.values()})))}
    clerks = {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_({k[0] for k in by_key})))}
    for (clerk_id, order_id, kind), lines in sorted(by_key.items()):
        order = order_rows[order_id]
        payload = earned_payload(kind=kind, clerk=clerks[clerk_id], order=order,
                                 customer=customers.get(order.customer_id),
                                 attribution=attributions.get((order_id, clerk_id)),
                                 amount_fen=sum(e["amount_fen"] for e in lines), period=lines[0]["period"])
        realtime.publish(session, realtime.clerk_room(clerk_id), realtime.COMMISSION_EARNED, payload)


# --- History in batch -------------------------------------------------------------------------

def attribute_history(database: Any, *, since: dt.datetime | None = None, chunk_size: int = 500_000,
                      tz: str | None = None, progress: Any = None) -> dict[str, int]:
    """Attribute every paid order not attributed yet (paid since ``since``), set-based.

    Walks orders in (paid_at, id) order in chunks, one transaction each, so month-to-date tiers
    build up as they would have live and an interrupted run resumes where it stopped. Nothing is
    pushed to consoles: this is history. Each chunk reads the brand's owner bindings again, so
    chunks are large (half a million orders is a few hundred MB of frames).
    """
    tz = tz or brand_timezone_name()
    totals = {"orders": 0, "attributed": 0, "earned": 0, "reversed": 0}
    cursor: tuple[dt.datetime, int] | None = None
    while True:
        with database.transaction() as s:
            where = [Order.paid_at.is_not(None), Order.status.in_(EARNABLE + ("cancelled", "refunded"))]
            if since is not None:
                where.append(Order.paid_at >= since)
            if cursor is not None:
                where.append(tuple_(Order.paid_at, Order.id) > tuple_(*cursor))
            orders = frames.orders_frame(s, *where, order_by=(Order.paid_at, Order.id), limit=chunk_size)
            if orders.empty:
                break
            last = orders.iloc[-1]
            cursor = (last["paid_at"].to_pydatetime(), int(last["order_id"]))
            counts = _process(s, orders, tz=tz, publish=False, bulk=True)
        totals["orders"] += len(orders)
        for k, v in counts.items():
            totals[k] += v
        if progress:
            progress(totals)
    return totals
