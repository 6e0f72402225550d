"""Seed 004 through the API: head office attaches a coupon and products to a care task; the clerk's
one-tap send gives each customer their own code (once, whatever is retried) on their own page; an
order naming the page and the code comes back through the order API; the task's report shows the
funnel and what the coupons cost."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from models import Attribution, CareTask, CareTaskTarget, CommissionRule, Message, Order, Role, Setting
from models.base import utcnow
from models.coupons import Coupon, CouponTemplate
from models.links import PersonalLink
from tests import factories as f

UTC = dt.timezone.utc
WECHAT = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47 NetType/WIFI"
PAGE = re.compile(r"/p/([A-Za-z0-9_-]{16,})$")


@pytest.fixture
def brand(db):
    """王小美 (clerk1) owns 陈静 and 刘洋, 李安 (clerk2) owns 周其他; a serum and a cream; 3 % on
    every sale; the shop's address for 去购买; a segment of everyone."""
    with db.transaction() as s:
        store = f.store(s, name="静安嘉里店", external_id="S1")
        clerk1 = f.staff(s, Role.clerk, store, username="clerk1", display_name="王小美")
        clerk2 = f.staff(s, Role.clerk, store, username="clerk2", display_name="李安")
        f.staff(s, Role.hq, None, username="hq", display_name="总部运营")
        f.product(s, sku="SERUM", name="修护精华", price_fen=36800, category="skincare")
        f.product(s, sku="CREAM", name="玻尿酸保湿面霜", price_fen=26800, category="skincare")
        people = {}
        for name, ext, clerk in (("陈静", "C-CHEN", clerk1), ("刘洋", "C-LIU", clerk1), ("周其他", "C-ZHOU", clerk2)):
            cust = f.customer(s, name=name, external_id=ext, phone=f"1380000{1000 + len(people)}")
            f.follow(s, cust, clerk, channel="loopback", since=dt.datetime(2026, 9, 1, tzinfo=UTC))
            f.identity(s, cust, "loopback", f"lb-{cust.id}")
            people[name] = cust.id
        s.add(CommissionRule(name="全场 3%", kind="percent", rate_bp=300, effective_from=dt.datetime(2020, 1, 1, tzinfo=UTC)))
        s.add(Setting(key="personal_links", value={"expiry_days": 14, "click_window_days": 7,
                                                   "shop_url": "https://shop.example.com/goods/{sku}"}))
        segment = f.segment(s, {"field": "paid_orders", "op": ">=", "value": 0}, name="全部顾客")
    return {"clerk1": clerk1.id, "clerk2": clerk2.id, "segment": segment.id, **people}


@pytest.fixture
def coupon(client, bearer):
    """满200减20, 14 days from issue: the template head office attaches."""
    made = client.post("/api/v1/coupon-templates", headers=bearer, json={
        "name": "换季回馈", "kind": "amount_off", "value": "20.00", "threshold": "200.00", "valid_days": 14})
    assert made.status_code == 201, made.get_json()
    return made.get_json()["id"]


def _task_body(brand, **kw):
    body = {"title": "换季补货关怀", "segment_id": brand["segment"], "scenario": "补货", "fallback": "mass_send",
            "template": "{{ customer_name }}您好，我是{{ clerk_name }}，换季护肤给您挑了几样，还有一张券",
            "product_skus": ["SERUM", "CREAM"], "deadline": "2026-11-25T20:00:00"}
    body.update(kw)
    return body


def _create(client, auth, brand, coupon_id):
    auth.login("hq")
    made = client.post("/api/v1/tasks", json=_task_body(brand, coupon_template_id=coupon_id))
    assert made.status_code == 201, made.get_json()
    auth.logout()
    return made.get_json()


def _target(client, task_id, name):
    return next(t for t in client.get(f"/api/v1/tasks/{task_id}").get_json()["targets"] if t["customer"]["name"] == name)


def _coupons(db, customer_id):
    with db.Session() as s:
        return s.execute(select(Coupon.code, Coupon.source, Coupon.source_ref).where(Coupon.customer_id == customer_id)).all()


def test_head_office_attaches_a_coupon_and_products_and_the_clerk_sees_them(client, auth, brand, coupon):
    task = _create(client, auth, brand, coupon)
    assert task["coupon_template_id"] == coupon and task["product_skus"] == ["SERUM", "CREAM"]
    auth.login("clerk1")
    seen = client.get(f"/api/v1/tasks/{task['id']}").get_json()
    assert seen["coupon"] == {"id": coupon, "name": "换季回馈", "title": "满200减20"}
    assert {t["customer"]["name"] for t in seen["targets"]} == {"陈静", "刘洋"}


@pytest.mark.parametrize("coupon_value,reason", [
    ("换季回馈", "请从列表里选择一种优惠券"),
    (99999, "请从列表里选择一种优惠券"),
    ("paused", "这种优惠券已停用或过期，请换一种"),
    ("without products", "送券需要同时选择商品：客户在专属商品页上看到自己的券"),
])
def test_a_bad_coupon_is_refused_naming_the_field_and_nothing_is_written(client, auth, db, brand, coupon,
                                                                        coupon_value, reason):
    extra = {}
    if coupon_value == "paused":
        with db.transaction() as s:
            s.get(CouponTemplate, coupon).active = False
        coupon_value = coupon
    elif coupon_value == "without products":
        coupon_value, extra = coupon, {"product_skus": []}
    auth.login("hq")
    resp = client.post("/api/v1/tasks", json=_task_body(brand, coupon_template_id=coupon_value, **extra))
    assert resp.status_code == 422
    assert resp.get_json()["fields"] == {"coupon_template_id": reason}
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(CareTask)) == 0
        assert s.scalar(select(func.count()).select_from(CareTaskTarget)) == 0


def test_one_tap_sends_the_copy_with_the_page_and_gives_one_code_however_often_it_is_sent(client, auth, db, brand, coupon):
    task = _create(client, auth, brand, coupon)
    auth.login("clerk1")
    chen = _target(client, task["id"], "陈静")
    sent = client.post(f"/api/v1/tasks/{task['id']}/targets/{chen['id']}/send")
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["target"]["status"] == "sent" and sent.get_json()["task"]["reached"] == 1
    again = client.post(f"/api/v1/tasks/{task['id']}/targets/{chen['id']}/send")  # a retry, a second tap
    assert again.status_code == 200 and again.get_json()["target"]["status"] == "sent"
    with db.Session() as s:
        bodies = s.scalars(select(Message.body).where(Message.client_id.like("task:%"))).all()
    assert len(bodies) == 1
    assert bodies[0].startswith("陈静您好，我是王小美，换季护肤给您挑了几样") and PAGE.search(bodies[0])
    [(code, source, ref)] = _coupons(db, brand["陈静"])
    assert (source.value, ref) == ("task", str(task["id"]))
    # The clerk writes to her again in the chat: still the one code.
    conv = client.post("/api/v1/conversations", json={"customer_id": brand["陈静"]}).get_json()["conversation"]
    client.post(f"/api/v1/conversations/{conv['id']}/messages", json={"client_id": "chat-after-task", "body": "收到了吗？"})
    assert [c.code for c in _coupons(db, brand["陈静"])] == [code]
    # Someone else's customer is not the clerk's to send to.
    auth.logout()
    auth.login("clerk2")
    refused = client.post(f"/api/v1/tasks/{task['id']}/targets/{chen['id']}/send")
    assert refused.status_code == 404 and "target_id" in refused.get_json()["fields"]


def test_a_clerk_s_own_words_and_the_deadline_fallback_give_the_code_too(app, client, auth, db, brand, coupon):
    from app.care import deadlines

    task = _create(client, auth, brand, coupon)
    auth.login("clerk1")
    liu = _target(client, task["id"], "刘洋")
    conv = client.post("/api/v1/conversations", json={"customer_id": brand["刘洋"]}).get_json()["conversation"]
    resp = client.post(f"/api/v1/conversations/{conv['id']}/messages",
                       json={"client_id": "edited-draft-1", "body": "刘先生，换季给您挑了精华"})
    assert resp.status_code == 201
    assert _target(client, task["id"], "刘洋")["status"] == "sent" and liu["status"] == "todo"
    assert [(s.value, r) for _c, s, r in _coupons(db, brand["刘洋"])] == [("task", str(task["id"]))]
    with db.transaction() as s:
        s.get(CareTask, task["id"]).deadline = utcnow() - dt.timedelta(seconds=1)
    with app.app_context():
        deadlines.close_task(task["id"])  # 陈静 (never reached by her clerk) and 周其他 get the mass send
    for name in ("陈静", "周其他"):
        assert [(s.value, r) for _c, s, r in _coupons(db, brand[name])] == [("task", str(task["id"]))], name
    assert len(_coupons(db, brand["刘洋"])) == 1


def test_the_customer_buys_with_the_page_and_the_code_and_the_report_shows_funnel_and_cost(
        client, auth, db, bearer, brand, coupon, clock):
    with db.transaction() as s:  # 陈静 holds an older coupon ending sooner: the task's comes first on its page
        other = CouponTemplate(name="老券", kind="no_threshold", value_fen=500, threshold_fen=0, valid_days=3,
                               scope={}, per_customer_limit=1, created_at=utcnow())
        s.add(other)
    with db.transaction() as s:
        s.add(Coupon(template_id=other.id, customer_id=brand["陈静"], code="OLDCOUPON1", issued_at=utcnow(),
                     expires_at=utcnow() + dt.timedelta(days=1), source="api", source_ref=""))
    task = _create(client, auth, brand, coupon)
    auth.login("clerk1")
    client.post(f"/api/v1/tasks/{task['id']}/targets/{_target(client, task['id'], '陈静')['id']}/send")
    [(code, _s, _r)] = [c for c in _coupons(db, brand["陈静"]) if c.code != "OLDCOUPON1"]
    with db.Session() as s:
        token = PAGE.search(s.scalar(select(Message.body).where(Message.client_id.like("task:%")))).group(1)
        ref = s.scalar(select(PersonalLink.code))

    page = client.get(f"/p/{token}", headers={"User-Agent": WECHAT}).get_data(as_text=True)
    assert page.index(f'data-coupon="{code}"') < page.index('data-coupon="OLDCOUPON1"')
    assert "满200减20" in page and 'data-sku="SERUM"' in page and 'data-sku="CREAM"' in page
    buy = client.get(f"/p/{token}/buy/SERUM", headers={"User-Agent": WECHAT})
    assert buy.status_code == 302 and buy.headers["Location"] == f"https://shop.example.com/goods/SERUM?ref={ref}"

    clock.travel(minutes=5)
    paid = utcnow().isoformat()
    order = client.post("/api/v1/orders", headers=bearer, json=[{
        "external_id": "T-1", "customer": "C-CHEN", "store": "S1", "status": "paid", "created_at": paid,
        "paid_at": paid, "amount": "348.00", "ref": ref, "coupon_code": code,
        "items": [{"sku": "SERUM", "quantity": 1, "price": "368.00"}]}])
    assert order.status_code == 200 and order.get_json()["accepted"] == 1, order.get_json()
    with db.Session() as s:
        assert s.execute(select(Attribution.clerk_id, Attribution.rule).join(Order, Order.id == Attribution.order_id)
                         .where(Order.external_id == "T-1")).one() == (brand["clerk1"], "link")
    replay = client.post("/api/v1/orders", headers=bearer, json=[{  # the same code on another order: refused
        "external_id": "T-2", "customer": "C-CHEN", "store": "S1", "status": "paid", "created_at": paid,
        "paid_at": paid, "amount": "348.00", "coupon_code": code,
        "items": [{"sku": "SERUM", "quantity": 1, "price": "368.00"}]}])
    assert replay.get_json()["accepted"] == 0 and "coupon_code" in replay.get_json()["rejected"][0]["fields"]

    auth.logout()
    auth.login("hq")
    report = client.get(f"/api/v1/tasks/{task['id']}/progress").get_json()
    funnel = report["funnel"]["total"]
    assert {k: funnel[k] for k in ("sent", "opened", "clicked", "bought")} == {"sent": 1, "opened": 1, "clicked": 1, "bought": 1}
    assert report["coupon"]["title"] == "满200减20"
    total = report["total"]
    assert (total["coupons_issued"], total["coupons_redeemed"], total["coupon_cost"]) == (1, 1, "20.00")
    assert (total["revenue"], total["net_revenue"]) == ("348.00", "328.00")


def test_a_closed_task_or_one_without_copy_sends_nothing(client, auth, db, brand, coupon):
    auth.login("hq")
    quiet = client.post("/api/v1/tasks", json=_task_body(brand, template="", fallback="leave", coupon_template_id=coupon))
    assert quiet.status_code == 201, quiet.get_json()
    closing = client.post("/api/v1/tasks", json=_task_body(brand, fallback="leave", coupon_template_id=coupon)).get_json()
    client.post(f"/api/v1/tasks/{closing['id']}/close")
    auth.logout()
    auth.login("clerk1")
    no_copy = client.post(f"/api/v1/tasks/{quiet.get_json()['id']}/targets/"
                          f"{_target(client, quiet.get_json()['id'], '陈静')['id']}/send")
    assert no_copy.status_code == 422 and "template" in no_copy.get_json()["fields"]
    with db.Session() as s:
        closed_target = s.scalar(select(CareTaskTarget.id).where(CareTaskTarget.task_id == closing["id"],
                                                                 CareTaskTarget.customer_id == brand["陈静"]))
    closed = client.post(f"/api/v1/tasks/{closing['id']}/targets/{closed_target}/send")
    assert closed.status_code == 409 and "task_id" in closed.get_json()["fields"]
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 0
    assert _coupons(db, brand["陈静"]) == []
