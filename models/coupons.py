"""Coupons (优惠券, 客户权益): templates head office defines and the unique codes issued from them.

A ``CouponTemplate`` says what a coupon is worth (满减 amount off over a threshold, 折扣 percent off
with a cap, 无门槛 no threshold), how long it lasts (N days from issue, or fixed dates), what it
applies to (all products, some categories, some SKUs) and how many may be issued (count and money
budgets, a per-customer limit). A ``Coupon`` is one code issued to one customer; an order redeems
it once. ``issued_count`` and ``reserved_fen`` on the template are the budget counters, moved by a
conditional UPDATE so that concurrent issuing never overspends.
"""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, str_enum, utcnow


class CouponKind(str, enum.Enum):
    amount_off = "amount_off"      # 满减: value off when the eligible items reach the threshold
    percent_off = "percent_off"    # 折扣: percent off the eligible items, at most cap
    no_threshold = "no_threshold"  # 无门槛: value off any order


class CouponState(str, enum.Enum):
    issued = "issued"
    redeemed = "redeemed"
    expired = "expired"
    void = "void"


class CouponSource(str, enum.Enum):
    task = "task"
    campaign = "campaign"
    automation = "automation"
    clerk = "clerk"
    api = "api"


COUPON_KINDS = tuple(k.value for k in CouponKind)
COUPON_SOURCES = tuple(s.value for s in CouponSource)


class CouponTemplate(Base):
    __tablename__ = "coupon_templates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[CouponKind] = mapped_column(str_enum(CouponKind, 16))
    value_fen: Mapped[int | None] = mapped_column(BigInteger)   # amount_off / no_threshold
    percent: Mapped[int | None]                                 # percent_off: 20 → 20% off (8折)
    cap_fen: Mapped[int | None] = mapped_column(BigInteger)     # percent_off: the most it takes off
    threshold_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    valid_days: Mapped[int | None]
    valid_from: Mapped[dt.datetime | None]
    valid_to: Mapped[dt.datetime | None]
    scope: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"categories": [...], "skus": [...]}
    per_customer_limit: Mapped[int] = mapped_column(default=1)
    budget_count: Mapped[int | None]
    budget_fen: Mapped[int | None] = mapped_column(BigInteger)
    issued_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    refund_returns_coupon: Mapped[bool] = mapped_column(default=False, server_default=false())
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def face_value_fen(self) -> int:
        """The most one coupon can take off: what it reserves of the money budget."""
        return int(self.cap_fen if self.kind == CouponKind.percent_off else self.value_fen or 0)


class Coupon(Base):
    __tablename__ = "coupons"
    __table_args__ = (
        # Issuing is idempotent per (template, customer, source): a retried request finds its coupon.
        UniqueConstraint("template_id", "customer_id", "source", "source_ref"),
        Index("ix_coupons_customer_state", "customer_id", "state"),
        Index("ix_coupons_source", "source", "source_ref"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    issued_at: Mapped[dt.datetime]
    valid_from: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime]
    source: Mapped[CouponSource] = mapped_column(str_enum(CouponSource, 16))
    source_ref: Mapped[str] = mapped_column(String(64), default="")  # the task/campaign id, clerk:month…
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    state: Mapped[CouponState] = mapped_column(str_enum(CouponState, 16), default=CouponState.issued)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    redeemed_at: Mapped[dt.datetime | None]
    discount_fen: Mapped[int | None] = mapped_column(BigInteger)
