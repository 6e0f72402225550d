"""The signed webhook bridge: HMAC over timestamp + body, the replay window, de-duplication by
event id, signed deliveries with retries, and its place in the OpenAPI document."""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from sqlalchemy import func, select

from connectors.base import ConnectorError, InboundRejected, InboundRequest, Outbound
from connectors.bridge import BridgeConnector
from models import CustomerOptOut, FollowerBinding, InboundReceipt, Message
from tests import factories as f
from tests.connectors import proofs
from tests.connectors.conftest import expectations, load_fixture
from tests.connectors.fakes import FakeBridge

SECRET = FakeBridge.SECRET


def signed(body: bytes, secret: str = SECRET, ts: int | None = None) -> dict[str, str]:
    """Signature written from the documented format, not with our connector's helper."""
    stamp = str(int(time.time()) if ts is None else ts)
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"x-daogou-timestamp": stamp, "x-daogou-signature": f"sha256={mac}"}


def connector(url: str = "http://127.0.0.1:9/deliver") -> BridgeConnector:
    return BridgeConnector("wa", {"secret": SECRET, "url": url, "timeout": "0.3"})


@pytest.mark.parametrize("name", sorted(expectations("bridge")))
def test_recorded_bridge_events_parse(name):
    body = load_fixture(f"bridge/{name}").encode()
    req = InboundRequest("POST", {}, signed(body), body)
    conn = connector()
    conn.verify_inbound(req)
    events = conn.parse_inbound(req)
    want = expectations("bridge")[name]
    assert len(events) == len(want)
    for event, fields in zip(events, want):
        for key, value in fields.items():
            assert getattr(event, key) == value, key


MESSAGE = load_fixture("bridge/message.json").encode()
BAD = {
    "bad signature": lambda: InboundRequest("POST", {}, signed(MESSAGE, secret="other"), MESSAGE),
    "body changed after signing": lambda: InboundRequest("POST", {}, signed(MESSAGE), MESSAGE.replace(b"serum", b"cream")),
    "stale": lambda: InboundRequest("POST", {}, signed(MESSAGE, ts=int(time.time()) - 301), MESSAGE),
    "no timestamp": lambda: InboundRequest("POST", {}, {"x-daogou-signature": "sha256=00"}, MESSAGE),
    "not json": lambda: _signed(b"<xml/>"),
    "no events": lambda: _signed(b'{"events": []}'),
    "unknown type": lambda: _signed(b'{"events": [{"id": "1", "type": "poke", "sender": "u"}]}'),
    "missing sender": lambda: _signed(b'{"events": [{"id": "1", "type": "message", "text": "hi"}]}'),
    "empty text": lambda: _signed(b'{"events": [{"id": "1", "type": "message", "sender": "u", "text": " "}]}'),
    "naive time": lambda: _signed(b'{"events": [{"id": "1", "type": "message", "sender": "u", "text": "x", "at": "2026-01-01T00:00:00"}]}'),
    "bad status": lambda: _signed(b'{"events": [{"id": "1", "type": "status", "message_id": "m", "status": "lost"}]}'),
}


def _signed(body: bytes) -> InboundRequest:
    return InboundRequest("POST", {}, signed(body), body)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_bridge_calls_are_rejected(case):
    conn = connector()
    with pytest.raises(InboundRejected) as err:
        req = BAD[case]()
        conn.verify_inbound(req)
        conn.parse_inbound(req)
    assert 400 <= err.value.status < 500


def test_deliveries_are_signed_and_carry_the_idempotency_key(bridge_receiver):
    result = connector(bridge_receiver.url + "/deliver").send(Outbound("msg:7", "u-1", "text", "您好"))
    assert result.provider_message_id == "br-msg:7"
    assert bridge_receiver.delivered["msg:7"]["text"] == "您好" and bridge_receiver.bad_signatures == 0


@pytest.mark.parametrize("failure, retryable", [("status:503", True), ("status:500", True), ("status:429", True),
                                                ("status:400", False), ("hang", True), ("drop", True)])
def test_bridge_failures_are_typed(bridge_receiver, failure, retryable):
    bridge_receiver.fail(failure)
    with pytest.raises(ConnectorError) as err:
        connector(bridge_receiver.url + "/deliver").send(Outbound("msg:8", "u-1", "text", "x"))
    assert err.value.retryable is retryable


# through the app ------------------------------------------------------------------------------
@pytest.fixture
def bridge(app, db, add_channel, bridge_receiver):
    add_channel("bridge", "wa", secret=SECRET, url=bridge_receiver.url + "/deliver", timeout="0.3")
    with db.transaction() as s:
        clerk = f.staff(s, store=f.store(s), external_id="clerk-001")
    return clerk.id


def post(client, body: bytes, headers=None):
    return client.post("/channels/bridge/wa", data=body, headers=headers or signed(body),
                       content_type="application/json")


def test_bridge_retries_are_stored_once_and_events_apply(client, db, bridge):
    body = load_fixture("bridge/batch.json").encode()
    for _ in range(3):
        resp = post(client, body)
        assert resp.status_code == 200 and resp.get_json() == {"accepted": 3}
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 2  # the message and the "stop"
        assert s.scalar(select(func.count()).select_from(InboundReceipt)) == 3
        binding = s.scalars(select(FollowerBinding)).one()
        assert binding.clerk_id == bridge and binding.channel == "bridge"
        assert s.scalar(select(CustomerOptOut.channel)) == "bridge"


def test_bad_bridge_calls_over_http_store_nothing(client, db, bridge):
    for case, build in BAD.items():
        req = build()
        assert 400 <= post(client, req.body, req.headers).status_code < 500, case
    huge = json.dumps({"events": [{"id": "x", "type": "message", "sender": "u", "text": "a" * 300_000}]}).encode()
    assert post(client, huge).status_code == 413
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(InboundReceipt)) == 0


def test_bridge_outage_then_recovery_delivers_each_once(app, db, clock, add_channel, bridge_receiver):
    add_channel("bridge", "wa", secret=SECRET, url=bridge_receiver.url + "/deliver", timeout="0.3")
    proofs.outage_then_recovery(app, db, clock, lambda: bridge_receiver.fail("status:503", 50), n=5,
                                channel="bridge", account="wa")
    bridge_receiver.failures.clear()
    proofs.drain(app, clock)
    assert proofs.states(db) == {"sent": 5}
    assert sorted(d["recipient"] for d in bridge_receiver.delivered.values()) == [f"user-{i}" for i in range(5)]


def test_bridge_killed_dispatcher_retries_the_in_flight_delivery_safely(app, db, clock, add_channel,
                                                                        bridge_receiver):
    add_channel("bridge", "wa", secret=SECRET, url=bridge_receiver.url + "/deliver", timeout="0.3")
    proofs.kill_mid_batch(app, db, clock, survive=1, n=4, unsettled=4, channel="bridge", account="wa")
    # The bridge honours Idempotency-Key: successes are recorded in groups and, after a crash,
    # everything unrecorded is offered again and recognised by the bridge.
    assert proofs.states(db) == {"sent": 4}
    assert len(bridge_receiver.delivered) == 4
    posts = [r for r in bridge_receiver.requests if r[1] == "/deliver"]
    assert len(posts) == 6  # two reached the bridge before the kill and were offered again


def test_the_bridge_format_is_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    post_op = doc["paths"]["/channels/bridge/{account}"]["post"]
    names = {p["name"] for p in post_op["parameters"]}
    assert {"X-Daogou-Timestamp", "X-Daogou-Signature"} <= names
    assert "BridgeEvent" in doc["components"]["schemas"] and "BridgeDelivery" in doc["components"]["schemas"]


def test_a_callback_not_stored_in_time_is_answered_503_so_the_vendor_retries(client, db, bridge, monkeypatch):
    from concurrent.futures import TimeoutError as FutureTimeout

    from app.channels.inbox import Inbox

    def too_slow(self, connector, events):
        raise FutureTimeout()

    monkeypatch.setattr(Inbox, "submit", too_slow)
    body = load_fixture("bridge/message.json").encode()
    assert post(client, body).status_code == 503
