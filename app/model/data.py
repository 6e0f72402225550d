"""The ranker's inputs read from the database, set-based: one query per table, never per customer."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models import Conversation, Customer, FollowerBinding, Message, Order, OrderItem, Product
from models.commerce import PAID_STATUSES

FEN_PER_YUAN = 100.0


def _frame(session: Session, stmt: Select, columns: list[str]) -> pd.DataFrame:
    rows = session.execute(stmt).all()
    return pd.DataFrame.from_records(rows, columns=columns)


def _only(stmt: Select, column, customer_ids: list[int] | None) -> Select:
    return stmt if customer_ids is None else stmt.where(column.in_(customer_ids))


def load_inputs(session: Session, customer_ids: list[int] | None = None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """(transactions, signals) for the whole brand, or only ``customer_ids``. Money is in yuan."""
    # One row per paid order line; an order recorded without lines counts as one line of its amount.
    lines = (select(Order.customer_id, Order.paid_at, func.coalesce(OrderItem.quantity, 1),
                    func.coalesce(OrderItem.price_fen * OrderItem.quantity, Order.amount_fen),
                    Product.sku, Product.category, Product.usage_days)
             .select_from(Order).outerjoin(OrderItem, OrderItem.order_id == Order.id)
             .outerjoin(Product, Product.id == OrderItem.product_id)
             .where(Order.status.in_(PAID_STATUSES), Order.paid_at.is_not(None)))
    tx = _frame(session, _only(lines, Order.customer_id, customer_ids),
                ["customer_id", "date", "quantity", "amount", "sku", "category", "usage_days"])
    tx["amount"] = tx["amount"].astype(float) / FEN_PER_YUAN
    tx["usage_days"] = pd.to_numeric(tx["usage_days"], errors="coerce").astype(float)

    msgs = (select(Conversation.customer_id, Message.created_at, Message.direction)
            .join(Conversation, Conversation.id == Message.conversation_id))
    messages = _frame(session, _only(msgs, Conversation.customer_id, customer_ids), ["customer_id", "date", "direction"])
    messages["direction"] = messages["direction"].map(lambda d: getattr(d, "value", d))

    follows = select(FollowerBinding.customer_id, FollowerBinding.since).where(FollowerBinding.ended_at.is_(None))
    followers = _frame(session, _only(follows, FollowerBinding.customer_id, customer_ids), ["customer_id", "since"])

    people = select(Customer.id, Customer.birthday, Customer.created_at)
    customers = _frame(session, _only(people, Customer.id, customer_ids), ["customer_id", "birthday", "created_at"])

    # Every order's placement and when it stopped being payable (paid or cancelled): at any cutoff
    # an order placed before it and not yet closed was waiting for payment (催付).
    orders = select(Order.customer_id, Order.created_at, Order.amount_fen,
                    func.coalesce(Order.paid_at, Order.cancelled_at))
    unpaid = _frame(session, _only(orders, Order.customer_id, customer_ids),
                    ["customer_id", "date", "amount", "closed_date"])
    unpaid["amount"] = unpaid["amount"].astype(float) / FEN_PER_YUAN
    unpaid["closed_date"] = pd.to_datetime(unpaid["closed_date"], utc=True)
    return tx, {"messages": messages, "followers": followers, "customers": customers, "unpaid": unpaid}
