"""Task and campaign sends carry each customer's own page; their reports show the funnel
sent → delivered → opened → clicked → bought per clerk and store."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from app.care import actions, campaigns, deadlines
from app.errors import Invalid
from models import CareTask, Message, MessageStatus, Segment, Staff
from models.base import utcnow
from models.links import PersonalLink

EVERYONE = {"field": "paid_orders", "op": ">=", "value": 0}
WECHAT = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47 NetType/WIFI"
PAGE = re.compile(r"https?://[^/\s]+/p/([A-Za-z0-9_-]{16,})$")


@pytest.fixture
def everyone(db):
    with db.transaction() as s:
        seg = Segment(name="全部顾客", filter=EVERYONE)
        s.add(seg)
        s.flush()
        return seg.id


def _closed_task(app, db, brand, segment, skus=("SERUM", "CREAM")):
    with app.app_context():
        with db.transaction() as s:
            task, _ = actions.create_care_task(s, s.get(Staff, brand["hq"]), {
                "title": "换季补货", "segment_id": segment, "scenario": "补货", "fallback": "mass_send",
                "template": "{{ customer_name }}您好，换季护肤给您挑了几样", "product_skus": list(skus),
                "deadline": utcnow() + dt.timedelta(days=1)})
        with db.transaction() as s:
            s.get(CareTask, task.id).deadline = utcnow() - dt.timedelta(seconds=1)
        deadlines.close_task(task.id)
    return task.id


def _tokens(db, brand, purpose="marketing"):
    """customer name → the page token in the message they were sent."""
    from models import Conversation, Customer

    with db.Session() as s:
        rows = s.execute(select(Customer.name, Message.body).join(Conversation, Conversation.customer_id == Customer.id)
                         .join(Message, Message.conversation_id == Conversation.id)
                         .where(Message.purpose == purpose)).all()
    return {name: PAGE.search(body.splitlines()[-1]).group(1) for name, body in rows}


def test_a_task_fallback_with_products_sends_each_customer_their_own_page(app, db, brand, everyone, client):
    task_id = _closed_task(app, db, brand, everyone)
    tokens = _tokens(db, brand)
    assert set(tokens) == {"陈静", "刘洋", "周其他"} and len(set(tokens.values())) == 3
    with db.Session() as s:
        links = s.scalars(select(PersonalLink)).all()
        assert {(l.source_kind, l.source_id, tuple(l.skus)) for l in links} == {("task", task_id, ("SERUM", "CREAM"))}
        assert {l.clerk_id for l in links} == {brand["clerk1"], brand["clerk2"]}
        assert all(m.payload["link_id"] for m in s.scalars(select(Message).where(Message.purpose == "marketing")))
    html = client.get(f"/p/{tokens['周其他']}", headers={"User-Agent": WECHAT}).get_data(as_text=True)
    assert "周其他，您好" in html and "李安" in html  # each page is its customer's, from their clerk


def test_a_task_without_products_sends_the_copy_alone(app, db, brand, everyone):
    _closed_task(app, db, brand, everyone, skus=())
    with db.Session() as s:
        assert s.scalars(select(PersonalLink)).all() == []
        assert not any("/p/" in b for b in s.scalars(select(Message.body)))


def test_the_task_report_shows_the_funnel_per_clerk_and_store(app, db, brand, everyone, client, auth, bearer, clock):
    auth.login("hq")
    client.put("/api/v1/links/settings", json={"shop_url": "https://shop.example.com/{sku}"})
    task_id = _closed_task(app, db, brand, everyone)
    tokens = _tokens(db, brand)
    with db.transaction() as s:  # 周其他's SMS never reported delivery
        s.execute(update(Message).where(Message.body.contains(tokens["周其他"])).values(status=MessageStatus.sent))
    for name in ("陈静", "刘洋"):
        client.get(f"/p/{tokens[name]}", headers={"User-Agent": WECHAT})
    client.get(f"/p/{tokens['陈静']}/buy/SERUM", headers={"User-Agent": WECHAT})
    client.get(f"/p/{tokens['周其他']}", headers={"User-Agent": "facebookexternalhit/1.1"})  # a preview: not opened
    clock.travel(hours=1)
    paid = utcnow().isoformat()
    client.post("/api/v1/orders", headers=bearer, json=[{
        "external_id": "F-1", "customer": "C-CHEN", "status": "paid", "created_at": paid, "paid_at": paid,
        "amount": "368.00", "items": [{"sku": "SERUM", "quantity": 1, "price": "368.00"}]}])
    funnel = client.get(f"/api/v1/tasks/{task_id}/progress").get_json()["funnel"]
    assert funnel["steps"] == ["sent", "delivered", "opened", "clicked", "bought"]
    assert funnel["total"] == {"sent": 3, "delivered": 2, "opened": 2, "clicked": 1, "bought": 1}
    by_clerk = {c["display_name"]: {k: c[k] for k in funnel["steps"]} for c in funnel["clerks"]}
    assert by_clerk == {"王小美": {"sent": 2, "delivered": 2, "opened": 2, "clicked": 1, "bought": 1},
                        "李安": {"sent": 1, "delivered": 0, "opened": 0, "clicked": 0, "bought": 0}}
    assert [(st["store_name"], st["sent"], st["opened"]) for st in funnel["stores"]] == [("静安嘉里店", 3, 2)]


def test_a_campaign_with_products_carries_pages_and_its_report_shows_the_funnel(app, db, brand, everyone, client, auth):
    with app.app_context():
        with db.transaction() as s:
            hq = s.get(Staff, brand["hq"])
            with pytest.raises(Invalid) as err:
                campaigns.create_campaign(s, hq, {"name": "x", "segment_id": everyone, "channel": "loopback",
                                                  "holdout_pct": 0, "content": {"text": "hi", "products": ["NOPE"]}})
            assert "content.products" in err.value.fields
        with db.transaction() as s:
            c = campaigns.create_campaign(s, s.get(Staff, brand["hq"]), {
                "name": "换季", "segment_id": everyone, "channel": "loopback", "holdout_pct": 0,
                "content": {"text": "{{ customer_name }}您好，换季新品", "products": ["SERUM"]}})
            cid = c.id
        campaigns.send_campaign(cid)
    tokens = _tokens(db, brand)
    assert set(tokens) == {"陈静", "刘洋", "周其他"}
    client.get(f"/p/{tokens['刘洋']}", headers={"User-Agent": WECHAT})
    auth.login("hq")
    report = client.get(f"/api/v1/campaigns/{cid}/report").get_json()
    assert report["funnel"]["total"] == {"sent": 3, "delivered": 3, "opened": 1, "clicked": 0, "bought": 0}
    assert report["replied"] == 0  # the page view's line in the chat is not a reply
