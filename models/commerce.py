"""Products and orders with the forward-only status life cycle of DESIGN.md."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, BigId, str_enum, utcnow


class OrderStatus(str, enum.Enum):
    created = "created"
    paid = "paid"
    shipped = "shipped"
    delivered = "delivered"
    completed = "completed"
    cancelled = "cancelled"
    refunded = "refunded"


ORDER_STATUSES = tuple(s.value for s in OrderStatus)

# Forward-only: each status lists the statuses it may move to. An unpaid order can be cancelled;
# a paid one can be refunded (fully or in part — partial refunds keep the status and raise
# refund_amount). Terminal states go nowhere.
_NEXT: dict[str, frozenset[str]] = {
    "created": frozenset({"paid", "shipped", "delivered", "completed", "cancelled"}),
    "paid": frozenset({"shipped", "delivered", "completed", "refunded", "cancelled"}),
    "shipped": frozenset({"delivered", "completed", "refunded"}),
    "delivered": frozenset({"completed", "refunded"}),
    "completed": frozenset({"refunded"}),
    "cancelled": frozenset(),
    "refunded": frozenset(),
}
PAID_STATUSES = frozenset({"paid", "shipped", "delivered", "completed"})


def can_transition(current: str, new: str) -> bool:
    """True when ``current`` may move to ``new`` (staying put is always allowed)."""
    return current == new or new in _NEXT[current]


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(40), index=True)
    price_fen: Mapped[int] = mapped_column(BigInteger)
    usage_days: Mapped[int | None]  # consumables: days one unit lasts (产品周期)
    in_stock: Mapped[bool] = mapped_column(default=True)
    image_url: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(500))
    launched_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_customer_paid", "customer_id", "paid_at"),
        Index("ix_orders_paid_at", "paid_at"),
        # Segments: "has an unpaid order over ¥X" (催付). Partial, so no query on paid orders
        # (status IN paid…) is tempted to walk it instead of the customer index.
        Index("ix_orders_unpaid_amount", "amount_fen", sqlite_where=text("status = 'created'"),
              postgresql_where=text("status = 'created'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus, 16))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    refund_amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime]
    paid_at: Mapped[dt.datetime | None]
    shipped_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    refunded_at: Mapped[dt.datetime | None]
    # The personal link (token or short code) the order came through, as the integrator sent it.
    ref: Mapped[str | None] = mapped_column(String(64), index=True)
    coupon_code: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    items: Mapped[list[OrderItem]] = relationship(back_populates="order", cascade="all, delete-orphan")


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[int]
    price_fen: Mapped[int] = mapped_column(BigInteger)

    order: Mapped[Order] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()
