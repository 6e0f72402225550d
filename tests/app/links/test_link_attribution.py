"""The "shared link" attribution rule end to end: an order whose ``ref`` names a personal link the
buyer clicked counts for that link's clerk, and the clerk is told who bought through it."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models import Attribution, CommissionRule, ConsoleEvent, Order

pytestmark = pytest.mark.skipif(not hasattr(Order, "ref"), reason="orders.ref arrives with the coupons work")

UTC = dt.timezone.utc
WECHAT = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47 NetType/WIFI"


@pytest.fixture
def three_percent(db):
    with db.transaction() as s:
        s.add(CommissionRule(name="全场 3%", kind="percent", rate_bp=300, effective_from=dt.datetime(2020, 1, 1, tzinfo=UTC)))


def _click(client, issued, sku="SERUM"):
    client.get(f"/p/{issued.token}", headers={"User-Agent": WECHAT})
    return client.get(f"/p/{issued.token}/buy/{sku}", headers={"User-Agent": WECHAT})


def _order(client, bearer, external_id, customer="C-CHEN", ref=None, **extra):
    from models.base import utcnow

    paid = utcnow().isoformat()
    body = {"external_id": external_id, "customer": customer, "status": "paid", "created_at": paid, "paid_at": paid,
            "amount": "368.00", "items": [{"sku": "SERUM", "quantity": 1, "price": "368.00"}], **extra}
    if ref is not None:
        body["ref"] = ref
    resp = client.post("/api/v1/orders", json=[body], headers=bearer)
    assert resp.status_code == 200 and resp.get_json()["accepted"] == 1, resp.get_json()
    return resp


def _attribution(db, external_id):
    with db.Session() as s:
        return s.execute(select(Attribution.clerk_id, Attribution.rule, Attribution.detail).join(
            Order, Order.id == Attribution.order_id).where(Order.external_id == external_id)).one()


@pytest.fixture
def shop(client, auth):
    auth.login("hq")
    client.put("/api/v1/links/settings", json={"shop_url": "https://shop.example.com/{sku}"})
    auth.logout()


def test_an_order_through_a_clicked_link_counts_for_its_clerk_and_says_so_live(
        client, db, bearer, brand, make_link, three_percent, shop, clock):
    issued = make_link(clerk="clerk2")  # 陈静 is 王小美's customer; 李安 sent her this page
    assert _click(client, issued).status_code == 302
    clock.travel(days=2)
    _order(client, bearer, "LINK-1", ref=issued.link.code)
    clerk, rule, detail = _attribution(db, "LINK-1")
    assert (clerk, rule) == (brand["clerk2"], "link") and "link_at" in detail
    with db.Session() as s:
        earned = s.scalars(select(ConsoleEvent).where(ConsoleEvent.name == "commission.earned",
                                                      ConsoleEvent.room == f"clerk:{brand['clerk2']}")).all()
    assert [e.payload["message"] for e in earned] == ["陈静 通过你的链接下单 ¥368.00，提成 ¥11.04"]


def test_the_token_works_as_a_ref_too(client, db, bearer, brand, make_link, three_percent, shop):
    issued = make_link(clerk="clerk2")
    _click(client, issued)
    _order(client, bearer, "LINK-T", ref=issued.token)
    assert _attribution(db, "LINK-T")[:2] == (brand["clerk2"], "link")


@pytest.mark.parametrize("case", ["never_clicked", "clicked_too_long_ago", "someone_elses_link", "unknown_ref"])
def test_without_a_qualifying_click_the_order_falls_to_the_owner(client, db, bearer, brand, make_link, three_percent,
                                                                  shop, clock, case):
    issued = make_link(clerk="clerk2")
    ref, customer = issued.link.code, "C-CHEN"
    if case == "clicked_too_long_ago":
        _click(client, issued)
        clock.travel(days=8)  # the default window is 7 days
    elif case == "someone_elses_link":
        _click(client, issued)
        customer = "C-LIU"  # 刘洋 (also 王小美's) orders with 陈静's reference
    elif case == "unknown_ref":
        _click(client, issued)
        ref = "ZZZZ2222"
    _order(client, bearer, f"OWN-{case}", customer=customer, ref=ref)
    assert _attribution(db, f"OWN-{case}")[:2] == (brand["clerk1"], "owner")


def test_the_in_store_clerk_comes_before_the_link(client, db, bearer, brand, make_link, three_percent, shop):
    from models import Staff

    with db.transaction() as s:
        s.get(Staff, brand["clerk1"]).external_id = "E-WANG"
    issued = make_link(clerk="clerk2")
    _click(client, issued)
    _order(client, bearer, "STORE-1", ref=issued.link.code, clerk="E-WANG")
    assert _attribution(db, "STORE-1")[:2] == (brand["clerk1"], "in_store")
