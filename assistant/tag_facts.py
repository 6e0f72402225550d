"""What the tag rules read and what they produce: ``Facts`` loaded set-based, and the ``TagResult``.

``load_facts`` gathers everything the rules need in five grouped queries (never a query per
customer), for a few customers or for all of them.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from models import Customer, FollowerBinding, Order, OrderItem, Product
from models.commerce import PAID_STATUSES

Progress = Callable[[str], None]


def paid_order_clause():
    """A paid order: paid or later, and not refunded in full (partial refunds still count)."""
    return and_(Order.status.in_(sorted(PAID_STATUSES)), Order.refund_amount_fen < Order.amount_fen)


CUSTOMER_COLUMNS = ["id", "birthday", "address", "province", "last_inbound_at"]
ORDER_COLUMNS = ["customer_id", "paid_orders", "spent_fen", "first_paid_at", "last_paid_at", "max_unpaid_fen"]
LAST_ITEM_COLUMNS = ["customer_id", "quantity", "usage_days", "category"]
CATEGORY_COLUMNS = ["customer_id", "category", "spend_fen", "quantity"]
FOLLOWED_COLUMNS = ["customer_id", "first_followed_at"]


def records_frame(rows: Sequence, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=columns)


def _frame_of(rows: str, columns: list[str]) -> cached_property:
    """A cached DataFrame of the ``rows`` attribute, read once by the columnar path."""
    return cached_property(lambda self: records_frame(getattr(self, rows), columns))


@dataclass
class Facts:
    """The rows the rules read; as DataFrames for the columnar path, raw for the row-wise one."""

    customer_rows: list   # id, birthday, address, province, last_inbound_at
    order_rows: list      # customer_id, paid_orders, spent_fen, first/last paid, max_unpaid_fen
    last_item_rows: list  # items of each customer's last paid order
    category_rows: list   # (customer_id, category) → spend_fen, quantity
    followed_rows: list   # customer_id → first_followed_at (active bindings)

    customers = _frame_of("customer_rows", CUSTOMER_COLUMNS)
    orders = _frame_of("order_rows", ORDER_COLUMNS)
    last_items = _frame_of("last_item_rows", LAST_ITEM_COLUMNS)
    categories = _frame_of("category_rows", CATEGORY_COLUMNS)
    followed = _frame_of("followed_rows", FOLLOWED_COLUMNS)


@dataclass
class TagResult:
    derived: pd.DataFrame  # id → stage, paid_orders, total_spent_fen, first_paid_at, last_paid_at
    tags: pd.DataFrame     # customer_id, name, reason


def scoped(stmt, column, customer_ids: Sequence[int] | None):
    """``stmt`` limited to ``customer_ids`` (all customers when None)."""
    return stmt if customer_ids is None else stmt.where(column.in_(list(customer_ids)))


def load_facts(session: Session, customer_ids: Sequence[int] | None = None,
               progress: Progress | None = None) -> Facts:
    """Everything the rules need, in five set-based queries (all customers when ids is None)."""
    step = progress or (lambda _name: None)
    paid = paid_order_clause()
    spend = Order.amount_fen - Order.refund_amount_fen
    customers = session.execute(scoped(select(
        Customer.id, Customer.birthday, Customer.address, Customer.province, Customer.last_inbound_at),
        Customer.id, customer_ids)).all()
    step("customers")

    orders = session.execute(scoped(select(
        Order.customer_id,
        func.count().filter(paid),
        func.coalesce(func.sum(spend).filter(paid), 0),
        func.min(Order.paid_at).filter(paid),
        func.max(Order.paid_at).filter(paid),
        func.max(Order.amount_fen).filter(Order.status == "created"),
    ).group_by(Order.customer_id), Order.customer_id, customer_ids)).all()
    step("orders")

    last = scoped(select(Order.customer_id, func.max(Order.paid_at).label("paid_at"))
                   .where(paid).group_by(Order.customer_id), Order.customer_id, customer_ids).subquery()
    last_items = session.execute(
        select(Order.customer_id, OrderItem.quantity, Product.usage_days, Product.category)
        .join(last, and_(Order.customer_id == last.c.customer_id, Order.paid_at == last.c.paid_at))
        .join(OrderItem, OrderItem.order_id == Order.id).join(Product, Product.id == OrderItem.product_id)
        .where(paid)).all()
    step("last purchases")

    categories = session.execute(scoped(
        select(Order.customer_id, Product.category, func.sum(OrderItem.quantity * OrderItem.price_fen),
               func.sum(OrderItem.quantity))
        .join(OrderItem, OrderItem.order_id == Order.id).join(Product, Product.id == OrderItem.product_id)
        .where(paid).group_by(Order.customer_id, Product.category), Order.customer_id, customer_ids)).all()
    step("categories")

    followed = session.execute(scoped(
        select(FollowerBinding.customer_id, func.min(FollowerBinding.since))
        .where(FollowerBinding.ended_at.is_(None)).group_by(FollowerBinding.customer_id),
        FollowerBinding.customer_id, customer_ids)).all()
    step("followers")
    return Facts(customers, orders, last_items, categories, followed)

