"""A customer waiting for a clerk reaches that clerk inside WeCom: one app message per wait
(``message/send`` through the outbox, on the fake qyapi server), to the owner or to the store's
people for a pooled thread, as each clerk chose; never counted against the customer."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.channels import dispatch
from models import OutboxEntry, Role
from tests import factories as f
from tests.app.reception.test_pools import OA, post, text_from
from tests.connectors.wechat_crypto import AES_KEY, TOKEN

WECOM = {"corpid": "ww1a2b3c4d5e6f7a8b", "secret": "app-secret", "token": TOKEN, "encoding_aes_key": AES_KEY,
         "timeout": "5", "agentid": "1000002"}


@pytest.fixture
def shop(app, db, add_channel, wechat):
    app.config["PUBLIC_URL"] = "https://daogou.example.com"
    add_channel("wechat-oa", "main", **OA, base_url=wechat.url)
    add_channel("wecom", "corp", **WECOM, base_url=wechat.url)
    with db.transaction() as s:
        store = f.store(s, name="静安店")
        owner = f.staff(s, store=store, username="a1", external_id="zhangsan")
        f.staff(s, store=store, username="a2", external_id="lisi")
        f.staff(s, role=Role.manager, store=store, username="m1", external_id="wangdian")
        f.staff(s, store=store, username="a3")  # no WeCom userid: cannot be told there
        wang = f.customer(s, name="王女士", home_store_id=store.id)
        f.follow(s, wang, owner, channel="wechat-oa")
        f.identity(s, wang, "wechat-oa", "o-wang", account="main")
        walk_in = f.customer(s, name="孙悦", home_store_id=store.id)
        f.identity(s, walk_in, "wechat-oa", "o-sun", account="main")
    return {"owner": owner.id}


def notices(app, wechat) -> list[dict]:
    with app.app_context():
        dispatch.sweep_outbox()
    return [d for d in wechat.delivered if d["path"] == "/cgi-bin/message/send"]


def test_the_owner_is_told_once_per_wait_in_wecom(app, client, db, shop, wechat):
    for i, body in enumerate(("在吗", "想问下面霜", "还有货吗")):
        assert post(client, text_from("o-wang", body, 100 + i)).status_code == 200
    [sent] = notices(app, wechat)
    assert sent["touser"] == "zhangsan" and sent["agentid"] == 1000002 and sent["msgtype"] == "textcard"
    assert sent["textcard"]["title"] == "客户 王女士 发来消息" and sent["textcard"]["description"] == "在吗"
    assert sent["textcard"]["url"] == "https://daogou.example.com/console/#messages"
    with db.Session() as s:
        row = s.scalar(select(OutboxEntry).where(OutboxEntry.recipient == "zhangsan"))
        assert row.customer_id is None and row.message_id is None  # no customer: no fatigue


def test_a_pooled_customer_reaches_the_store_people_with_wecom_ids(app, client, db, shop, wechat):
    assert post(client, text_from("o-sun", "你们几点关门", 200)).status_code == 200
    [sent] = notices(app, wechat)
    assert sorted(sent["touser"].split("|")) == ["lisi", "wangdian", "zhangsan"]
    assert sent["textcard"]["title"].startswith("待接待")


def test_a_clerk_who_switched_notices_off_or_is_in_quiet_time_is_not_told(app, client, db, shop, wechat, clock):
    owner = app.test_client()
    token = owner.post("/auth/login", json={"username": "a1", "password": "demo"}).get_json()["csrf_token"]
    owner.environ_base["HTTP_X_CSRF_TOKEN"] = token
    bad = owner.put("/api/v1/me/notifications", json={"quiet_from": "25:00"})
    assert bad.status_code == 422 and "quiet_from" in bad.get_json()["fields"]
    assert owner.put("/api/v1/me/notifications", json={"quiet_from": "10:00", "quiet_to": "11:00"}).status_code == 200
    clock.travel_to("2026-11-18 10:30")
    assert post(client, text_from("o-wang", "在吗", 300)).status_code == 200
    assert notices(app, wechat) == []
    assert owner.put("/api/v1/me/notifications", json={"quiet_from": None, "quiet_to": None, "wecom": False}).status_code == 200
    assert owner.get("/api/v1/me/notifications").get_json()["notifications"]["wecom"] is False
