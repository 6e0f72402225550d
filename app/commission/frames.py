"""Set-based reads for attribution: orders, lines, candidate clerks and month-to-date sales as pandas frames.

Rows are read as the driver's plain tuples and converted a whole column at a time (never an
object per row), which is most of the cost on millions of orders. A batch over a range of
order ids reads ``BETWEEN`` the first and last; an event's few orders read ``IN`` lists of at
most ``IN_CHUNK`` ids.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from app.commission import link_rule
from app.db import chunks
from assistant import attribution as attr
from models import (Attribution, Conversation, Direction, FollowerBinding, Message, Order, OrderItem,
                    Product)

ALL_CUSTOMERS_ABOVE = 2000  # past this many customers, load bindings/touches in one scan, not IN (…)
IN_CHUNK = 5000  # order ids per IN list and rows per RETURNING insert (SQLite ≥ 3.32 binds 32,766)


def raw(column: Any) -> Any:
    """The column as the driver returns it: no per-row Python conversion (pandas converts whole
    columns instead), which is most of the read cost on millions of rows."""
    return type_coerce(column, NullType())


_ORDER_COLS = tuple(raw(c) for c in (
    Order.id, Order.customer_id, Order.clerk_id, Order.status, Order.paid_at, Order.amount_fen,
    Order.refund_amount_fen, Order.refunded_at, Order.cancelled_at, Order.updated_at))
_ORDER_NAMES = ["order_id", "customer_id", "clerk_id", "status", "paid_at", "amount_fen", "refund_fen",
                "refunded_at", "cancelled_at", "updated_at"]
if link_rule.REF_COLUMN is not None:  # the personal link an order came through (the "link" rule)
    _ORDER_COLS += (raw(link_rule.REF_COLUMN),)
    _ORDER_NAMES.append("ref")


def fetch_rows(session: Session, stmt: Any) -> list[tuple[Any, ...]]:
    """The statement's rows as the DBAPI cursor's plain tuples: SQLAlchemy's Row objects (and the
    ORM's result wrapping) cost more than the read itself on hundreds of thousands of rows."""
    result = session.connection().execute(stmt)
    try:
        return result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()


def frame(rows: Sequence[Any], columns: list[str], times: Iterable[str] = ()) -> pd.DataFrame:
    """Rows as a frame, the ``times`` columns as UTC timestamps."""
    # One C-level pass over the tuples (pandas' record reader), not a probe of each row.
    df = pd.DataFrame.from_records(rows, columns=columns, coerce_float=False) if rows else \
        pd.DataFrame({c: [] for c in columns})
    for c in times:
        df[c] = pd.to_datetime(df[c], utc=True, format="ISO8601").dt.as_unit("us")
    return df


def orders_frame(session: Session, *where: Any, order_by: Any = None, limit: int | None = None) -> pd.DataFrame:
    """The orders matching ``where`` as a frame of the columns attribution reads."""
    stmt = select(*_ORDER_COLS).where(*where)
    if order_by is not None:
        stmt = stmt.order_by(*order_by)
    if limit:
        stmt = stmt.limit(limit)
    rows = fetch_rows(session, stmt)
    df = frame(rows, _ORDER_NAMES, ("paid_at", "refunded_at", "cancelled_at", "updated_at"))
    df["amount_fen"] = df["amount_fen"].astype(np.int64)
    df["refund_fen"] = df["refund_fen"].fillna(0).astype(np.int64)
    return df


def attributed_order_ids(session: Session, order_ids: list[int], bulk: bool) -> set[int]:
    """Which of ``order_ids`` are attributed already."""
    if bulk:
        lo, hi = min(order_ids), max(order_ids)
        return set(session.scalars(select(Attribution.order_id).where(Attribution.order_id.between(lo, hi))))
    found: set[int] = set()
    for chunk in chunks(order_ids, IN_CHUNK):
        found.update(session.scalars(select(Attribution.order_id).where(Attribution.order_id.in_(chunk))))
    return found


def candidates(session: Session, orders: pd.DataFrame, days: int) -> pd.DataFrame:
    """Each order's candidate clerks: the in-store clerk, the owner then, the last clerk to
    write within ``days``, the clerk whose personal link it came through."""
    customers = orders["customer_id"].unique().tolist()
    first, last = orders["paid_at"].min().to_pydatetime(), orders["paid_at"].max().to_pydatetime()
    b_stmt = select(FollowerBinding.customer_id, FollowerBinding.clerk_id, raw(FollowerBinding.since),
                    raw(FollowerBinding.ended_at)).where(FollowerBinding.is_owner.is_(True),
                                                         FollowerBinding.since <= last)
    t_stmt = (select(Conversation.customer_id, Message.sender_id, raw(Message.created_at))
              .join(Conversation, Conversation.id == Message.conversation_id)
              .where(Message.direction == Direction.outbound, Message.sender_id.is_not(None),
                     Message.created_at >= first - dt.timedelta(days=days), Message.created_at <= last))
    if len(customers) <= ALL_CUSTOMERS_ABOVE:
        b_stmt = b_stmt.where(FollowerBinding.customer_id.in_(customers))
        t_stmt = t_stmt.where(Conversation.customer_id.in_(customers))
    bindings = frame(fetch_rows(session, b_stmt), ["customer_id", "clerk_id", "since", "ended_at"],
                     ("since", "ended_at"))
    touches = frame(fetch_rows(session, t_stmt), ["customer_id", "clerk_id", "sent_at"], ("sent_at",))
    cands = attr.candidates_frame(orders, bindings, touches, days)
    return attr.with_links(cands, link_rule.link_candidates(session, orders))


def order_lines(session: Session, orders: pd.DataFrame, bulk: bool) -> pd.DataFrame:
    """The orders' lines with their product's sku and category, and each line's value."""
    stmt = (select(OrderItem.order_id, Product.sku, Product.category, OrderItem.price_fen, OrderItem.quantity)
            .join(Product, Product.id == OrderItem.product_id).order_by(OrderItem.id))
    ids = orders["order_id"].tolist()
    if bulk:
        rows = fetch_rows(session, stmt.where(OrderItem.order_id.between(min(ids), max(ids))))
    else:
        rows = [r for chunk in chunks(ids, IN_CHUNK)
                for r in fetch_rows(session, stmt.where(OrderItem.order_id.in_(chunk)))]
    df = frame(rows, ["order_id", "sku", "category", "price_fen", "quantity"])
    df["value_fen"] = df["price_fen"].astype(np.int64) * df["quantity"].astype(np.int64)
    return df


def month_to_date(session: Session, shares: pd.DataFrame, periods: Iterable[str]) -> pd.DataFrame:
    """Commissionable sales each clerk already has in each month (the orders here are not in yet)."""
    clerks = shares["clerk_id"].unique().tolist()
    periods = sorted(set(periods))
    stmt = (select(Attribution.clerk_id, Attribution.period, func.sum(Attribution.commissionable_fen))
            .where(Attribution.period.in_(periods))
            .group_by(Attribution.clerk_id, Attribution.period))
    if len(clerks) <= ALL_CUSTOMERS_ABOVE:
        stmt = stmt.where(Attribution.clerk_id.in_(clerks))
    return frame(fetch_rows(session, stmt), ["clerk_id", "period", "commissionable_fen"])
