"""A small brand to ingest against: two stores, a clerk, products and two customers."""
from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def brand(db):
    with db.transaction() as s:
        s1 = factories.store(s, external_id="S1", name="静安店")
        s2 = factories.store(s, external_id="S2", name="徐汇店")
        clerk = factories.staff(s, "clerk", store=s1, username="clerk_li", external_id="E100")
        other = factories.staff(s, "clerk", store=s2, username="clerk_wang", external_id="E200")
        factories.product(s, sku="SK-001", name="精华液", price_fen=26800, usage_days=30)
        factories.product(s, sku="SN-017", name="坚果礼盒", category="snacks", price_fen=2990)
        factories.customer(s, external_id="C1", name="张三")
        factories.customer(s, external_id="C2", name="李四")
    return {"clerk_id": clerk.id, "other_id": other.id, "store_ids": (s1.id, s2.id)}


def order(external_id: str = "O1", **kw):
    """An order payload as an integrator sends it."""
    body = {"external_id": external_id, "customer": "C1", "store": "S1", "clerk": "E100",
            "status": "paid", "created_at": "2026-11-11 09:58:00", "paid_at": "2026-11-11 10:00:00",
            "amount": "565.90", "items": [{"sku": "SK-001", "quantity": 2, "price": "268.00"},
                                          {"sku": "SN-017", "quantity": 1, "price": "29.90"}]}
    body.update(kw)
    return {k: v for k, v in body.items() if v is not ...}
