"""Drafted copy (草稿) and what became of it, plus background batches of drafts.

Each draft remembers which source wrote it (the model or a template variant) and what followed:
whether the clerk sent it as is, edited or discarded it, and whether the customer then replied or
bought. Head office reads these rows to see which drafts work; the template rotation reads them to
avoid giving one customer the same text twice.
"""
from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, str_enum, utcnow


class DraftSource(str, enum.Enum):
    llm = "llm"
    template = "template"


class DraftOutcome(str, enum.Enum):
    sent_as_is = "sent_as_is"
    edited = "edited"
    discarded = "discarded"


SENT_OUTCOMES = (DraftOutcome.sent_as_is, DraftOutcome.edited)


class Draft(Base):
    __tablename__ = "drafts"
    __table_args__ = (
        Index("ix_drafts_customer_created", "customer_id", "created_at"),
        Index("ix_drafts_clerk_created", "clerk_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    scenario: Mapped[str] = mapped_column(String(32))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("care_tasks.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("draft_batches.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    source: Mapped[DraftSource] = mapped_column(str_enum(DraftSource, 8))
    template_variant: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    products: Mapped[list[Any]] = mapped_column(JSON, default=list)  # SKUs featured
    reason: Mapped[str | None] = mapped_column(String(255))
    # Why the model's answer was not used (timeout, rate_limited, guardrail:price…), for head office.
    fallback_reason: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[DraftOutcome | None] = mapped_column(str_enum(DraftOutcome, 16))
    outcome_at: Mapped[dt.datetime | None]
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    replied_at: Mapped[dt.datetime | None]
    bought_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    bought_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DraftBatch(Base):
    """Drafts for many customers (a care task's targets) written in the background."""

    __tablename__ = "draft_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    scenario: Mapped[str] = mapped_column(String(32))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("care_tasks.id"))
    channel: Mapped[str | None] = mapped_column(String(16))
    customer_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued, running, done, failed
    error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
