"""Commission actions: attribute orders, book the ledger, adjust, close months, manage rules.

Each action runs inside the caller's transaction and never commits itself. The same set-based
core (``_attribute`` and ``_reverse``, pandas over whole columns) serves one order event and a
batch of millions, so the live number and the history agree.

The ledger is append-only. Safety against double counting, in layers:
- PostgreSQL: the orders being processed are locked (``SELECT … FOR UPDATE``, in id order) so two
  workers on one order run one after the other; SQLite serialises write transactions already.
- every entry has an idempotency key (``earned:<order>:<clerk>:<rule>``,
  ``reversed:<order>:<clerk>:<rule>:<refund fen>``) inserted with ON CONFLICT DO NOTHING, and
  attributions are unique per (order, clerk): replaying an event books nothing new.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select, tuple_, type_coerce
from sqlalchemy.types import NullType
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.config import brand_timezone as brand_zone, brand_timezone_name
from app import realtime
from app.db import bulk_insert_ignoring_duplicates, chunks
from app.commission import link_rule
from app.commission.payloads import earned_payload
from app.params import is_id
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.i18n import field_sentences, t
from app.ingest.validate import FieldError, moment
from assistant import attribution as attr
from assistant import commission_rules as cr
from models import (Attribution, CommissionEntry, CommissionPeriod, CommissionRule, Conversation,
                    Customer, Direction, FollowerBinding, Message, Order, OrderItem, Product, Role, Setting, Staff, utcnow)
from models.commerce import PAID_STATUSES

SETTING_KEY = "attribution"
EARNABLE = tuple(sorted(PAID_STATUSES))
ALL_CUSTOMERS_ABOVE = 2000  # past this many customers, load bindings/touches in one scan, not IN (…)
IN_CHUNK = 5000  # order ids per IN list and rows per RETURNING insert (SQLite ≥ 3.32 binds 32,766)


brand_timezone = brand_timezone_name  # the one lookup, in app.config


# --- Configuration ----------------------------------------------------------------------------

def require_head_office(staff: Staff, what: str) -> None:
    """Brand-wide commission settings (rules, attribution, closing a month) are head office's alone;
    a store manager reads them and adjusts their own clerks, nothing more."""
    if staff.role != Role.hq:
        raise Forbidden(t(f"commission.forbidden.{what}"), {"role": t("commission.forbidden.head_office_only")})


def attribution_config(session: Session) -> dict[str, Any]:
    """The brand's attribution rules (defaults until head office saves its own)."""
    row = session.get(Setting, SETTING_KEY)
    config, _ = attr.validate_config(row.value if row else {})
    return config


def set_attribution_config(session: Session, staff: Staff, value: Any) -> dict[str, Any]:
    """Validate and save the attribution rules; they apply to orders attributed from now on."""
    require_head_office(staff, "attribution")
    config, errors = attr.validate_config(value)
    if errors:
        raise Invalid(t("commission.attribution.invalid"), field_sentences(errors, "commission.attribution.error"))
    row = session.get(Setting, SETTING_KEY)
    if row is None:
        session.add(Setting(key=SETTING_KEY, value=config, updated_by=staff.id))
    else:
        row.value = config
        row.updated_by = staff.id
    session.flush()
    return config


def active_rules(session: Session) -> list[cr.RuleSpec]:
    return [cr.rule_spec(r) for r in session.scalars(select(CommissionRule).order_by(CommissionRule.id))]


# --- Periods ----------------------------------------------------------------------------------

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
    if not _valid_period(period):
        raise Invalid(t("commission.close.invalid"), {"period": t("commission.close.choose_month")})
    if period >= attr.month_of_time(now, brand_timezone()):
        raise Invalid(t("commission.close.not_over"), {"period": t("commission.close.not_over_reason")})
    if session.get(CommissionPeriod, period) is not None:
        raise Conflict(t("commission.close.already"), {"period": t("commission.close.already")})
    row = CommissionPeriod(period=period, closed_at=now, closed_by=staff.id)
    session.add(row)
    session.flush()
    return row


def _valid_period(period: Any) -> bool:
    return (isinstance(period, str) and len(period) == 7 and period[4] == "-" and period[:4].isdigit()
            and period[5:].isdigit() and 1 <= int(period[5:]) <= 12)


# --- Processing orders ------------------------------------------------------------------------

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
    orders = _orders_frame(session, Order.id.in_(ids))
    return _process(session, orders, tz=brand_timezone(), publish=publish)


def _process(session: Session, orders: pd.DataFrame, *, tz: str, publish: bool,
             bulk: bool = False) -> dict[str, int]:
    counts = {"attributed": 0, "earned": 0, "reversed": 0}
    if orders.empty:
        return counts
    closed = closed_periods(session)
    attributed = _attributed_order_ids(session, orders["order_id"].tolist(), bulk)
    fresh = orders[orders["status"].isin(EARNABLE) & orders["paid_at"].notna()
                   & ~orders["order_id"].isin(attributed)]
    earned_rows: list[dict[str, Any]] = []
    if len(fresh):
        counts["attributed"], counts["earned"], earned_rows = _attribute(session, fresh, tz=tz, closed=closed,
                                                                        bulk=bulk)
    refunded = orders[_effective_refund(orders) > 0]
    reversed_rows: list[dict[str, Any]] = []
    if len(refunded):
        reversed_rows = _reverse(session, refunded, tz=tz, closed=closed, bulk=bulk)
        counts["reversed"] = len(reversed_rows)
    if publish and (earned_rows or reversed_rows):
        _publish(session, orders, earned_rows + reversed_rows)
    return counts


def _effective_refund(orders: pd.DataFrame) -> pd.Series:
    """What was refunded: refund_amount, or the whole amount for cancelled/refunded orders."""
    full = orders["status"].isin(["cancelled", "refunded"]) & (orders["refund_fen"] == 0)
    return np.minimum(orders["refund_fen"].where(~full, orders["amount_fen"]), orders["amount_fen"])


def _raw(column: Any) -> Any:
    """The column as the driver returns it: no per-row Python conversion (pandas converts whole
    columns instead), which is most of the read cost on millions of rows."""
    return type_coerce(column, NullType())


_ORDER_COLS = tuple(_raw(c) for c in (
    Order.id, Order.customer_id, Order.clerk_id, Order.status, Order.paid_at, Order.amount_fen,
    Order.refund_amount_fen, Order.refunded_at, Order.cancelled_at, Order.updated_at))
_ORDER_NAMES = ["order_id", "customer_id", "clerk_id", "status", "paid_at", "amount_fen", "refund_fen",
                "refunded_at", "cancelled_at", "updated_at"]
if link_rule.REF_COLUMN is not None:  # the personal link an order came through (the "link" rule)
    _ORDER_COLS += (_raw(link_rule.REF_COLUMN),)
    _ORDER_NAMES.append("ref")


def _rows(session: Session, stmt: Any) -> list[tuple[Any, ...]]:
    """The statement's rows as the DBAPI cursor's plain tuples: SQLAlchemy's Row objects (and the
    ORM's result wrapping) cost more than the read itself on hundreds of thousands of rows."""
    result = session.connection().execute(stmt)
    try:
        return result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()


def _frame(rows: Sequence[Any], columns: list[str], times: Iterable[str] = ()) -> pd.DataFrame:
    # One C-level pass over the tuples (pandas' record reader), not a probe of each row.
    df = pd.DataFrame.from_records(rows, columns=columns, coerce_float=False) if rows else \
        pd.DataFrame({c: [] for c in columns})
    for c in times:
        df[c] = pd.to_datetime(df[c], utc=True, format="ISO8601").dt.as_unit("us")
    return df


def _orders_frame(session: Session, *where: Any, order_by: Any = None, limit: int | None = None) -> pd.DataFrame:
    stmt = select(*_ORDER_COLS).where(*where)
    if order_by is not None:
        stmt = stmt.order_by(*order_by)
    if limit:
        stmt = stmt.limit(limit)
    rows = _rows(session, stmt)
    df = _frame(rows, _ORDER_NAMES, ("paid_at", "refunded_at", "cancelled_at", "updated_at"))
    df["amount_fen"] = df["amount_fen"].astype(np.int64)
    df["refund_fen"] = df["refund_fen"].fillna(0).astype(np.int64)
    return df


def _attributed_order_ids(session: Session, order_ids: list[int], bulk: bool) -> set[int]:
    if bulk:
        lo, hi = min(order_ids), max(order_ids)
        return set(session.scalars(select(Attribution.order_id).where(Attribution.order_id.between(lo, hi))))
    found: set[int] = set()
    for chunk in chunks(order_ids, IN_CHUNK):
        found.update(session.scalars(select(Attribution.order_id).where(Attribution.order_id.in_(chunk))))
    return found


def _candidates(session: Session, orders: pd.DataFrame, days: int) -> pd.DataFrame:
    customers = orders["customer_id"].unique().tolist()
    first, last = orders["paid_at"].min().to_pydatetime(), orders["paid_at"].max().to_pydatetime()
    b_stmt = select(FollowerBinding.customer_id, FollowerBinding.clerk_id, _raw(FollowerBinding.since),
                    _raw(FollowerBinding.ended_at)).where(FollowerBinding.is_owner.is_(True),
                                                    FollowerBinding.since <= last)
    t_stmt = (select(Conversation.customer_id, Message.sender_id, _raw(Message.created_at))
              .join(Conversation, Conversation.id == Message.conversation_id)
              .where(Message.direction == Direction.outbound, Message.sender_id.is_not(None),
                     Message.created_at >= first - dt.timedelta(days=days), Message.created_at <= last))
    if len(customers) <= ALL_CUSTOMERS_ABOVE:
        b_stmt = b_stmt.where(FollowerBinding.customer_id.in_(customers))
        t_stmt = t_stmt.where(Conversation.customer_id.in_(customers))
    bindings = _frame(_rows(session, b_stmt), ["customer_id", "clerk_id", "since", "ended_at"],
                      ("since", "ended_at"))
    touches = _frame(_rows(session, t_stmt), ["customer_id", "clerk_id", "sent_at"], ("sent_at",))
    cands = attr.candidates_frame(orders, bindings, touches, days)
    return attr.with_links(cands, link_rule.link_candidates(session, orders))


def _lines(session: Session, orders: pd.DataFrame, bulk: bool) -> pd.DataFrame:
    stmt = (select(OrderItem.order_id, Product.sku, Product.category, OrderItem.price_fen, OrderItem.quantity)
            .join(Product, Product.id == OrderItem.product_id).order_by(OrderItem.id))
    ids = orders["order_id"].tolist()
    if bulk:
        rows = _rows(session, stmt.where(OrderItem.order_id.between(min(ids), max(ids))))
    else:
        rows = [r for chunk in chunks(ids, IN_CHUNK) for r in _rows(session, stmt.where(OrderItem.order_id.in_(chunk)))]
    df = _frame(rows, ["order_id", "sku", "category", "price_fen", "quantity"])
    df["value_fen"] = df["price_fen"].astype(np.int64) * df["quantity"].astype(np.int64)
    return df


def _month_to_date(session: Session, shares: pd.DataFrame, periods: Iterable[str]) -> pd.DataFrame:
    """Commissionable sales each clerk already has in each month (the orders here are not in yet)."""
    clerks = shares["clerk_id"].unique().tolist()
    periods = sorted(set(periods))
    stmt = (select(Attribution.clerk_id, Attribution.period, func.sum(Attribution.commissionable_fen))
            .where(Attribution.period.in_(periods))
            .group_by(Attribution.clerk_id, Attribution.period))
    if len(clerks) <= ALL_CUSTOMERS_ABOVE:
        stmt = stmt.where(Attribution.clerk_id.in_(clerks))
    return _frame(_rows(session, stmt), ["clerk_id", "period", "commissionable_fen"])


def _attribute(session: Session, orders: pd.DataFrame, *, tz: str, closed: set[str],
               bulk: bool) -> tuple[int, int, list[dict[str, Any]]]:
    config = attribution_config(session)
    cands = _candidates(session, orders, config["last_touch_days"])
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
    mtd = _month_to_date(session, shares, o["period"].unique())
    result = cr.compute(shares, o[["order_id", "paid_at", "period", "amount_fen"]], _lines(session, o, bulk),
                        active_rules(session), mtd)

    stores = dict(session.execute(select(Staff.id, Staff.store_id).where(
        Staff.id.in_([int(c) for c in shares["clerk_id"].unique()]))).all())
    now = utcnow()
    if bulk:
        n_attr, n_earned = _book_bulk(session, shares, cands, o, result, stores, closed, now)
        return n_attr, n_earned, []
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
    _insert_ignoring_duplicates(session, Attribution, attribution_rows, ["order_id", "clerk_id"])

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
    inserted = _insert_ignoring_duplicates(session, CommissionEntry, entry_rows, ["idempotency_key"],
                                           returning=True)
    return len(attribution_rows), len(inserted), inserted


def _book_bulk(session: Session, shares: pd.DataFrame, cands: pd.DataFrame, orders: pd.DataFrame,
               result: cr.Commission, stores: dict[int, int], closed: set[str],
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


def _reverse(session: Session, orders: pd.DataFrame, *, tz: str, closed: set[str],
             bulk: bool = False) -> list[dict[str, Any]]:
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
    sums = _frame(rows, ["order_id", "clerk_id", "rule_id", "kind", "amount"])
    table = (sums.pivot_table(index=["order_id", "clerk_id", "rule_id"], columns="kind", values="amount",
                              aggfunc="sum", fill_value=0).reset_index())
    for k in ("earned", "reversed"):
        if k not in table:
            table[k] = 0
    o = orders.assign(refund_eff=_effective_refund(orders))
    o["refund_time"] = o["refunded_at"].fillna(o["cancelled_at"]).fillna(o["updated_at"])
    o["refund_period"] = attr.month_of(o["refund_time"], tz)
    table = table.merge(o[["order_id", "amount_fen", "refund_eff", "refund_period"]], on="order_id")
    due = cr.reversals(table.rename(columns={"earned": "earned_fen", "reversed": "reversed_fen",
                                             "refund_eff": "refund_fen"}))
    now = utcnow()
    entry_rows = [
        {"idempotency_key": f"reversed:{r.order_id}:{r.clerk_id}:{r.rule_id}:{r.refund_fen}",
         "clerk_id": int(r.clerk_id), "order_id": int(r.order_id), "kind": "reversed",
         "amount_fen": int(r.delta_fen), "base_fen": int(r.refund_fen), "rule_id": int(r.rule_id),
         "explanation": f"refund:{cr.yuan(int(r.refund_fen))}/{cr.yuan(int(r.amount_fen))}",
         "period": booking_period(r.refund_period, closed), "created_at": now}
        for r in due.itertuples(index=False)]
    if bulk:  # nothing is published: the lines due (net of what is already reversed) are the answer
        bulk_insert_ignoring_duplicates(session, CommissionEntry.__table__, entry_rows, ["idempotency_key"])
        return entry_rows
    return _insert_ignoring_duplicates(session, CommissionEntry, entry_rows, ["idempotency_key"], returning=True)


def _insert_ignoring_duplicates(session: Session, model: Any, rows: list[dict[str, Any]],
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
    tz = tz or brand_timezone()
    totals = {"orders": 0, "attributed": 0, "earned": 0, "reversed": 0}
    cursor: tuple[dt.datetime, int] | None = None
    while True:
        with database.transaction() as s:
            where = [Order.paid_at.is_not(None), Order.status.in_(EARNABLE + ("cancelled", "refunded"))]
            if since is not None:
                where.append(Order.paid_at >= since)
            if cursor is not None:
                where.append(tuple_(Order.paid_at, Order.id) > tuple_(*cursor))
            orders = _orders_frame(s, *where, order_by=(Order.paid_at, Order.id), limit=chunk_size)
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


# --- Manual adjustments -----------------------------------------------------------------------

def adjust(session: Session, manager: Staff, *, clerk_id: Any, amount: Any, reason: Any,
           order_id: Any = None, idempotency_key: Any = None, now: dt.datetime | None = None) -> CommissionEntry:
    """Book a manager's adjustment (positive or negative) with a reason, in the open month."""
    errors: dict[str, str] = {}
    fen = cr.parse_yuan(amount)
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
    period = booking_period(attr.month_of_time(now, brand_timezone()), closed_periods(session))
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


# --- Rules ------------------------------------------------------------------------------------

DEFAULT_RULES = (
    {"name": "全场 3%", "kind": "percent", "rate_bp": 300},
    {"name": "护肤 5%", "kind": "percent", "category": "skincare", "rate_bp": 500},
    {"name": "每单 2 元", "kind": "fixed", "amount_fen": 200},
    {"name": "月销 3 万起阶梯奖励", "kind": "tier",
     "tiers": [{"from_fen": 0, "rate_bp": 0}, {"from_fen": 3_000_000, "rate_bp": 50}, {"from_fen": 8_000_000, "rate_bp": 100}]},
)


def seed_default_rules(session: Session) -> list[CommissionRule]:
    """A starting rule set, effective from the first order on, when the brand has no rules yet."""
    if session.scalar(select(CommissionRule.id).limit(1)) is not None:
        return []
    first = session.scalar(select(func.min(Order.created_at))) or utcnow()
    rules = [CommissionRule(**values, effective_from=first) for values in DEFAULT_RULES]
    session.add_all(rules)
    session.flush()
    return rules


def create_rule(session: Session, staff: Staff, payload: Any, now: dt.datetime | None = None) -> CommissionRule:
    """Add a commission rule; it applies to orders paid from its ``effective_from`` on."""
    require_head_office(staff, "rules")
    values, errors = cr.validate_rule(_in_brand_time(payload), now or utcnow())
    if errors:
        raise _invalid_rule(errors)
    rule = CommissionRule(**values, created_by=staff.id, created_at=now or utcnow())
    session.add(rule)
    session.flush()
    return rule


def replace_rule(session: Session, staff: Staff, rule_id: int, payload: Any,
                 now: dt.datetime | None = None) -> CommissionRule:
    """Change a rule: the old one ends when the new one starts (now or later, never earlier),
    so orders already paid keep the commission they were promised."""
    require_head_office(staff, "rules")
    now = now or utcnow()
    old = _open_rule(session, rule_id, now)
    values, errors = cr.validate_rule(_in_brand_time(payload), now)
    if errors:
        raise _invalid_rule(errors)
    if values["effective_from"] < now:
        raise Invalid(t("commission.rule.invalid"), {"effective_from": t("commission.rule.change_from_now")})
    old.effective_to = max(values["effective_from"], old.effective_from)
    rule = CommissionRule(**values, created_by=staff.id, created_at=now)
    session.add(rule)
    session.flush()
    return rule


def _in_brand_time(payload: Any) -> Any:
    """The rule with its times read as DESIGN.md says: a time without an offset is in the brand's
    timezone (a date picker sends "2026-12-01T00:00"). Anything unreadable is left to the validator."""
    if not isinstance(payload, dict):
        return payload
    out = dict(payload)
    for key in ("effective_from", "effective_to"):
        try:
            out[key] = moment(payload[key], brand_zone()).isoformat()
        except (KeyError, FieldError):
            pass
    return out


def _invalid_rule(errors: dict[str, str]) -> Invalid:
    return Invalid(t("commission.rule.invalid"), field_sentences(errors, "commission.rule.error"))


def end_rule(session: Session, staff: Staff, rule_id: int, now: dt.datetime | None = None) -> CommissionRule:
    """Stop a rule for orders paid from now on."""
    require_head_office(staff, "rules")
    now = now or utcnow()
    rule = _open_rule(session, rule_id, now)
    rule.effective_to = max(now, rule.effective_from)
    session.flush()
    return rule


def _open_rule(session: Session, rule_id: int, now: dt.datetime) -> CommissionRule:
    rule = session.get(CommissionRule, rule_id)
    if rule is None:
        raise NotFound("no such rule", {"rule_id": "no such rule"})
    if rule.effective_to is not None and rule.effective_to <= now:
        raise Conflict("rule already ended", {"rule_id": "this rule has ended; create a new one"})
    return rule
