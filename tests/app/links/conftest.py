"""A small brand for the personal-page tests: a store, two clerks, head office, followers, products."""
from __future__ import annotations

import datetime as dt

import pytest

from models import Role
from tests import factories as f

UTC = dt.timezone.utc


@pytest.fixture
def brand(db):
    """王小美 (clerk1, 静安嘉里店) owns 陈静 and 刘洋; 李安 (clerk2) owns 周其他. Four products:
    a cream 陈静 bought before, a serum, a toner out of stock, a ¥2,999 device."""
    with db.transaction() as s:
        store = f.store(s, name="静安嘉里店")
        clerk1 = f.staff(s, Role.clerk, store, username="clerk1", display_name="王小美")
        clerk2 = f.staff(s, Role.clerk, store, username="clerk2", display_name="李安")
        hq = f.staff(s, Role.hq, None, username="hq", display_name="总部运营")
        manager = f.staff(s, Role.manager, store, username="manager1", display_name="赵店长")
        cream = f.product(s, sku="CREAM", name="玻尿酸保湿面霜", price_fen=26800, category="skincare", usage_days=30)
        serum = f.product(s, sku="SERUM", name="修护精华", price_fen=36800, category="skincare")
        toner = f.product(s, sku="TONER", name="爽肤水", price_fen=12800, category="skincare", in_stock=False)
        device = f.product(s, sku="DEVICE", name="美容仪", price_fen=299900, category="device")
        chen = f.customer(s, name="陈静", external_id="C-CHEN", phone="13800001000")
        liu = f.customer(s, name="刘洋", external_id="C-LIU", phone="13800001001")
        zhou = f.customer(s, name="周其他", external_id="C-ZHOU", phone="13800001002")
        for cust, clerk in ((chen, clerk1), (liu, clerk1), (zhou, clerk2)):
            f.follow(s, cust, clerk, channel="loopback", since=dt.datetime(2026, 9, 1, tzinfo=UTC))
            f.identity(s, cust, "loopback", f"lb-{cust.id}")
        f.order(s, chen, items=[(cream, 1)], paid_at=dt.datetime(2026, 10, 1, 10, tzinfo=UTC))
    return {"store": store.id, "clerk1": clerk1.id, "clerk2": clerk2.id, "hq": hq.id, "manager": manager.id,
            "chen": chen.id, "liu": liu.id, "zhou": zhou.id,
            "skus": {"cream": cream.sku, "serum": serum.sku, "toner": toner.sku, "device": device.sku}}


@pytest.fixture
def make_link(app, db, brand):
    """make_link(customer, skus=..., clerk=..., source=...) → IssuedLink (in the app's context)."""
    from app.links.actions import link_for

    def make(customer: str = "chen", skus=("SERUM", "CREAM", "TONER", "DEVICE"), clerk: str = "clerk1",
             source=None, channel: str | None = "loopback"):
        with app.test_request_context(base_url="https://shop.test"), db.transaction() as s:
            issued = link_for(s, brand[customer], brand[clerk], list(skus), source, channel=channel)
            s.expunge(issued.link)
        return issued

    return make
