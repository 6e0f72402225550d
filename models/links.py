"""Personal product pages (专属商品页): one link per customer, and what happened on it.

A ``PersonalLink`` opens ``/p/<token>``: the products a clerk (or a task, a campaign, an
automation) picked for one customer. Only a SHA-256 of the token is kept, so the page is found by
an index lookup on the hash and a leaked table opens nothing. ``code`` is the link's short public
reference: shops append it to orders (``ref``) and it never opens a page. ``LinkEvent`` rows are
the page's funnel: a view, a product click, a buy click, a "问问导购" tap.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, utcnow

LINK_SOURCES = ("clerk", "task", "campaign", "automation")
EVENT_KINDS = ("view", "click", "buy", "ask")


class PersonalLink(Base):
    __tablename__ = "personal_links"
    __table_args__ = (
        Index("ix_personal_links_source", "source_kind", "source_id", "customer_id"),
        Index("ix_personal_links_customer", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    clerk_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    skus: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source_kind: Mapped[str] = mapped_column(String(16), default="clerk")  # clerk, task, campaign, automation
    source_id: Mapped[int | None]
    channel: Mapped[str | None] = mapped_column(String(16))  # the channel the link went out on
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]


class LinkEvent(Base):
    """A person did something on a personal page (crawlers and prefetches are never written)."""

    __tablename__ = "link_events"
    __table_args__ = (Index("ix_link_events_link_kind_at", "link_id", "kind", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("personal_links.id"))
    kind: Mapped[str] = mapped_column(String(8))  # view, click, buy, ask
    sku: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    agent: Mapped[str] = mapped_column(String(16), default="browser")  # wechat, wecom, mobile, browser
