"""Attribution of orders to clerks and the append-only commission ledger."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow


class CommissionRule(Base):
    """kind: percent (rate_bp of the line), fixed (amount_fen per order), tier, exclusion."""

    __tablename__ = "commission_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(40))
    sku: Mapped[str | None] = mapped_column(String(64))
    rate_bp: Mapped[int | None]  # basis points: 300 = 3 %
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    tiers: Mapped[list[Any] | None] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(default=100)
    effective_from: Mapped[dt.datetime]
    effective_to: Mapped[dt.datetime | None]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Attribution(Base):
    """Which clerk an order counts for, and the rule that decided it.

    An order has one row per clerk it counts for: one row at share 10000 bp, or several rows
    summing to 10000 when a split rule shares it. Written once, never changed: a later handover
    does not move an order that was already attributed.
    """

    __tablename__ = "attributions"
    __table_args__ = (
        UniqueConstraint("order_id", "clerk_id"),
        Index("ix_attributions_clerk_period", "clerk_id", "period"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    rule: Mapped[str] = mapped_column(String(32))  # owner, last_touch, in_store, split
    share_bp: Mapped[int] = mapped_column(default=10000)
    # The clerk's store when the order was attributed, so a later transfer keeps history put.
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    period: Mapped[str] = mapped_column(String(7), default="")  # YYYY-MM the order was paid in
    sales_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # this clerk's share of the order
    # The share after exclusions (clearance…): what percent and tier rules count.
    commissionable_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # why: binding since, last message at
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CommissionEntry(Base):
    """Append-only: earned, reversed or adjusted. Totals are sums of entries, never stored."""

    __tablename__ = "commission_entries"
    __table_args__ = (Index("ix_commission_entries_clerk_period", "clerk_id", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # earned, reversed, adjusted
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    base_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("commission_rules.id"))
    explanation: Mapped[str | None] = mapped_column(String(255))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM it is booked in
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CommissionPeriod(Base):
    """A closed month: later corrections are booked in the next open month."""

    __tablename__ = "commission_periods"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    closed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
