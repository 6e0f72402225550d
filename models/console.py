"""Canned replies (快捷回复) the clerk keeps for the chat composer, and head office's shared ones."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow


class QuickReply(Base):
    """A canned text. ``owner_id`` is the clerk who keeps it; NULL means head office's, for all."""

    __tablename__ = "quick_replies"
    __table_args__ = (Index("ix_quick_replies_owner", "owner_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
