"""Model versions with their metrics, per-customer scores and what clerks did with suggestions."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow


class ModelVersion(Base):
    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    artifact_path: Mapped[str | None] = mapped_column(String(500))
    is_current: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[dt.datetime | None]


class CustomerScore(Base):
    __tablename__ = "customer_scores"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    propensity: Mapped[float]
    expected_value_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    action: Mapped[str | None] = mapped_column(String(16))  # 催付 补货 生日关怀 唤醒 新品推荐
    scored_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SuggestionOutcome(Base):
    """What a clerk did with a Today suggestion, so the ranker can learn from outcomes."""

    __tablename__ = "suggestion_outcomes"
    __table_args__ = (Index("ix_suggestion_outcomes_clerk_day", "clerk_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    action: Mapped[str] = mapped_column(String(16))  # shown, contacted, skipped
    propensity: Mapped[float | None]
    bought_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
