"""Redeeming coupons inside the order transaction, and giving them back on cancel or refund.

``Redemptions`` serves one batch of orders (``app.ingest.orders.record_orders``). Before any order is
written it checks each order's ``coupon_code`` (known, this customer's, in its dates, threshold and
scope met, phone and address limits) and then *claims* the coupon with a conditional UPDATE
(``… WHERE state = 'issued'``): of any number of orders presenting one code at the same instant,
exactly one update finds the coupon still issued; every other order is rejected with the reason
and nothing of it is written. The templates involved are locked first (``FOR UPDATE`` on
PostgreSQL; SQLite's write transactions are serial), so the phone and address counts are current.

Anti-abuse (防薅羊毛): a template's coupons are redeemed at most ``per_customer_limit`` times per
customer and per phone number, and at most ``per_address`` times (brand setting ``coupon_limits``,
default 3) per address; the customer's stored phone and address are compared as stored.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from app.coupons import terms
from app.db import chunks
from app.i18n import t
from models import Customer, Order, Product, Setting
from models.coupons import Coupon, CouponState, CouponTemplate

LIMITS_KEY = "coupon_limits"
DEFAULT_PER_ADDRESS = 3
REASONS = ("unknown", "used", "expired", "not_yet_valid", "void", "other_customer", "below_threshold",
           "out_of_scope", "phone_limit", "address_limit", "customer_limit", "fixed")


def reason_text(code: str, **params: Any) -> str:
    return t(f"coupons.redeem.{code}", **params)


def per_address_limit(session: Session) -> int:
    row = session.get(Setting, LIMITS_KEY)
    return int((row.value if row is not None else {}).get("per_address", DEFAULT_PER_ADDRESS))


class Redemptions:
    """The coupon codes of one batch of orders: checked, claimed, then tied to their orders."""

    def __init__(self, session: Session, codes: set[str], product_ids: set[int], now: dt.datetime) -> None:
        self.session = session
        self.now = now
        self.coupons: dict[str, Coupon] = {}
        self.claimed: dict[str, tuple[int, int]] = {}  # order external id → (coupon id, discount)
        self.claimed_codes: set[str] = set()
        if not codes:
            return
        for part in chunks(sorted(codes)):
            self.coupons.update({c.code: c for c in session.scalars(select(Coupon).where(Coupon.code.in_(part)))})
        template_ids = sorted({c.template_id for c in self.coupons.values()})
        # Lock in id order (no deadlocks), then read everything the checks count.
        self.templates = {tp.id: tp for tp in session.scalars(
            select(CouponTemplate).where(CouponTemplate.id.in_(template_ids)).order_by(CouponTemplate.id)
            .with_for_update())}
        self.coupons = {c.code: c for c in session.scalars(
            select(Coupon).where(Coupon.id.in_([c.id for c in self.coupons.values()]))
            .execution_options(populate_existing=True))}
        self.products = {pid: (sku, cat) for pid, sku, cat in session.execute(
            select(Product.id, Product.sku, Product.category).where(Product.id.in_(list(product_ids))))} if product_ids else {}
        self.per_address = per_address_limit(session)
        self.used: Counter[tuple[str, int, str]] = Counter()  # (kind, template, value) redeemed in this batch
        self._people: dict[int, tuple[str | None, str | None]] = {}

    def _person(self, customer_id: int) -> tuple[str | None, str | None]:
        if customer_id not in self._people:
            row = self.session.execute(select(Customer.phone, Customer.address).where(Customer.id == customer_id)).one()
            self._people[customer_id] = (_clean(row.phone), _clean(row.address))
        return self._people[customer_id]

    def _redeemed_by(self, template_id: int, clause) -> int:
        return self.session.scalar(select(func.count()).select_from(Coupon).join(Customer, Customer.id == Coupon.customer_id)
                                   .where(Coupon.template_id == template_id, Coupon.state == CouponState.redeemed,
                                          clause)) or 0

    def check(self, code: str, customer_id: int, placed_at: dt.datetime,
              items: list[tuple[int, int, int]]) -> tuple[str | None, int]:
        """(reason code or None, discount in fen) for the order presenting ``code``."""
        coupon = self.coupons.get(code)
        if coupon is None:
            return "unknown", 0
        template = self.templates[coupon.template_id]
        if coupon.state == CouponState.void:
            return "void", 0
        if coupon.state == CouponState.redeemed or code in self.claimed_codes:
            return "used", 0
        if coupon.customer_id != customer_id:
            return "other_customer", 0
        if coupon.expires_at <= placed_at or coupon.state == CouponState.expired:
            return "expired", 0
        if coupon.valid_from is not None and placed_at < coupon.valid_from:
            return "not_yet_valid", 0
        lines = [(*self.products.get(pid, ("", "")), q, price) for pid, q, price in items]
        eligible = terms.eligible_subtotal(template.scope, lines)
        if eligible == 0:
            return "out_of_scope", 0
        if eligible < template.threshold_fen:
            return "below_threshold", 0
        reason = self._limits(template, customer_id)
        if reason:
            return reason, 0
        return None, terms.discount(template.kind, template.value_fen, template.percent, template.cap_fen, eligible)

    def _limits(self, template: CouponTemplate, customer_id: int) -> str | None:
        phone, address = self._person(customer_id)
        limit = template.per_customer_limit
        if self._redeemed_by(template.id, Coupon.customer_id == customer_id) + self.used["customer", template.id, str(customer_id)] >= limit:
            return "customer_limit"
        if phone and self._redeemed_by(template.id, Customer.phone == phone) + self.used["phone", template.id, phone] >= limit:
            return "phone_limit"
        if address and (self._redeemed_by(template.id, Customer.address == address)
                        + self.used["address", template.id, address]) >= self.per_address:
            return "address_limit"
        return None

    def claim(self, order_external_id: str, code: str, customer_id: int, placed_at: dt.datetime,
              items: list[tuple[int, int, int]]) -> str | None:
        """Check and claim the coupon for this order; the reason (a sentence) when refused."""
        reason, discount = self.check(code, customer_id, placed_at, items)
        if reason is None:
            coupon = self.coupons[code]
            claimed = self.session.execute(
                update(Coupon).where(Coupon.id == coupon.id, Coupon.state == CouponState.issued)
                .values(state=CouponState.redeemed, redeemed_at=self.now, discount_fen=discount)
                .execution_options(synchronize_session=False)).rowcount
            if claimed != 1:
                reason = "used"  # another order took it a moment ago
            else:
                self.claimed[order_external_id] = (coupon.id, discount)
                self.claimed_codes.add(code)
                phone, address = self._person(customer_id)
                self.used["customer", coupon.template_id, str(customer_id)] += 1
                if phone:
                    self.used["phone", coupon.template_id, phone] += 1
                if address:
                    self.used["address", coupon.template_id, address] += 1
        return None if reason is None else reason_text(reason)

    def link(self, order_ids: dict[str, int]) -> None:
        """Tie each claimed coupon to its order, now that the orders have ids."""
        rows = [{"id": coupon_id, "order_id": order_ids[ext]} for ext, (coupon_id, _d) in self.claimed.items()]
        if rows:
            self.session.execute(update(Coupon), rows)


def return_coupons(session: Session, order_ids: list[int]) -> int:
    """Give back the coupons of these orders where their status says so: always for a cancelled
    order, for a refunded one only when the template says ``refund_returns_coupon``."""
    returned = 0
    for part in chunks(order_ids):
        due = select(Coupon.id).join(Order, Order.id == Coupon.order_id).join(
            CouponTemplate, CouponTemplate.id == Coupon.template_id).where(
            Coupon.order_id.in_(part), Coupon.state == CouponState.redeemed,
            or_(Order.status == "cancelled",
                and_(Order.status == "refunded", CouponTemplate.refund_returns_coupon.is_(True))))
        ids = list(session.scalars(due))
        if ids:
            returned += session.execute(update(Coupon).where(Coupon.id.in_(ids)).values(
                state=CouponState.issued, order_id=None, redeemed_at=None, discount_fen=None)
                .execution_options(synchronize_session=False)).rowcount
    return returned


def _clean(value: str | None) -> str | None:
    return (value or "").strip() or None
