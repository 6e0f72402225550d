"""Segments, care tasks (关怀任务) with their targets, and campaigns with a holdout."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow


class Segment(Base):
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    filter: Mapped[dict[str, Any]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CareTask(Base):
    __tablename__ = "care_tasks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    goal: Mapped[str | None] = mapped_column(Text)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"))
    scenario: Mapped[str | None] = mapped_column(String(32))
    template: Mapped[str | None] = mapped_column(Text)
    product_skus: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The coupon each target gets when the task's message reaches them (source "task", ref = id).
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"))
    deadline: Mapped[dt.datetime]
    fallback: Mapped[str] = mapped_column(String(16), default="mass_send")  # or "leave"
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, closed
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None]


class CareTaskTarget(Base):
    __tablename__ = "care_task_targets"
    __table_args__ = (
        UniqueConstraint("task_id", "customer_id"),
        Index("ix_care_task_targets_clerk", "clerk_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("care_tasks.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[str] = mapped_column(String(16), default="todo")  # todo, sent, replied, bought, fallback, skipped
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    skip_reason: Mapped[str | None] = mapped_column(String(160))
    sent_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"))
    channel: Mapped[str] = mapped_column(String(16))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    scheduled_at: Mapped[dt.datetime | None]
    holdout_pct: Mapped[int] = mapped_column(default=10)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft, planned, sending, done
    unit_cost_fen: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class CampaignTarget(Base):
    __tablename__ = "campaign_targets"
    __table_args__ = (UniqueConstraint("campaign_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    group: Mapped[str] = mapped_column(String(10))  # treatment | holdout
    status: Mapped[str] = mapped_column(String(16), default="planned")  # planned, skipped, sent…
    skip_reason: Mapped[str | None] = mapped_column(String(160))
    skip_code: Mapped[str | None] = mapped_column(String(16))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))


class AutomationRun(Base):
    """One routine automation fired for one event of one customer — its idempotency key."""

    __tablename__ = "automation_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)  # auto:<rule>:<event>:<customer>
    rule: Mapped[str] = mapped_column(String(32), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # sent | skipped
    reason: Mapped[str | None] = mapped_column(String(160))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
