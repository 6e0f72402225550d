"""微信客服: the callback only carries a token; messages come from kf/sync_msg with its cursor and
land once each; replies go out with kf/send_msg."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from connectors.base import InboundRejected, InboundRequest, Outbound
from connectors.wecom_kf import WeComKfConnector, kf_msgid
from models import ConsoleEvent, Message, OutboxState, Setting
from tests import factories as f
from tests.connectors import proofs
from tests.connectors.conftest import load_fixture
from tests.connectors.wechat_crypto import AES_KEY, TOKEN, safe_callback

CORPID = "ww1a2b3c4d5e6f7a8b"
SETTINGS = {"corpid": CORPID, "secret": "app-secret", "token": TOKEN, "encoding_aes_key": AES_KEY,
            "open_kfid": "wkxxxxxxxxxxxxxxxxxx", "timeout": "0.3"}
CALLBACK = load_fixture("wecom_kf/kf_msg_or_event.xml")
PAGE = json.loads(load_fixture("wecom_kf/sync_msg_page.json"))


def connector(url: str = "http://127.0.0.1:9") -> WeComKfConnector:
    return WeComKfConnector("kf", {**SETTINGS, "base_url": url})


def request_for(xml: str) -> InboundRequest:
    query, body = safe_callback(xml, CORPID, oa=False)
    return InboundRequest("POST", query, {}, body)


def test_the_callback_becomes_a_sync_request_with_its_token():
    conn = connector()
    req = request_for(CALLBACK)
    conn.verify_inbound(req)
    [event] = conn.parse_inbound(req)
    assert event.kind == "sync" and event.payload["token"].startswith("ENCApHxn")


@pytest.mark.parametrize("xml", [CALLBACK.replace("kf_msg_or_event", "change_external_contact"),
                                 CALLBACK.replace("<Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token>", "")])
def test_other_events_or_a_missing_token_are_rejected(xml):
    conn = connector()
    req = request_for(xml)
    conn.verify_inbound(req)
    with pytest.raises(InboundRejected):
        conn.parse_inbound(req)


def test_sync_follows_the_cursor_and_keeps_only_customer_messages(wechat):
    wechat.kf_messages.extend(PAGE)
    conn = connector(wechat.url)
    events, cursor, more = conn.sync(None, "tok")
    assert [e.kind for e in events] == ["message", "message"] and cursor == "2" and more
    events, cursor, more = conn.sync(cursor, None)
    assert [e.kind for e in events] == ["noop", "message"] and more
    assert events[1].sender == "wmBBBBBBB" and events[1].body == "第二位顾客"


def test_replies_carry_a_msgid_derived_from_the_idempotency_key(wechat):
    result = connector(wechat.url).send(Outbound("msg:5", "wmAAAAAAA", "text", "有的，给您留一件"))
    [sent] = wechat.delivered
    assert sent["path"] == "/cgi-bin/kf/send_msg" and sent["msgid"] == kf_msgid("msg:5") == result.provider_message_id
    assert sent["open_kfid"] == SETTINGS["open_kfid"] and sent["text"] == {"content": "有的，给您留一件"}


# through the app ------------------------------------------------------------------------------
@pytest.fixture
def kf(app, db, add_channel, wechat):
    add_channel("wecom-kf", "kf", **SETTINGS, base_url=wechat.url, default_clerk="clerk-kf")
    with db.transaction() as s:
        clerk = f.staff(s, store=f.store(s), username="clerk-kf")
    wechat.kf_messages.extend(PAGE)
    return clerk.id


def test_callbacks_pull_every_message_once_and_save_the_cursor(client, db, kf, wechat):
    for _ in range(2):  # a retried callback: the second pull finds nothing new
        req = request_for(CALLBACK)
        resp = client.post("/channels/wecom-kf/kf", query_string=req.args, data=req.body)
        assert resp.status_code == 200
    with db.Session() as s:
        bodies = sorted(s.scalars(select(Message.body)))
        assert bodies == ["", "第二位顾客", "请问这款有货吗"]
        assert s.get(Setting, "channels.wecom-kf.kf.cursor").value == {"cursor": "5"}
        assert s.scalar(select(func.count()).select_from(ConsoleEvent)
                        .where(ConsoleEvent.name == "message.created")) == 3
    wechat.kf_messages.append({**PAGE[0], "msgid": "late-1", "text": {"content": "还在吗"}})
    from app.channels import kf as kf_sync
    with client.application.app_context():
        assert kf_sync.sync_all_kf() == 1  # the periodic catch-up continues from the cursor


def test_kf_outage_then_recovery_delivers_each_once(app, db, clock, add_channel, wechat):
    add_channel("wecom-kf", "kf", **SETTINGS, base_url=wechat.url)
    proofs.outage_then_recovery(app, db, clock, lambda: wechat.fail("status:503", 50), n=4, channel="wecom-kf",
                                account="kf")
    wechat.failures.clear()
    proofs.drain(app, clock)
    assert proofs.states(db) == {"sent": 4}
    assert sorted(d["touser"] for d in wechat.delivered) == [f"user-{i}" for i in range(4)]


def test_kf_killed_dispatcher_holds_the_in_flight_reply(app, db, clock, add_channel, wechat):
    add_channel("wecom-kf", "kf", **SETTINGS, base_url=wechat.url)
    proofs.kill_mid_batch(app, db, clock, survive=0, n=3, channel="wecom-kf", account="kf")
    assert proofs.states(db) == {"sent": 2, "unknown": 1}
    assert sorted(d["touser"] for d in wechat.delivered) == ["user-0", "user-1", "user-2"]
    assert len(proofs.rows_by_state(db, OutboxState.unknown)) == 1
