"""WeChat Official Account: callbacks in every mode, sends inside and outside the window, the
token, the error codes, and the done-when proofs against a fake api.weixin.qq.com."""
from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import func, select

from app.counters import MemoryCounters
from connectors.base import ConnectorError, InboundRejected, InboundRequest, Outbound
from connectors.wechat_oa import WeChatOAConnector
from models import (ConsoleEvent, CustomerOptOut, FollowerBinding, InboundReceipt, Message,
                    OutboxState)
from tests import factories as f
from tests.connectors import proofs
from tests.connectors.conftest import expectations, load_fixture
from tests.connectors.wechat_crypto import AES_KEY, TOKEN, plain_query, safe_callback, sha1_sign

APPID = "wx5c3a8f9e1d2b4a6c"
ORIGINAL_ID = "gh_3f5a1c9e2b7d"
SETTINGS = {"appid": APPID, "secret": "app-secret", "token": TOKEN, "encoding_aes_key": AES_KEY,
            "original_id": ORIGINAL_ID, "timeout": "0.3"}


def connector(base_url: str = "http://127.0.0.1:9", **extra) -> WeChatOAConnector:
    conn = WeChatOAConnector("main", {**SETTINGS, "base_url": base_url, **extra})
    conn.use_counters(MemoryCounters())  # as the app hands every connector its counters
    return conn


def plain_connector(**extra) -> WeChatOAConnector:
    """An account in plaintext mode: no EncodingAESKey configured."""
    return connector(encoding_aes_key="", **extra)


def request_for(xml: str, mode: str, **kw) -> InboundRequest:
    if mode == "plain":
        return InboundRequest("POST", plain_query(**kw), {}, xml.encode())
    query, body = safe_callback(xml, APPID, **kw)
    if mode == "compatible":  # the plaintext fields travel beside the ciphertext
        body = xml.replace("</xml>", body.decode()[len("<xml>"):]).encode()
    return InboundRequest("POST", query, {}, body)


def parse(conn, req):
    conn.verify_inbound(req)
    return conn.parse_inbound(req)


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
@pytest.mark.parametrize("name", sorted(expectations("wechat_oa")))
def test_recorded_callbacks_parse_in_every_mode(name, mode):
    conn = plain_connector() if mode == "plain" else connector()
    [event] = parse(conn, request_for(load_fixture(f"wechat_oa/{name}"), mode))
    for key, want in expectations("wechat_oa")[name].items():
        assert getattr(event, key) == want, key


def test_two_events_in_one_second_keep_apart_and_a_retry_collides():
    scan_a = load_fixture("wechat_oa/scan.xml")
    scan_b = scan_a.replace("clerk-002", "clerk-003")  # same sender, same CreateTime
    conn = plain_connector()
    first, other = request_for(scan_a, "plain", nonce="na"), request_for(scan_b, "plain", nonce="nb")
    [a], [b], [a_again] = (parse(conn, req) for req in (first, other, first))
    assert a.external_id != b.external_id
    assert a.external_id == a_again.external_id


def test_url_verification_echoes_only_a_signed_fresh_challenge():
    conn = connector()
    query = {**plain_query(), "echostr": "8213457"}
    assert conn.handshake(InboundRequest("GET", query, {}, b"")) == "8213457"
    with pytest.raises(InboundRejected):
        conn.handshake(InboundRequest("GET", {**query, "signature": "0" * 40}, {}, b""))
    assert conn.handshake(InboundRequest("GET", {}, {}, b"")) is None


TEXT = load_fixture("wechat_oa/text.xml")
XXE = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       '<xml><ToUserName>gh_3f5a1c9e2b7d</ToUserName><FromUserName>o1</FromUserName>'
       '<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&x;</Content><MsgId>1</MsgId></xml>')
BAD_INPUT = {
    "bad signature": lambda: InboundRequest("POST", {**plain_query(), "signature": "f" * 40}, {}, TEXT.encode()),
    "stale timestamp": lambda: request_for(TEXT, "plain", timestamp=int(time.time()) - 301),
    "future timestamp": lambda: request_for(TEXT, "safe", timestamp=int(time.time()) + 400),
    "missing timestamp": lambda: InboundRequest("POST", {"signature": "x", "nonce": "n"}, {}, TEXT.encode()),
    "bad msg_signature": lambda: InboundRequest("POST", {**request_for(TEXT, "safe").args, "msg_signature": "0" * 40},
                                                {}, request_for(TEXT, "safe").body),
    "wrong appid inside": lambda: InboundRequest("POST", *_other_appid()),
    "malformed XML": lambda: request_for("<xml><MsgType>text</MsgType>", "plain"),
    "XXE": lambda: request_for(XXE, "plain"),
    "not xml root": lambda: request_for("<root><a>1</a></root>", "plain"),
    "no MsgId": lambda: request_for(TEXT.replace("<MsgId>24512345678901234</MsgId>", ""), "plain"),
    "other account": lambda: request_for(TEXT.replace(ORIGINAL_ID, "gh_someone_else"), "plain"),
    "garbage ciphertext": lambda: _garbage(),
}


def _other_appid():
    query, body = safe_callback(TEXT, "wx0000000000000000")
    return query, {}, body


def _garbage():
    ts, nonce, enc = str(int(time.time())), "n", "bm90IGFlcw=="
    query = {"timestamp": ts, "nonce": nonce, "signature": sha1_sign(TOKEN, ts, nonce), "encrypt_type": "aes",
             "msg_signature": sha1_sign(TOKEN, ts, nonce, enc)}
    return InboundRequest("POST", query, {}, f"<xml><Encrypt>{enc}</Encrypt></xml>".encode())


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_callbacks_are_rejected_with_a_4xx(case):
    req = BAD_INPUT[case]()
    conn = connector() if req.args.get("encrypt_type") == "aes" else plain_connector()
    with pytest.raises(InboundRejected) as err:
        parse(conn, req)
    assert 400 <= err.value.status < 500
    assert "only encrypted" not in err.value.reason  # refused for its own fault, not the account's mode


@pytest.mark.parametrize("case,xml", [
    ("unknown type", lambda: TEXT.replace("[text]", "[hologram]")),
    ("unknown event", lambda: load_fixture("wechat_oa/click.xml").replace("CLICK", "TELEPORT")),
])
def test_unknown_types_and_events_are_answered_and_kept_as_ignored(case, xml):
    """WeChat retries anything but its expected answer and then tells the customer the account
    can't serve: a push we don't know is accepted as ``ignored`` with its type, never a 4xx."""
    events = parse(plain_connector(), request_for(xml(), "plain"))
    assert [e.kind for e in events] == ["ignored"]
    assert events[0].type == "hologram" if case == "unknown type" else events[0].payload == {"event": "teleport"}


def test_safe_only_account_refuses_plain_callbacks():
    with pytest.raises(InboundRejected):
        parse(plain_connector(mode="safe"), request_for(TEXT, "plain"))


def test_an_account_with_an_aes_key_refuses_plaintext_callbacks():
    conn = connector()  # an EncodingAESKey, and no mode set
    with pytest.raises(InboundRejected) as err:
        parse(conn, request_for(TEXT, "plain"))
    assert err.value.status == 403
    [event] = parse(conn, request_for(TEXT, "safe"))
    assert event.external_id == "msg:24512345678901234"


# A plaintext body is not signed: what an attacker would send under a query string from a log.
FORGED = TEXT.replace("24512345678901234", "24512345678909999").replace("还有货吗", "能退款吗")


def test_a_signed_query_replayed_with_another_body_is_refused():
    conn = plain_connector()
    original = request_for(TEXT, "plain", nonce="logged")
    parse(conn, original)
    with pytest.raises(InboundRejected) as err:
        parse(conn, InboundRequest("POST", original.args, {}, FORGED.encode()))
    assert err.value.status == 403 and "replay" in err.value.reason
    [again] = parse(conn, original)  # WeChat retrying the very same request still gets through
    assert again.external_id == "msg:24512345678901234"


def test_a_connector_without_counters_cannot_accept_callbacks():
    conn = WeChatOAConnector("main", {**SETTINGS, "encoding_aes_key": ""})
    with pytest.raises(ConnectorError):
        parse(conn, request_for(TEXT, "plain"))


def test_processes_refuse_a_replay_together_through_redis(redis_url):
    import uuid

    from app.counters import RedisCounters

    shared = RedisCounters(redis_url, prefix=f"test:replay:{uuid.uuid4().hex}:")
    first, second = plain_connector(), plain_connector()
    first.use_counters(shared)
    second.use_counters(shared)
    original = request_for(TEXT, "plain", nonce="logged")
    parse(first, original)
    with pytest.raises(InboundRejected):
        parse(second, InboundRequest("POST", original.args, {}, FORGED.encode()))
    [again] = parse(second, original)
    assert again.external_id == "msg:24512345678901234"


# sending -----------------------------------------------------------------------------------
def outbound(key="msg:1", inbound_minutes_ago=5, sent=0, purpose="service", **extra):
    import datetime as dt

    from models import utcnow
    last = utcnow() - dt.timedelta(minutes=inbound_minutes_ago) if inbound_minutes_ago is not None else None
    return Outbound(key, "oUser1", "text", "您好，到货了", purpose=purpose,
                    extra={"sent_since_inbound": sent, **extra}, last_inbound_at=last)


def test_inside_the_window_a_customer_service_message_goes_out_with_one_token(wechat):
    conn = connector(wechat.url)
    conn.send(outbound("k1"))
    conn.send(outbound("k2"))
    assert [d["path"] for d in wechat.delivered] == ["/cgi-bin/message/custom/send"] * 2
    assert wechat.delivered[0]["text"] == {"content": "您好，到货了"}
    assert wechat.token_fetches == 1


def test_outside_the_window_a_template_message_is_used(wechat):
    result = connector(wechat.url, template_id="TPL-1").send(outbound(inbound_minutes_ago=49 * 60))
    [sent] = wechat.delivered
    assert sent["path"] == "/cgi-bin/message/template/send" and sent["template_id"] == "TPL-1"
    assert result.provider_message_id


@pytest.mark.parametrize("kw", [{"inbound_minutes_ago": 49 * 60}, {"inbound_minutes_ago": None}, {"sent": 5}])
def test_without_a_template_a_closed_window_or_used_quota_asks_for_fallback(wechat, kw):
    with pytest.raises(ConnectorError) as err:
        connector(wechat.url).send(outbound(**kw))
    assert err.value.fallback and not wechat.delivered


def test_an_expired_token_is_refreshed_once_and_the_send_retried_once(wechat):
    conn = connector(wechat.url)
    conn.send(outbound("k1"))
    wechat.expire_tokens()
    conn.send(outbound("k2"))
    assert len(wechat.delivered) == 2 and wechat.token_fetches == 2


def test_a_token_error_that_persists_is_not_retried_forever(wechat):
    conn = connector(wechat.url)
    wechat.fail("errcode:40001", times=5, path="/cgi-bin/message/custom/send")
    with pytest.raises(ConnectorError) as err:
        conn.send(outbound())
    assert err.value.code == 40001 and err.value.retryable
    assert len([r for r in wechat.requests if r[1] == "/cgi-bin/message/custom/send"]) == 2
    assert wechat.token_fetches == 2


@pytest.mark.parametrize("failure, expect", [
    ("errcode:45015", {"fallback": True, "retryable": False}),
    ("errcode:45047", {"fallback": True, "retryable": False}),
    ("errcode:45009", {"retryable": True, "fallback": False}),
    ("errcode:-1", {"retryable": True, "maybe_sent": False}),
    ("errcode:40003", {"retryable": False, "fallback": False}),
    ("status:502", {"retryable": True, "maybe_sent": False}),
    ("status:500", {"retryable": True, "maybe_sent": True}),
    ("hang", {"retryable": True, "maybe_sent": True}),
    ("drop", {"retryable": True, "maybe_sent": True}),
    ("down", {"retryable": True}),
])
def test_vendor_failures_become_typed_errors(wechat, failure, expect):
    conn = connector(wechat.url)
    conn.tokens.get()  # the failure hits the send, not the token fetch
    wechat.fail(failure)
    with pytest.raises(ConnectorError) as err:
        conn.send(outbound())
    for key, want in expect.items():
        assert getattr(err.value, key) == want, key
    if failure == "errcode:45009":
        assert err.value.retry_after and err.value.retry_after >= 60


def test_a_hung_token_endpoint_times_out_instead_of_hanging(wechat):
    wechat.fail("hang")
    started = time.monotonic()
    with pytest.raises(ConnectorError) as err:
        connector(wechat.url).send(outbound())
    assert err.value.retryable and time.monotonic() - started < HANG_LIMIT


HANG_LIMIT = 0.75


def test_processes_share_one_token_through_redis(wechat, redis_url):
    from redis import Redis

    redis = Redis.from_url(redis_url)
    redis.delete(f"daogou:wechat:oa:{APPID}_access_token")
    first, second = connector(wechat.url), connector(wechat.url)
    first.use_shared_state(redis)
    second.use_shared_state(redis)
    first.send(outbound("k1"))
    second.send(outbound("k2"))
    assert wechat.token_fetches == 1


# through the app ------------------------------------------------------------------------------
@pytest.fixture
def oa(app, db, add_channel, wechat):
    add_channel("wechat-oa", "main", **SETTINGS, base_url=wechat.url, template_id="")
    with db.transaction() as s:
        clerk = f.staff(s, store=f.store(s), external_id="clerk-001")
        c = f.customer(s)
        f.follow(s, c, clerk, channel="wechat-oa")
        f.identity(s, c, "wechat-oa", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", account="main")
    return clerk.id


def post(client, req: InboundRequest):
    return client.post("/channels/wechat-oa/main", query_string=req.args, data=req.body,
                       content_type="text/xml")


def test_retries_of_one_message_are_stored_once_and_pushed_once(client, db, oa):
    first = request_for(TEXT, "safe", nonce="r1")
    retries = [first, request_for(TEXT, "safe", nonce="r2"), request_for(TEXT, "compatible", nonce="r3"), first]
    for req in retries:  # WeChat retries, with a new nonce or the very same request
        resp = post(client, req)
        assert resp.status_code == 200 and resp.get_data(as_text=True) == "success"
    with db.Session() as s:
        [msg] = s.scalars(select(Message)).all()
        assert msg.body == "你好，上次买的面霜还有货吗？" and msg.external_id == "msg:24512345678901234"
        events = s.scalars(select(ConsoleEvent).where(ConsoleEvent.name == "message.created")).all()
        assert [e.room for e in events] == [f"clerk:{oa}"]


def test_subscribe_by_clerk_code_binds_and_unsubscribe_opts_out(client, db, oa):
    assert post(client, request_for(load_fixture("wechat_oa/subscribe_qrscene.xml"), "safe")).status_code == 200
    with db.Session() as s:
        binding = s.scalars(select(FollowerBinding).join(FollowerBinding.customer)
                            .where(FollowerBinding.channel == "wechat-oa")
                            .order_by(FollowerBinding.id.desc())).first()
        assert binding.clerk_id == oa and binding.is_owner and binding.ended_at is None
    unsub = request_for(load_fixture("wechat_oa/unsubscribe.xml"), "safe", nonce="u1")
    for _ in range(2):  # WeChat retrying the very same request
        assert post(client, unsub).status_code == 200
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(CustomerOptOut)) == 1
        ended = s.scalar(select(FollowerBinding).where(FollowerBinding.end_reason == "unsubscribed"))
        assert ended is not None and not ended.is_owner


def test_plaintext_and_replayed_callbacks_over_http_are_refused_and_store_nothing(app, client, db, oa,
                                                                                   add_channel, wechat):
    from app.channels.accounts import registry
    from app.counters import counters

    assert post(client, request_for(TEXT, "plain")).status_code == 403  # "main" has an AES key
    add_channel("wechat-oa", "plain", **{**SETTINGS, "encoding_aes_key": ""}, base_url=wechat.url)
    assert registry(app).connector("wechat-oa", "plain").counters is counters(app)
    original = request_for(TEXT, "plain", nonce="logged")
    at = "/channels/wechat-oa/plain"
    assert client.post(at, query_string=original.args, data=original.body, content_type="text/xml").status_code == 200
    forged = client.post(at, query_string=original.args, data=FORGED.encode(), content_type="text/xml")
    assert forged.status_code == 403
    with db.Session() as s:
        assert s.scalars(select(InboundReceipt.external_id)).all() == ["msg:24512345678901234"]


def test_url_verification_over_http(client, oa):
    resp = client.get("/channels/wechat-oa/main", query_string={**plain_query(), "echostr": "abc123"})
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "abc123"


def test_bad_callbacks_over_http_are_4xx_and_store_nothing(client, db, oa):
    for case, build in BAD_INPUT.items():
        resp = post(client, build())
        assert 400 <= resp.status_code < 500, case
    big = request_for(TEXT.replace("还有货吗", "好" * 300_000), "plain")
    assert post(client, big).status_code == 413
    assert client.post("/channels/wechat-oa/nope", data=TEXT).status_code == 404
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 0
        assert s.scalar(select(func.count()).select_from(InboundReceipt)) == 0


def test_an_outage_then_recovery_delivers_every_queued_message_once(app, db, clock, add_channel, wechat):
    add_channel("wechat-oa", "main", **SETTINGS, base_url=wechat.url)
    proofs.outage_then_recovery(app, db, clock, lambda: wechat.fail("status:503", 50), n=6,
                                channel="wechat-oa", account="main", inbound_first=True)
    wechat.failures.clear()
    proofs.drain(app, clock)
    assert proofs.states(db) == {"sent": 6}
    assert sorted(d["touser"] for d in wechat.delivered) == [f"user-{i}" for i in range(6)]


def test_a_killed_dispatcher_loses_nothing_and_never_resends_the_message_in_flight(app, db, clock, add_channel,
                                                                                   wechat):
    add_channel("wechat-oa", "main", **SETTINGS, base_url=wechat.url)
    proofs.kill_mid_batch(app, db, clock, survive=2, n=5, channel="wechat-oa", account="main",
                          inbound_first=True)
    # 2 settled before the kill, 1 in flight (reached WeChat), 2 never tried and sent after.
    assert proofs.states(db) == {"sent": 4, "unknown": 1}
    touser = [d["touser"] for d in wechat.delivered]
    assert sorted(touser) == [f"user-{i}" for i in range(5)]  # each exactly once
    [unknown] = proofs.rows_by_state(db, OutboxState.unknown)
    with app.app_context():
        from app.channels import dispatch
        clock.advance(3600)
        dispatch.sweep_outbox()  # still never re-sent by itself
        assert len(wechat.delivered) == 5
        assert dispatch.resolve(unknown.id, "sent") == "sent"
    assert proofs.states(db) == {"sent": 5}


def test_a_closed_window_falls_back_to_sms(app, db, clock, add_channel, wechat, aliyun):
    add_channel("wechat-oa", "main", **SETTINGS, base_url=wechat.url, fallback_channel="sms")
    add_channel("sms", "aliyun", access_key_id="AK", access_key_secret=aliyun.SECRET, sign_name="导购",
                template_code="SMS_1", base_url=aliyun.url)
    ids = proofs.queue_messages(app, db, "wechat-oa", 1, account="main", customer_kw={"phone": "13800138000"})
    with app.app_context():
        from app.channels import dispatch
        clock.advance(1)
        dispatch.sweep_outbox()
    assert not wechat.delivered
    assert [m["PhoneNumbers"] for m in aliyun.sent] == ["13800138000"]
    with db.Session() as s:
        assert s.get(Message, ids[0]).status.value == "sent"


def test_requests_never_leak_raw_exceptions(wechat):
    conn = connector("http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(ConnectorError) as err:
        conn.send(outbound())
    assert err.value.retryable and not err.value.maybe_sent
    assert not isinstance(err.value, requests.RequestException)
