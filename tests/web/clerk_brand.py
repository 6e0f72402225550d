"""A clerk's day in the seeded brand, for the browser tests of the clerk's screens: followers with
automatic and manual tags (one with a long nickname), a Today list, a care task with targets in
every state a clerk meets, an unanswered question, a customer waiting in the store's pool and an
order with its commission."""
from __future__ import annotations

import datetime as dt

import pytest
import requests

from models.base import utcnow
from tests import factories
from tests.web.live import Brand, inbound, seeded_server

UTC = dt.timezone.utc
LONG_NAME = "Sunny 的妈妈（静安嘉里店的老顾客，每月都来）"
TASK_TITLE = "双12 会员日：休眠高价值老客唤醒，邀请到店体验新品并领取专属礼"
TASK_GOAL = ("提醒近 60 天没有回购、累计消费超过 500 元的老客：12 月 12 日会员日全场 9 折，"
             "到店还可领取小样礼包；请用自己的话邀请，不要群发统一文案。")
# The followers tests talk about, with the state of each one's care-task target.
TARGETS = {"陈静": "todo", LONG_NAME: "todo", "刘洋": "skipped", "张敏": "offline"}


def add(s, brand: Brand) -> None:
    """Rows of the clerk's day, written before the server starts (``seeded_server(add=…)``)."""
    from assistant.tags import retag_all
    from app.followers.actions import add_manual_tag
    from models import CareTask, CareTaskTarget, CommissionRule, Customer, CustomerScore, Staff

    clerk = s.get(Staff, brand.clerk1)
    serum = factories.product(s, sku="SERUM", category="skincare", price_fen=25600, usage_days=30)
    sunny = factories.reachable_follower(s, clerk, name=LONG_NAME, phone="13955550001", address="上海市徐汇区复旦大学 12 号楼")
    factories.order(s, sunny, [(serum, 1)], status="created")
    brand.customers[LONG_NAME] = sunny.id
    sun = factories.customer(s, name="孙悦", home_store_id=brand.store_id)  # follows no clerk: the pool
    factories.identity(s, sun, "loopback", f"lb-{sun.id}")
    brand.customers["孙悦"] = sun.id
    retag_all(s)
    for name, tag in ((LONG_NAME, "喜欢玫瑰香型，不要推荐含酒精的产品"), ("陈静", "周末到店")):
        add_manual_tag(s, clerk, s.get(Customer, brand.customers[name]), tag)
    s.add(CustomerScore(customer_id=brand.customers["陈静"], propensity=0.62, expected_value_fen=16616, action="payment",
                        reasons=[{"code": "unpaid", "params": {"amount": "268"}, "effect": 1.4},
                                 {"code": "cycle_due", "params": {"quantity": 2, "usage_days": 10, "days": 18}, "effect": 0.6}]))
    s.add(CustomerScore(customer_id=sunny.id, propensity=0.41, expected_value_fen=10496, action="payment",
                        reasons=[{"code": "unpaid", "params": {"amount": "256"}, "effect": 1.1}]))
    s.add(CommissionRule(name="护肤 5%", kind="percent", category="skincare", rate_bp=500,
                         effective_from=dt.datetime(2020, 1, 1, tzinfo=UTC)))
    segment = factories.segment(s, {"field": "paid_orders", "op": ">=", "value": 0}, name="休眠高价值老客")
    task = CareTask(title=TASK_TITLE, goal=TASK_GOAL, segment_id=segment.id, scenario="节日",
                    template="{{ customer_name }}您好", deadline=utcnow() + dt.timedelta(days=3),
                    fallback="leave", status="open", created_by=brand.hq)
    s.add(task)
    s.flush()
    for name, status in TARGETS.items():
        s.add(CareTaskTarget(task_id=task.id, customer_id=brand.customers[name], clerk_id=brand.clerk1, status=status,
                             skip_reason="bought_elsewhere" if status == "skipped" else None,
                             sent_at=utcnow() if status == "offline" else None))


def live_day(url: str, database, brand: Brand) -> None:
    """What happens once the server runs: a paid order through the integrator API (attributed,
    with its commission), a question waiting for an answer, a customer in the store's pool."""
    from app.auth import create_api_token
    from models import Customer

    with database.transaction() as s:
        token = create_api_token(s, "clerk-screens")
        chen = s.get(Customer, brand.customers["陈静"]).external_id
    paid = utcnow().replace(microsecond=0).isoformat()
    resp = requests.post(f"{url}/api/v1/orders", headers={"Authorization": f"Bearer {token}"}, timeout=20, json=[{
        "external_id": "SCREEN-1", "customer": chen, "status": "paid", "created_at": paid, "paid_at": paid,
        "amount": "512.00", "items": [{"sku": "SERUM", "quantity": 2, "price": "256.00"}]}])
    assert resp.status_code == 200 and resp.json()["accepted"] == 1, resp.text
    inbound(url, brand.customers["陈静"], "你好，上次买的精华快用完了，这周末店里有会员活动吗？想顺便看看新出的面霜，"
                                        "能帮我留一个小样吗？")
    inbound(url, brand.customers[LONG_NAME], "请问卸妆水 400ml 还有货吗？")
    inbound(url, brand.customers["孙悦"], "这款面霜还有货吗？")


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """(server, brand): the clerk's day on a real server, for one test module."""
    with seeded_server(tmp_path_factory.mktemp("clerk-day"), add) as (server, brand, database):
        live_day(server.url, database, brand)
        yield server, brand
