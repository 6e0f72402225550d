"""WeCom external contacts: encrypted callbacks built independently, contact changes as follower
bindings (with the clerk who added them), de-duplication of sys events, and mass messages."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from connectors.base import ConnectorError, InboundRejected, InboundRequest, Outbound
from connectors.wecom import WeComConnector
from models import FollowerBinding, InboundReceipt, OutboxState
from tests import factories as f
from tests.connectors import proofs
from tests.connectors.conftest import expectations, load_fixture
from tests.connectors.wechat_crypto import AES_KEY, TOKEN, encrypt, safe_callback, sha1_sign

CORPID = "ww1a2b3c4d5e6f7a8b"
SETTINGS = {"corpid": CORPID, "secret": "app-secret", "token": TOKEN, "encoding_aes_key": AES_KEY,
            "timeout": "0.3"}
ADD = load_fixture("wecom/add_external_contact.xml")


def connector(url: str = "http://127.0.0.1:9", **extra) -> WeComConnector:
    return WeComConnector("corp", {**SETTINGS, "base_url": url, **extra})


def request_for(xml: str, **kw) -> InboundRequest:
    query, body = safe_callback(xml, kw.pop("receive_id", CORPID), oa=False, **kw)
    return InboundRequest("POST", query, {}, body)


def parse(conn, req):
    conn.verify_inbound(req)
    return conn.parse_inbound(req)


@pytest.mark.parametrize("name", sorted(expectations("wecom")))
def test_recorded_contact_changes_parse(name):
    [event] = parse(connector(), request_for(load_fixture(f"wecom/{name}")))
    for key, want in expectations("wecom")[name].items():
        assert getattr(event, key) == want, key


def test_sys_events_are_told_apart_by_their_own_fields():
    other_customer = ADD.replace("wmEAlECwAAHrbWYDOK5u3Af13xlYDDNQ", "wmOTHER")  # same second, same clerk
    [a], [b], [a2] = (parse(connector(), request_for(x)) for x in (ADD, other_customer, ADD))
    assert a.external_id != b.external_id and a.external_id == a2.external_id


def test_url_verification_decrypts_the_echo():
    ts, nonce = str(int(time.time())), "n"
    echo = encrypt("1616140317555161061", CORPID)
    query = {"msg_signature": sha1_sign(TOKEN, ts, nonce, echo), "timestamp": ts, "nonce": nonce, "echostr": echo}
    assert connector().handshake(InboundRequest("GET", query, {}, b"")) == "1616140317555161061"
    with pytest.raises(InboundRejected):
        connector().handshake(InboundRequest("GET", {**query, "msg_signature": "0" * 40}, {}, b""))


BAD = {
    "wrong corpid inside": lambda: request_for(ADD, receive_id="wwOTHERCORP000000"),
    "addressed to another corp": lambda: request_for(ADD.replace(CORPID, "wwOTHERCORP000000")),
    "stale": lambda: request_for(ADD, timestamp=int(time.time()) - 1000),
    "bad signature": lambda: _resigned(request_for(ADD)),
    "XXE": lambda: InboundRequest("POST", request_for(ADD).args, {},
                                  b'<!DOCTYPE x [<!ENTITY e "e">]><xml><Encrypt>&e;</Encrypt></xml>'),
}


def _resigned(req: InboundRequest) -> InboundRequest:
    return InboundRequest("POST", {**req.args, "msg_signature": "1" * 40}, {}, req.body)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_wecom_callbacks_are_rejected(case):
    with pytest.raises(InboundRejected) as err:
        parse(connector(), BAD[case]())
    assert 400 <= err.value.status < 500


def test_mass_message_goes_through_add_msg_template_with_the_clerk_as_sender(wechat):
    result = connector(wechat.url).send(Outbound("msg:1", "wmEAl", "text", "周末会员日", extra={"clerk_ref": "zhangsan"}))
    [sent] = wechat.delivered
    assert sent["path"] == "/cgi-bin/externalcontact/add_msg_template"
    assert sent["external_userid"] == ["wmEAl"] and sent["sender"] == "zhangsan" and sent["chat_type"] == "single"
    assert result.provider_message_id


def test_one_mass_message_per_customer_per_day(wechat):
    with pytest.raises(ConnectorError) as err:
        connector(wechat.url).send(Outbound("msg:2", "wmEAl", "text", "x", extra={"sent_last_day": 1}))
    assert err.value.retryable and err.value.retry_after >= 3600 and not wechat.delivered


# through the app ------------------------------------------------------------------------------
@pytest.fixture
def wecom(app, db, add_channel, wechat):
    add_channel("wecom", "corp", **SETTINGS, base_url=wechat.url, staff_map={"zhangsan": "clerk-zhang"})
    with db.transaction() as s:
        clerk = f.staff(s, store=f.store(s), username="clerk-zhang")
    return clerk.id


def post(client, req):
    return client.post("/channels/wecom/corp", query_string=req.args, data=req.body, content_type="text/xml")


def test_contact_changes_bind_and_unbind_once_with_the_clerk_who_added(client, db, wecom):
    for _ in range(3):
        assert post(client, request_for(ADD)).status_code == 200
    with db.Session() as s:
        binding = s.scalars(select(FollowerBinding)).one()
        assert binding.clerk_id == wecom and binding.is_owner and binding.channel == "wecom"
    for _ in range(2):
        assert post(client, request_for(load_fixture("wecom/del_follow_user.xml"))).status_code == 200
    with db.Session() as s:
        binding = s.scalars(select(FollowerBinding)).one()
        assert binding.ended_at is not None and binding.end_reason == "deleted_by_customer"
        assert s.scalar(select(func.count()).select_from(InboundReceipt)) == 2


def test_bad_wecom_callbacks_over_http_store_nothing(client, db, wecom):
    for case, build in BAD.items():
        assert 400 <= post(client, build()).status_code < 500, case
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(InboundReceipt)) == 0


def test_wecom_outage_then_recovery_delivers_each_once(app, db, clock, add_channel, wechat):
    add_channel("wecom", "corp", **SETTINGS, base_url=wechat.url)
    proofs.outage_then_recovery(app, db, clock, lambda: wechat.fail("status:503", 50), n=4, channel="wecom",
                                account="corp", clerk_external_id="zhangsan")
    wechat.failures.clear()
    proofs.drain(app, clock)
    assert proofs.states(db) == {"sent": 4}
    sent = sorted(d["external_userid"][0] for d in wechat.delivered)
    assert sent == [f"user-{i}" for i in range(4)]
    assert {d["sender"] for d in wechat.delivered} == {"zhangsan"}


def test_wecom_killed_dispatcher_holds_the_in_flight_message(app, db, clock, add_channel, wechat):
    add_channel("wecom", "corp", **SETTINGS, base_url=wechat.url)
    proofs.kill_mid_batch(app, db, clock, survive=1, n=3, channel="wecom", account="corp")
    assert proofs.states(db) == {"sent": 2, "unknown": 1}
    assert sorted(d["external_userid"][0] for d in wechat.delivered) == ["user-0", "user-1", "user-2"]
    assert len(proofs.rows_by_state(db, OutboxState.unknown)) == 1
