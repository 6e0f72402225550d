"""The callback contract at the WeCom app URL: every well-signed, decryptable push is answered
200 whatever its type (WeCom retries anything else, then warns the administrator and a brand
switches the integration off); only bad signatures, ciphertext, timestamps and corp ids get 4xx.
Unknown pushes are kept once as ``ignored`` receipts with their type; ``kf_msg_or_event`` at the
app URL pulls 微信客服 messages when the app names its 微信客服 account."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from connectors.base import InboundRequest
from models import Conversation, InboundReceipt, Message
from tests import factories as f
from tests.connectors.conftest import load_fixture
from tests.connectors.wechat_crypto import AES_KEY, TOKEN, safe_callback

CORPID = "ww1a2b3c4d5e6f7a8b"
SETTINGS = {"corpid": CORPID, "secret": "app-secret", "token": TOKEN, "encoding_aes_key": AES_KEY, "timeout": "0.3"}
KF_SETTINGS = {**SETTINGS, "open_kfid": "wkxxxxxxxxxxxxxxxxxx"}


def push(msg_type: str, extra: str = "", *, created: int = 1795312800) -> str:
    return (f"<xml><ToUserName><![CDATA[{CORPID}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{extra}"
            f"<AgentID>1000002</AgentID></xml>")


def event(name: str, extra: str = "") -> str:
    return push("event", f"<Event><![CDATA[{name}]]></Event>{extra}")


PUSHES = {
    "member text": push("text", "<Content><![CDATA[今天几点开会]]></Content><MsgId>7310000000000001</MsgId>"),
    "member image": push("image", "<PicUrl><![CDATA[http://x/p.jpg]]></PicUrl><MsgId>7310000000000002</MsgId>"),
    "member location message": push("location", "<Location_X>31.2</Location_X><Location_Y>121.4</Location_Y>"
                                                "<MsgId>7310000000000003</MsgId>"),
    "enter_agent": event("enter_agent", "<EventKey><![CDATA[]]></EventKey>"),
    "click": event("click", "<EventKey><![CDATA[menu_today]]></EventKey>"),
    "view": event("view", "<EventKey><![CDATA[https://example.com/console]]></EventKey>"),
    "location event": event("LOCATION", "<Latitude>31.2</Latitude><Longitude>121.4</Longitude>"),
    "unknown event": event("teleport_everyone"),
    "unknown contact change": event("change_external_contact",
                                    "<ChangeType><![CDATA[teleport_contact]]></ChangeType>"),
}


def signed(xml: str, **kw) -> InboundRequest:
    query, body = safe_callback(xml, kw.pop("receive_id", CORPID), oa=False, **kw)
    return InboundRequest("POST", query, {}, body)


def post(client, req: InboundRequest, account: str = "corp"):
    return client.post(f"/channels/wecom/{account}", query_string=req.args, data=req.body, content_type="text/xml")


@pytest.fixture
def corp(add_channel, wechat):
    add_channel("wecom", "corp", **SETTINGS, base_url=wechat.url)


@pytest.mark.parametrize("name", sorted(PUSHES))
def test_every_well_signed_push_is_answered_200_and_kept_once(client, db, corp, name):
    for _ in range(2):  # WeCom's retry of the same push
        resp = post(client, signed(PUSHES[name]))
        assert resp.status_code == 200, resp.get_data(as_text=True)
    with db.Session() as s:
        [receipt] = s.scalars(select(InboundReceipt)).all()
        assert receipt.outcome == "ignored"
        assert s.scalar(select(func.count()).select_from(Message)) == 0  # a member's push is not a customer's message


def test_unknown_pushes_keep_their_type_for_the_health_page(client, db, corp):
    post(client, signed(PUSHES["member text"]))
    post(client, signed(PUSHES["unknown event"]))
    with db.Session() as s:
        kept = sorted((r.payload or {}).get("event") or (r.payload or {}).get("type") for r in s.scalars(select(InboundReceipt)))
    assert kept == ["teleport_everyone", "text"]


@pytest.mark.parametrize("name", ["member text", "unknown event", "click"])
def test_the_same_pushes_badly_signed_or_stale_or_for_another_corp_get_4xx(client, db, corp, name):
    good = signed(PUSHES[name])
    bad = [InboundRequest("POST", {**good.args, "msg_signature": "1" * 40}, {}, good.body),
           signed(PUSHES[name], timestamp=int(time.time()) - 1000),
           signed(PUSHES[name], receive_id="wwsomeoneelse00000"),
           InboundRequest("POST", good.args, {}, b"<xml><Encrypt>bm90IGFlcw==</Encrypt></xml>")]
    for req in bad:
        assert 400 <= post(client, req).status_code < 500
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(InboundReceipt)) == 0


def test_kf_msg_or_event_at_the_app_url_pulls_the_kf_account(client, db, add_channel, wechat):
    add_channel("wecom", "corp", **SETTINGS, base_url=wechat.url, kf_account="kf")
    add_channel("wecom-kf", "kf", **KF_SETTINGS, base_url=wechat.url)
    with db.transaction() as s:
        f.store(s)
    wechat.kf_messages.extend(json.loads(load_fixture("wecom_kf/sync_msg_page.json")))
    callback = load_fixture("wecom_kf/kf_msg_or_event.xml")
    for _ in range(2):
        assert post(client, signed(callback)).status_code == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with db.Session() as s:
            bodies = sorted(s.scalars(select(Message.body)))
            pooled = s.scalar(select(func.count()).select_from(Conversation).where(Conversation.clerk_id.is_(None)))
        if len(bodies) == 3:
            break
        time.sleep(0.05)
    assert bodies == ["", "第二位顾客", "请问这款有货吗"]
    assert pooled == 2  # two customers nobody owns: both wait in head office's pool, none is lost


def test_kf_msg_or_event_without_a_kf_account_is_still_answered(client, db, corp):
    assert post(client, signed(load_fixture("wecom_kf/kf_msg_or_event.xml"))).status_code == 200
    with db.Session() as s:
        assert s.scalars(select(InboundReceipt.outcome)).all() == ["ignored"]
