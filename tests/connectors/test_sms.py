"""SMS through Aliyun: signed SendSms calls to a fake dysmsapi, segments, signature, opt-out
suffix, delivery reports and replies (T/TD/退订), and the done-when proofs."""
from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select

from connectors.base import ConnectorError, InboundRejected, InboundRequest, Outbound
from connectors.sms import SmsConnector, compose, segments
from models import CustomerOptOut, InboundReceipt, Message, MessageStatus
from tests import factories as f
from tests.connectors import proofs
from tests.connectors.conftest import expectations, load_fixture
from tests.connectors.fakes import FakeAliyunSms

TOKEN = "cb-secret"


def settings(url: str) -> dict[str, str]:
    return {"access_key_id": "LTAI5t", "access_key_secret": FakeAliyunSms.SECRET, "sign_name": "导购演示",
            "template_code": "SMS_100", "marketing_template_code": "SMS_200", "base_url": url,
            "callback_token": TOKEN, "timeout": "0.3"}


def connector(url: str = "http://127.0.0.1:9") -> SmsConnector:
    return SmsConnector("aliyun", settings(url))


@pytest.mark.parametrize("text, parts", [("好" * 70, 1), ("好" * 71, 2), ("好" * 134, 2), ("好" * 135, 3), ("", 1)])
def test_segments_are_70_single_and_67_per_part(text, parts):
    assert segments(text) == parts


def test_marketing_texts_carry_the_signature_and_the_opt_out_suffix():
    assert compose("双十一会员价", "导购演示", "marketing") == "【导购演示】双十一会员价 回T退订"
    assert compose("您的快递已到", "导购演示", "service") == "【导购演示】您的快递已到"


@pytest.mark.parametrize("name", sorted(expectations("sms")))
def test_recorded_reports_and_replies_parse(name):
    body = load_fixture(f"sms/{name}").encode()
    req = InboundRequest("POST", {"token": TOKEN}, {}, body)
    conn = connector()
    conn.verify_inbound(req)
    [event] = conn.parse_inbound(req)
    for key, want in expectations("sms")[name].items():
        assert getattr(event, key) == want, key


@pytest.mark.parametrize("query, body", [
    ({"token": "wrong"}, load_fixture("sms/reply_td.json")),
    ({}, load_fixture("sms/reply_td.json")),
    ({"token": TOKEN}, "not json"),
    ({"token": TOKEN}, "[]"),
    ({"token": TOKEN}, '{"phone_number": "13800138000"}'),
    ({"token": TOKEN}, '[{"phone_number": "12345", "content": "T"}]'),
    ({"token": TOKEN}, '[{"phone_number": "13800138000", "foo": 1}]'),
])
def test_bad_sms_callbacks_are_rejected(query, body):
    conn = connector()
    with pytest.raises(InboundRejected) as err:
        req = InboundRequest("POST", query, {}, body.encode())
        conn.verify_inbound(req)
        conn.parse_inbound(req)
    assert 400 <= err.value.status < 500


def test_send_is_a_signed_aliyun_call_with_template_and_out_id(aliyun):
    result = connector(aliyun.url).send(Outbound("msg:42", "+8613800138000", "text", "新品到店", purpose="marketing"))
    [sent] = aliyun.sent
    assert sent["PhoneNumbers"] == "13800138000" and sent["TemplateCode"] == "SMS_200"
    assert sent["SignName"] == "导购演示" and sent["OutId"] == "msg:42"
    assert json.loads(sent["TemplateParam"]) == {"content": "新品到店 回T退订"}
    assert result.provider_message_id == sent["BizId"]


def test_a_wrong_secret_is_refused_by_the_provider_not_retried(aliyun):
    conn = SmsConnector("aliyun", {**settings(aliyun.url), "access_key_secret": "wrong"})
    with pytest.raises(ConnectorError) as err:
        conn.send(Outbound("msg:1", "13800138000", "text", "x"))
    assert err.value.code == "SignatureDoesNotMatch" and not err.value.retryable


@pytest.mark.parametrize("failure, expect", [
    ("errcode:500", {"retryable": True}),              # isp.SYSTEM_ERROR
    ("errcode:400", {"retryable": True}),              # isv.BUSINESS_LIMIT_CONTROL → back off
    ("status:503", {"retryable": True, "maybe_sent": False}),
    ("hang", {"retryable": True, "maybe_sent": True}),
])
def test_provider_failures_are_typed(aliyun, failure, expect):
    aliyun.fail(failure)
    with pytest.raises(ConnectorError) as err:
        connector(aliyun.url).send(Outbound("msg:1", "13800138000", "text", "x"))
    for key, want in expect.items():
        assert getattr(err.value, key) == want


def test_bad_numbers_and_overlong_texts_are_refused_before_any_call(aliyun):
    conn = connector(aliyun.url)
    for out in (Outbound("k", "12345", "text", "x"), Outbound("k", "13800138000", "text", "好" * 700)):
        with pytest.raises(ConnectorError) as err:
            conn.send(out)
        assert not err.value.retryable
    assert not aliyun.requests


# through the app ------------------------------------------------------------------------------
@pytest.fixture
def sms(app, db, add_channel, aliyun):
    add_channel("sms", "aliyun", **settings(aliyun.url))
    with db.transaction() as s:
        clerk = f.staff(s, store=f.store(s))
        c = f.customer(s, phone="13800138000")
        f.follow(s, c, clerk, channel="sms")
    return c.id


def post(client, name_or_body: str, token: str = TOKEN):
    body = load_fixture(f"sms/{name_or_body}") if name_or_body.endswith(".json") else name_or_body
    return client.post("/channels/sms/aliyun", query_string={"token": token}, data=body.encode(),
                       content_type="application/json")


def test_replies_are_stored_once_and_td_opts_out(client, db, sms):
    for _ in range(2):
        resp = post(client, "reply_text.json")
        assert resp.status_code == 200 and resp.get_json() == {"code": 0, "msg": "成功"}
        assert post(client, "reply_td.json").status_code == 200
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 2
        assert s.scalar(select(CustomerOptOut.customer_id).where(CustomerOptOut.channel == "sms")) == sms
    assert post(client, "reply_td.json", token="nope").status_code == 403


def test_delivery_reports_update_the_message_status(app, client, db, sms, aliyun):
    proofs_ids = proofs.queue_messages(app, db, "sms", 1, recipient=lambda i: "13900139000")
    with db.Session() as s:
        biz = aliyun.sent[-1]["BizId"]
        assert s.get(Message, proofs_ids[0]).status == MessageStatus.sent
    report = json.dumps([{"phone_number": "13900139000", "success": True, "err_code": "DELIVERED",
                          "biz_id": biz, "send_time": "2026-11-22 10:00:00"}])
    for _ in range(2):
        assert post(client, report).status_code == 200
    with db.Session() as s:
        assert s.get(Message, proofs_ids[0]).status == MessageStatus.delivered
        assert s.scalar(select(func.count()).select_from(InboundReceipt)) == 1


def test_sms_outage_then_recovery_delivers_each_once(app, db, clock, add_channel, aliyun):
    add_channel("sms", "aliyun", **settings(aliyun.url))
    proofs.outage_then_recovery(app, db, clock, lambda: aliyun.fail("status:503", 50), n=5, channel="sms",
                                recipient=lambda i: f"1380013800{i}")
    aliyun.failures.clear()
    proofs.drain(app, clock)
    assert proofs.states(db) == {"sent": 5}
    assert sorted(s["PhoneNumbers"] for s in aliyun.sent) == [f"1380013800{i}" for i in range(5)]


def test_sms_killed_dispatcher_settles_the_in_flight_send_by_a_status_query(app, db, clock, add_channel, aliyun):
    add_channel("sms", "aliyun", **settings(aliyun.url))
    proofs.kill_mid_batch(app, db, clock, survive=2, n=4, channel="sms", recipient=lambda i: f"1390013900{i}")
    # QuerySendDetails found the in-flight one (OutId = idempotency key): settled as sent, not resent.
    assert proofs.states(db) == {"sent": 4}
    assert sorted(s["PhoneNumbers"] for s in aliyun.sent) == [f"1390013900{i}" for i in range(4)]
    queries = [dict(parse_qsl(r[3].decode())) for r in aliyun.requests]
    assert any(q.get("Action") == "QuerySendDetails" for q in queries)
