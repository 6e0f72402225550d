"""Generate the demo brand (演示品牌): stores, staff, catalogue, customers, orders, chats.

The whole brand is a function of ``(seed, customers, now)``. Customers are generated in fixed
chunks of ``CHUNK`` with a random stream per chunk, so a seed gives the same first customers at
any size and a million customers never sit in memory at once. Each chunk is built as numpy
columns and written set-based: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

This module runs the seed; each area is drawn beside it: ``brand`` (stores, staff, catalogue,
the season), ``people`` (customers and the clerks they follow), ``orders`` (the order streams
below, their lines and statuses), ``chats`` (the showcase inboxes); ``columns`` holds the time
units and id allocation they share.

How the orders behave (seeds 000–003):
- a consumable buyer repurchases their favourite product every usage_days × quantity days, with
  noise and late rebuys, until they lapse (geometric number of cycles) — lapsed ones are the
  dormant customers the product-cycle rules must find;
- everyone also buys outside the cycle at a rate following the season: the Nov 10–11 Double-11
  peak (with the lull before it), 618, Double-12, and the Spring Festival dip; on each Double-11
  a third of the active customers place a basket order at the discounted price, and some
  customers are acquired on Double-11 itself;
- a few orders are abandoned: unpaid (``created``, the 催付 list) when recent, ``cancelled``
  otherwise; paid ones move through shipped → delivered → completed as time passes (in-store
  purchases complete at once); some are refunded in full or in part.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.orm import Session

from app.demo import catalogue as cat
from app.demo.brand import Brand, write_brand
from app.demo.chats import generate_chats
from app.demo.columns import Ids, to_us
from app.demo.load import ColumnWriter, tune_sqlite_for_bulk
from app.demo.orders import generate_chunk
from models import Conversation, Customer, Message, Order, Product, Staff, Store, utcnow
from models.commerce import PAID_STATUSES

CHUNK = 20_000          # customers per generation chunk; fixed so a seed means the same brand
# Tables loaded in bulk: their secondary indexes (and PostgreSQL foreign keys) are dropped for
# the load and rebuilt once at the end, which beats maintaining them row by row for 10M rows.
BULK_TABLES = ("customers", "channel_identities", "follower_bindings", "orders", "order_items")
Progress = Callable[[str, int, int], None]


class DemoNotEmpty(RuntimeError):
    """The database already holds stores, staff, products or customers; the demo only seeds an empty one."""


@dataclass
class DemoSummary:
    stores: int = 0
    staff: int = 0
    products: int = 0
    customers: int = 0
    bindings: int = 0
    identities: int = 0
    orders: int = 0
    order_items: int = 0
    conversations: int = 0
    messages: int = 0
    retagged: bool = False  # stages and automatic tags computed by assistant.tags
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process only (not the PostgreSQL server's)
    timings: dict[str, float] = field(default_factory=dict)


def default_now() -> dt.datetime:
    """The anchor of the history: the start of the current hour, so reruns within it agree."""
    return utcnow().replace(minute=0, second=0, microsecond=0)


def database_is_empty(conn: Connection | Session) -> bool:
    """True when no store, staff, product or customer exists (the only state the demo seeds
    into: its logins and ids must never mix with a brand's own)."""
    return all(conn.scalar(select(model.id).limit(1)) is None for model in (Store, Staff, Product, Customer))


def generate_demo(target: Any, *, customers: int = 2000, seed: int = 1,
                  now: dt.datetime | None = None, progress: Progress | None = None) -> DemoSummary:
    """Seed the demo brand into an empty database; return what was written.

    ``target`` is a ``Database``, an ``Engine`` (one transaction, committed here) or a
    ``Session`` (written in its transaction; the caller commits). Raises ``DemoNotEmpty`` when
    a store or customer already exists.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    now = now or default_now()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    started, cpu = time.perf_counter(), time.process_time()
    if isinstance(target, Session):
        summary = _seed(target.connection(), customers, seed, now, progress)
    else:
        engine: Engine = getattr(target, "engine", target)
        with engine.connect() as conn:
            restore = tune_sqlite_for_bulk(conn)
            try:
                # daogou_write: SQLite takes the write lock up front (BEGIN IMMEDIATE).
                conn = conn.execution_options(daogou_write=True)
                with conn.begin():
                    summary = _seed(conn, customers, seed, now, progress)
            finally:
                restore()
    summary.seconds = time.perf_counter() - started
    summary.cpu_seconds = time.process_time() - cpu
    return summary


# ---------------------------------------------------------------------------------------------
# The run


def _seed(conn: Connection, n_customers: int, seed: int, now: dt.datetime,
          progress: Progress | None) -> DemoSummary:
    if not database_is_empty(conn):
        raise DemoNotEmpty("the database already holds stores, staff, products or customers")
    report = progress or (lambda stage, done, total: None)
    summary = DemoSummary()
    clock = _Clock(summary.timings)
    now_us = to_us(now)
    brand = Brand.build(seed, now_us)
    writer = ColumnWriter(conn)

    with clock("brand"):
        summary.stores, summary.staff, summary.products = write_brand(conn, brand, now)
    # One transaction: on any error the caller rolls back, dropped indexes included.
    dropped = writer.drop_for_load(BULK_TABLES)
    ids = Ids()
    n_chunks = -(-n_customers // CHUNK)
    for chunk_no in range(n_chunks):
        n = min(CHUNK, n_customers - chunk_no * CHUNK)
        rng = np.random.default_rng([seed, 1, chunk_no])
        with clock("generate"):
            chunk = generate_chunk(rng, brand, n, ids, now_us)
            chat = generate_chats(np.random.default_rng([seed, 2]), brand, chunk, now_us) \
                if chunk_no == 0 else None
        with clock("write"):
            writer.write("customers", chunk.customers)
            writer.write("follower_bindings", chunk.bindings)
            writer.write("channel_identities", chunk.identities)
            writer.write("orders", chunk.orders)
            writer.write("order_items", chunk.items)
        if chat is not None:
            with clock("chats"):
                conn.execute(insert(Conversation), chat.conversations)
                conn.execute(insert(Message), chat.messages)
            summary.conversations, summary.messages = len(chat.conversations), len(chat.messages)
        summary.customers += n
        summary.bindings += len(chunk.bindings["id"])
        summary.identities += len(chunk.identities["id"])
        summary.orders += len(chunk.orders["id"])
        summary.order_items += len(chunk.items["id"])
        report("customers", summary.customers, n_customers)
    with clock("derive"):
        report("derive", 0, 1)
        fill_paid_aggregates(conn)
    with clock("indexes"):
        report("indexes", 0, 1)
        writer.restore(dropped)
    writer.advance_sequences(("stores", "staff", "products", *BULK_TABLES, "conversations", "messages"))
    with clock("retag"):
        report("retag", 0, 1)
        summary.retagged = retag_everyone(conn, now)
    return summary


def retag_everyone(conn: Connection, now: dt.datetime) -> bool:
    """Give every customer its lifecycle stage and automatic tags as of ``now``, when the tag
    rules (``assistant.tags``) are installed; return whether they ran."""
    try:
        from assistant.tags import retag_all
    except ImportError:  # the tag rules are another area's; without them the derived columns stand
        return False
    from zoneinfo import ZoneInfo

    # The session joins the seed's transaction: the tags land with the brand or not at all.
    with Session(bind=conn, join_transaction_mode="rollback_only") as session:
        retag_all(session, now=now, tz=ZoneInfo(cat.BRAND_TIMEZONE))
        session.flush()
    return True


def fill_paid_aggregates(conn: Connection | Session) -> None:
    """Set paid_orders, total_spent_fen, first/last_paid_at of every customer in one UPDATE.

    A paid order is one in a paid status (paid, shipped, delivered, completed) that is not fully
    refunded; what was spent is its amount less any partial refund.
    """
    paid = (select(Order.customer_id.label("customer_id"),
                   func.count().label("n"),
                   func.sum(Order.amount_fen - Order.refund_amount_fen).label("spent"),
                   func.min(Order.paid_at).label("first"),
                   func.max(Order.paid_at).label("last"))
            .where(Order.status.in_(sorted(PAID_STATUSES)), Order.refund_amount_fen < Order.amount_fen)
            .group_by(Order.customer_id).subquery())
    conn.execute(update(Customer).where(Customer.id == paid.c.customer_id).values(
        paid_orders=paid.c.n, total_spent_fen=paid.c.spent,
        first_paid_at=paid.c.first, last_paid_at=paid.c.last))


class _Clock:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    def __call__(self, name: str) -> _Clock:
        self.name = name
        return self

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.name] = self.timings.get(self.name, 0.0) + time.perf_counter() - self.t0
