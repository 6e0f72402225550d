"""Customers, their channel identities, follower bindings to clerks, opt-outs and tags."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, ColumnElement, ForeignKey, Index, String, UniqueConstraint, and_, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BigId, str_enum, utcnow


class Stage(str, enum.Enum):
    """Lifecycle stage (客户生命周期)."""

    prospect = "prospect"  # 潜客
    new = "new"            # 新客
    repeat = "repeat"      # 老客
    dormant = "dormant"    # 休眠流失
    fan = "fan"            # 粉丝


class TagSource(str, enum.Enum):
    auto = "auto"      # set and kept current by a rule or model
    manual = "manual"  # the clerk's own; never overwritten by rules


class Customer(Base):
    """A shopper. The aggregate columns (paid_orders…) are derived from orders by the retagger."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    gender: Mapped[str | None] = mapped_column(String(1))  # "F", "M" or None
    birthday: Mapped[dt.date | None]
    address: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(60))
    province: Mapped[str | None] = mapped_column(String(60))
    member_level: Mapped[str | None] = mapped_column(String(32))
    home_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # Derived, kept current by assistant.lifecycle (issue: follower book).
    stage: Mapped[Stage | None] = mapped_column(str_enum(Stage, 16), index=True)
    paid_orders: Mapped[int] = mapped_column(default=0)
    total_spent_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    first_paid_at: Mapped[dt.datetime | None] = mapped_column(index=True)  # segments: first order on a day
    last_paid_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    last_contacted_at: Mapped[dt.datetime | None]
    last_inbound_at: Mapped[dt.datetime | None]

    identities: Mapped[list[ChannelIdentity]] = relationship(back_populates="customer")
    bindings: Mapped[list[FollowerBinding]] = relationship(back_populates="customer")
    tags: Mapped[list[CustomerTag]] = relationship(back_populates="customer")


class ChannelIdentity(Base):
    """How a customer is reached on one channel account: OA openid, WeCom external_userid, …"""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "account", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    account: Mapped[str] = mapped_column(String(64), default="")
    external_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="identities")


class FollowerBinding(Base):
    """粉丝好友: a customer bound to a clerk through a channel. At most one owner per customer."""

    __tablename__ = "follower_bindings"
    __table_args__ = (
        UniqueConstraint("customer_id", "clerk_id", "channel"),
        Index(
            "uq_follower_bindings_one_owner", "customer_id", unique=True,
            sqlite_where=text("is_owner = 1 AND ended_at IS NULL"),
            postgresql_where=text("is_owner AND ended_at IS NULL"),
        ),
        Index("ix_follower_bindings_clerk_active", "clerk_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    clerk_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    channel: Mapped[str] = mapped_column(String(16))
    is_owner: Mapped[bool] = mapped_column(default=False)
    since: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))  # deleted_by_customer, handover…

    customer: Mapped[Customer] = relationship(back_populates="bindings")

    @classmethod
    def current_owner(cls) -> ColumnElement[bool]:
        """"This binding makes its clerk the customer's owner now" — the one home of that rule."""
        return and_(cls.is_owner.is_(True), cls.ended_at.is_(None))


class CustomerOptOut(Base):
    """A customer said no on a channel (退订): honoured by every send on that channel."""

    __tablename__ = "customer_opt_outs"
    __table_args__ = (UniqueConstraint("customer_id", "channel"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[TagSource] = mapped_column(str_enum(TagSource, 8))
    group: Mapped[str | None] = mapped_column(String(32))  # stage, rfm, price_band…
    label_zh: Mapped[str | None] = mapped_column(String(64))
    label_en: Mapped[str | None] = mapped_column(String(64))


class CustomerTag(Base):
    """A tag on a customer with the reason a clerk can read."""

    __tablename__ = "customer_tags"
    __table_args__ = (Index("ix_customer_tags_tag", "tag_id", "customer_id"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"), primary_key=True)
    source: Mapped[TagSource] = mapped_column(str_enum(TagSource, 8))
    reason: Mapped[str | None] = mapped_column(String(255))
    set_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="tags")
    tag: Mapped[Tag] = relationship()
