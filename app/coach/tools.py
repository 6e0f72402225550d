"""What the coach may look up or do, each bound to the asking clerk's own book.

Every tool takes the session and the clerk and answers plain JSON (money as yuan strings), so the
rules path and the model path call the same functions and the model never sees more than the
clerk could. A customer outside the clerk's followers does not exist here: lookups go through
``app.scoping``; lists start from the clerk's own follower bindings.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from app.commission.queries import clerk_month
from app.config import brand_timezone
from app.scoping import where_visible
from app.targets.progress import progress
from app.today.query import today_rows
from app.today.serialize import today_item
from models import Customer, CustomerScore, FollowerBinding, Order, OrderItem, Product, Staff
from models.money import parse_yuan, yuan

PLAN_POOL = 300        # followers the gap plan may choose from (the contact policy's filter applied)
PLAN_MAX = 20          # a day's worth of contacts: the plan never lists more
RECENT_DAYS = 3        # as the Today list: nobody contacted in the last three days


@dataclass
class Asker:
    session: Session
    clerk: Staff
    now: dt.datetime

    @property
    def local_day(self) -> dt.date:
        return self.now.astimezone(brand_timezone()).date()

    @property
    def period(self) -> str:
        return self.local_day.strftime("%Y-%m")


def month_progress(a: Asker) -> dict[str, Any]:
    """This month's attributed sales and commission, with the target and the gap when one is set."""
    month = clerk_month(a.session, a.clerk, a.period, a.now)["month"]
    got = progress(a.session, a.clerk, a.period, a.now)
    # Sales after refunds: the figure the target is measured against, so sales + gap = target.
    return {"period": a.period, "sales": got["achieved"], "orders": month["orders"], "commission": month["commission"],
            "target": got["target"], "gap": got["gap"], "days_left": got["days_left"],
            "pace_per_day": got["pace_per_day"]}


def today_list(a: Asker, limit: int = 10) -> list[dict[str, Any]]:
    """The clerk's Today list: followers by expected value, after the contact policy's filter."""
    rows = today_rows(a.session, a.clerk, a.clerk.id, a.now, limit, RECENT_DAYS, a.local_day)
    zone = brand_timezone()
    return [today_item(r, a.now, zone) for r in rows]


def gap_plan(a: Asker, gap_fen: int) -> dict[str, Any]:
    """Followers by expected value until their expected sales cover ``gap_fen`` (at most a day's
    worth); says how far the whole eligible book gets when it cannot."""
    items = today_list(a, PLAN_POOL)
    chosen, total = [], 0
    for item in items:
        if total >= gap_fen or len(chosen) >= PLAN_MAX:
            break
        chosen.append(item)
        total += _fen(item["expected_value"])
    book_total = sum(_fen(i["expected_value"]) for i in items)
    return {"gap": yuan(gap_fen), "customers": chosen, "expected": yuan(total), "covers": total >= gap_fen,
            "eligible": len(items), "eligible_expected": yuan(book_total)}


def _fen(amount: str) -> int:
    """A yuan string from a tool result ("536.00") back in fen."""
    return parse_yuan(amount)


def followers(a: Asker) -> list[tuple[int, str]]:
    """(id, name) of the clerk's followers — for finding the people a question names."""
    rows = a.session.execute(
        select(Customer.id, Customer.name).join(FollowerBinding, FollowerBinding.customer_id == Customer.id)
        .where(FollowerBinding.clerk_id == a.clerk.id, FollowerBinding.ended_at.is_(None)).distinct())
    return [(cid, name) for cid, name in rows if name]


def customer_card(a: Asker, customer_id: int) -> dict[str, Any] | None:
    """Name, orders, spend and the ranker's reasons for one follower (None: not the clerk's)."""
    row = a.session.execute(
        select(Customer, CustomerScore).outerjoin(CustomerScore, CustomerScore.customer_id == Customer.id)
        .where(Customer.id == customer_id, where_visible(a.clerk))).first()
    if row is None:
        return None
    customer, score = row
    card = {"id": customer.id, "name": customer.name, "paid_orders": customer.paid_orders or 0,
            "total_spent": yuan(customer.total_spent_fen or 0),
            "last_paid_at": customer.last_paid_at.isoformat() if customer.last_paid_at else None,
            "expected_value": yuan(score.expected_value_fen) if score else None, "reasons": []}
    if score is not None:
        from app.today.serialize import reason_json
        from assistant.reasons import PurchaseFacts, current_reasons

        facts = PurchaseFacts.of(customer.paid_orders, customer.last_paid_at, a.now, brand_timezone(),
                                 customer.total_spent_fen)
        card["reasons"] = [reason_json(r)["text"] for r in current_reasons(score.reasons or [], facts, score.scored_at)]
        card["action"] = score.action
    return card


def last_purchases(a: Asker, customer_id: int, orders: int = 3) -> list[dict[str, Any]]:
    """The follower's latest paid orders with what was in them."""
    rows = a.session.scalars(
        select(Order).where(Order.customer_id == customer_id, Order.paid_at.is_not(None), where_visible(a.clerk, Order.customer_id))
        .order_by(Order.paid_at.desc()).limit(orders))
    out = []
    for order in rows:
        items = a.session.execute(select(Product.name, OrderItem.quantity).join(Product, Product.id == OrderItem.product_id)
                                  .where(OrderItem.order_id == order.id)).all()
        out.append({"paid_at": order.paid_at.isoformat(), "amount": yuan(order.amount_fen),
                    "items": [{"name": n, "quantity": q} for n, q in items]})
    return out


def birthdays(a: Asker, days: int = 7) -> list[dict[str, Any]]:
    """Followers whose birthday falls in the next ``days`` days (today included)."""
    today = a.local_day
    wanted = [(today + dt.timedelta(days=i)) for i in range(days)]
    rows = a.session.execute(
        select(Customer.id, Customer.name, Customer.birthday).join(FollowerBinding, FollowerBinding.customer_id == Customer.id)
        .where(FollowerBinding.clerk_id == a.clerk.id, FollowerBinding.ended_at.is_(None), Customer.birthday.is_not(None))
        .distinct())
    found = []
    for cid, name, born in rows:
        for day in wanted:
            if (born.month, born.day) == (day.month, day.day):
                found.append({"id": cid, "name": name, "day": day.isoformat(), "in_days": (day - today).days})
    return sorted(found, key=lambda f: (f["in_days"], f["name"]))


def running_out(a: Asker, limit: int = 20) -> list[dict[str, Any]]:
    """Followers the ranker says are due to buy again (their usual cycle is up)."""
    rows = a.session.execute(
        select(Customer.id, Customer.name, CustomerScore.expected_value_fen)
        .join(FollowerBinding, and_(FollowerBinding.customer_id == Customer.id, FollowerBinding.clerk_id == a.clerk.id,
                                    FollowerBinding.ended_at.is_(None)))
        .join(CustomerScore, CustomerScore.customer_id == Customer.id)
        .where(CustomerScore.action == "replenish")
        .order_by(CustomerScore.expected_value_fen.desc(), Customer.id).limit(limit).distinct())
    out = []
    for cid, name, _ in rows:
        card = customer_card(a, cid)
        out.append({"id": cid, "name": name, "why": "；".join(card["reasons"][:2]) if card else ""})
    return out
