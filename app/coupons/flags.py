"""Patterns head office should look at (防薅羊毛): one shipping address redeeming many customers' codes.

Customers who share an address (a household) are normal; a dozen "customers" at one address each
redeeming a new-customer coupon is the classic 薅羊毛 pattern. The per-address redemption limit
(``app.coupons.redeem``) stops it per template; this list shows it across templates.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Customer, utcnow
from models.coupons import Coupon, CouponState
from models.money import yuan


def shared_address_flags(session: Session, *, days: int = 30, min_customers: int = 3,
                         now: dt.datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Addresses whose coupons were redeemed by at least ``min_customers`` customers in ``days``."""
    since = (now or utcnow()) - dt.timedelta(days=days)
    customers = func.count(func.distinct(Coupon.customer_id))
    rows = session.execute(
        select(Customer.address, customers.label("customers"), func.count().label("redemptions"),
               func.coalesce(func.sum(Coupon.discount_fen), 0).label("discount"),
               func.max(Coupon.redeemed_at).label("last"))
        .join(Customer, Customer.id == Coupon.customer_id)
        .where(Coupon.state == CouponState.redeemed, Coupon.redeemed_at >= since,
               Customer.address.is_not(None), Customer.address != "")
        .group_by(Customer.address).having(customers >= min_customers)
        .order_by(customers.desc(), func.count().desc()).limit(limit))
    flagged = [dict(r._mapping) for r in rows]
    names = _names_at(session, [f["address"] for f in flagged], since)
    return [{"kind": "shared_address", "address": f["address"], "customers": int(f["customers"]),
             "redemptions": int(f["redemptions"]), "discount": yuan(int(f["discount"])),
             "last_redeemed_at": f["last"].isoformat() if f["last"] else None,
             "customer_names": names.get(f["address"], [])[:20]} for f in flagged]


def _names_at(session: Session, addresses: list[str], since: dt.datetime) -> dict[str, list[str]]:
    if not addresses:
        return {}
    found: dict[str, list[str]] = {}
    for address, name in session.execute(
            select(Customer.address, Customer.name).distinct().join(Coupon, Coupon.customer_id == Customer.id)
            .where(Customer.address.in_(addresses), Coupon.state == CouponState.redeemed, Coupon.redeemed_at >= since)
            .order_by(Customer.address, Customer.name)):
        found.setdefault(address, []).append(name)
    return found
