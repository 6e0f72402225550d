"""Monthly sales targets (业绩目标): a clerk's or a store's goal for one month, with its history.

A target is never edited in place: setting a new value marks the current row superseded and adds
a row, so the screens show the value in force and who changed it from what, and when. At most one
row per (month, clerk) and per (month, store) is current (partial unique indexes). Amounts are fen.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow

CURRENT = "superseded_at IS NULL"


class SalesTarget(Base):
    __tablename__ = "sales_targets"
    __table_args__ = (
        CheckConstraint("(clerk_id IS NULL) <> (store_id IS NULL)", name="one_subject"),
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        Index("ix_sales_targets_period_clerk", "period", "clerk_id"),
        Index("ix_sales_targets_period_store", "period", "store_id"),
        Index("uq_sales_targets_current_clerk", "period", "clerk_id", unique=True,
              sqlite_where=text(f"{CURRENT} AND clerk_id IS NOT NULL"),
              postgresql_where=text(f"{CURRENT} AND clerk_id IS NOT NULL")),
        Index("uq_sales_targets_current_store", "period", "store_id", unique=True,
              sqlite_where=text(f"{CURRENT} AND store_id IS NOT NULL"),
              postgresql_where=text(f"{CURRENT} AND store_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM in the brand's timezone
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    new_customers: Mapped[int | None]   # first-time buyers wanted in the month, optional
    reactivations: Mapped[int | None]   # dormant customers brought back, optional
    set_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # None: an integrator's token
    set_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[dt.datetime | None]
