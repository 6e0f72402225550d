"""A small brand for commission tests: one store, two clerks, a manager, head office, rules."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from models.base import utcnow

from tests import factories as f
from models import CommissionRule, Role

UTC = dt.timezone.utc


def month_start(when: dt.datetime, back: int = 0) -> dt.datetime:
    """Midnight (Shanghai) starting the month ``back`` months before ``when``'s month."""
    local = when.astimezone(dt.timezone(dt.timedelta(hours=8)))
    year, month = local.year, local.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return dt.datetime(year, month, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))).astimezone(UTC)


@pytest.fixture
def brand(db):
    """Rows built in one committed transaction; ids are usable from any session."""
    now = utcnow()
    with db.transaction() as s:
        store = f.store(s, name="静安店")
        other_store = f.store(s, name="徐汇店")
        clerk1 = f.staff(s, Role.clerk, store, username="clerk1", display_name="小王")
        clerk2 = f.staff(s, Role.clerk, store, username="clerk2", display_name="小李")
        far_clerk = f.staff(s, Role.clerk, other_store, username="clerk9", display_name="小赵")
        manager = f.staff(s, Role.manager, store, username="manager1")
        hq = f.staff(s, Role.hq, None, username="hq")
        cream = f.product(s, sku="CREAM", category="skincare", price_fen=26800)
        tee = f.product(s, sku="TEE", category="apparel", price_fen=9900)
        clearance = f.product(s, sku="OLD", category="clearance", price_fen=5000)
        customer = f.customer(s, name="张女士")
        customer2 = f.customer(s, name="李先生")
        since = month_start(now, 3)
        f.follow(s, customer, clerk1, since=since)
        f.follow(s, customer2, clerk2, since=since)
        start = month_start(now, 3)
        s.add_all([
            CommissionRule(name="全场 3%", kind="percent", rate_bp=300, effective_from=start),
            CommissionRule(name="护肤 5%", kind="percent", category="skincare", rate_bp=500, effective_from=start),
            CommissionRule(name="清仓不计", kind="exclusion", category="clearance", effective_from=start),
        ])
        s.flush()
        ids = SimpleNamespace(store=store.id, other_store=other_store.id, clerk1=clerk1.id, clerk2=clerk2.id,
                              far_clerk=far_clerk.id, manager=manager.id, hq=hq.id, cream=cream.id, tee=tee.id,
                              clearance=clearance.id, customer=customer.id, customer2=customer2.id, now=now,
                              this_month=month_start(now), last_month=month_start(now, 1))
    return ids


def paid_order(db, brand, customer_id=None, items=(("cream", 1),), paid_at=None, **kw) -> int:
    """Commit one paid order and return its id."""
    from models import Customer, Product

    with db.transaction() as s:
        customer = s.get(Customer, customer_id or brand.customer)
        products = [(s.get(Product, getattr(brand, name)), q) for name, q in items]
        order = f.order(s, customer, products, paid_at=paid_at or brand.now - dt.timedelta(minutes=5), **kw)
        return order.id
