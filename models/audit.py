"""The audit trail: who signed in, exported, handed over or changed a rule, and when.

One row per action, written in the action's own transaction (an export, which changes nothing,
writes its row on its own). ``actor_label`` keeps the name the actor had then, so the trail
still reads after a leaver's account is gone; ``store_id`` is the store the action concerned,
for a manager's view of their own store. ``detail`` never holds a secret (no password, token or
cookie): the writer takes only named, plain facts.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(120))      # "王小美 (clerk1)", "令牌 erp-sync", "—"
    subject_kind: Mapped[str | None] = mapped_column(String(24))  # staff, conversation, rule, campaign…
    subject_id: Mapped[str | None] = mapped_column(String(64))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    address: Mapped[str | None] = mapped_column(String(64))     # the client's IP address
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
