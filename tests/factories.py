"""Row builders for tests: each takes a session, adds and flushes, returns the row."""
from __future__ import annotations

import datetime as dt
import itertools
from typing import NamedTuple

from werkzeug.security import generate_password_hash

from models import (ChannelIdentity, Customer, FollowerBinding, Order, OrderItem, Product, Role,
                    Segment, Staff, Store)

_seq = itertools.count(1)
UTC = dt.timezone.utc
_PASSWORD_HASH = None


def _demo_hash() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = generate_password_hash("demo", method="pbkdf2:sha256:1000")
    return _PASSWORD_HASH


def _added(s, row):
    s.add(row)
    s.flush()
    return row


def store(s, **kw) -> Store:
    n = next(_seq)
    row = Store(external_id=kw.pop("external_id", f"S{n}"), name=kw.pop("name", f"门店{n}"), **kw)
    return _added(s, row)


def staff(s, role: Role | str = Role.clerk, store: Store | None = None, **kw) -> Staff:
    n = next(_seq)
    row = Staff(username=kw.pop("username", f"user{n}"), display_name=kw.pop("display_name", f"员工{n}"),
                role=Role(role), password_hash=_demo_hash(), store=store, **kw)
    return _added(s, row)


class Team(NamedTuple):
    c1: Staff
    c2: Staff
    c3: Staff
    m1: Staff
    hq: Staff


def two_stores(s) -> Team:
    """Two stores: clerks ``c1``, ``c2`` and manager ``m1`` in the first, clerk ``c3`` in the second,
    and head office ``hq``; each logs in by that name."""
    s1, s2 = store(s), store(s)
    return Team(staff(s, username="c1", store=s1), staff(s, username="c2", store=s1),
                staff(s, username="c3", store=s2), staff(s, Role.manager, s1, username="m1"),
                staff(s, Role.hq, username="hq"))


def customer(s, **kw) -> Customer:
    n = next(_seq)
    row = Customer(external_id=kw.pop("external_id", f"C{n}"), name=kw.pop("name", f"顾客{n}"), **kw)
    return _added(s, row)


def follow(s, customer: Customer, clerk: Staff, channel: str = "wecom", owner: bool = True, **kw) -> FollowerBinding:
    return _added(s, FollowerBinding(customer_id=customer.id, clerk_id=clerk.id, channel=channel, is_owner=owner, **kw))


def identity(s, customer: Customer, channel: str, external_id: str, account: str = "") -> ChannelIdentity:
    return _added(s, ChannelIdentity(customer_id=customer.id, channel=channel, account=account, external_id=external_id))


def reachable_follower(s, clerk: Staff, **kw) -> Customer:
    """A customer the clerk owns, reachable over the loopback channel (the demo's stand-in)."""
    row = customer(s, **kw)
    follow(s, row, clerk, channel="loopback")
    identity(s, row, "loopback", f"lb-{row.id}")
    return row


def segment(s, filter: dict, name: str | None = None) -> Segment:
    return _added(s, Segment(name=name or f"分群{next(_seq)}", filter=filter))


def product(s, **kw) -> Product:
    n = next(_seq)
    row = Product(sku=kw.pop("sku", f"SKU{n}"), name=kw.pop("name", f"商品{n}"),
                  category=kw.pop("category", "skincare"), price_fen=kw.pop("price_fen", 10000), **kw)
    return _added(s, row)


def order(s, customer: Customer, items: list[tuple[Product, int]] | None = None, status: str = "paid",
          paid_at: dt.datetime | None = None, **kw) -> Order:
    n = next(_seq)
    paid_at = paid_at or dt.datetime(2026, 11, 11, 10, tzinfo=UTC)
    items = items or []
    amount = kw.pop("amount_fen", sum(p.price_fen * q for p, q in items))
    row = Order(external_id=kw.pop("external_id", f"O{n}"), customer_id=customer.id, status=status,
                amount_fen=amount, created_at=kw.pop("created_at", paid_at),
                paid_at=paid_at if status != "created" else None, **kw)
    row.items = [OrderItem(product_id=p.id, quantity=q, price_fen=p.price_fen) for p, q in items]
    return _added(s, row)
