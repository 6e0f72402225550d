"""Every inbound message reaches a person: a customer no clerk owns lands in the pool of the
store they buy at (or head office's), a clerk of that store claims it (first claim wins), answers
on the channel it came from, and the first-response time shows in the service figures."""
from __future__ import annotations

import concurrent.futures as cf
import threading

import pytest
from sqlalchemy import func, select

from app.channels.inbound import accept_events
from app.reception.commands import pool_unrouted
from app.reception.escalation import escalate_due
from connectors.base import InboundEvent, InboundRequest
from models import clock
from models import (ConsoleEvent, Conversation, FollowerBinding, InboundReceipt, Message, OutboxEntry, Role,
                    ServiceWait)
from tests import factories as f
from tests.conftest import signed_in
from tests.connectors.wechat_crypto import TOKEN, plain_query

ORIGINAL_ID = "gh_3f5a1c9e2b7d"
OA = {"appid": "wx5c3a8f9e1d2b4a6c", "secret": "app-secret", "token": TOKEN, "original_id": ORIGINAL_ID,
      "timeout": "5", "template_id": ""}


def text_from(openid: str, body: str, msg_id: int) -> InboundRequest:
    created = int(clock.now().timestamp())  # WeChat's CreateTime: the business time it was sent
    xml = (f"<xml><ToUserName><![CDATA[{ORIGINAL_ID}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
           f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[{body}]]></Content><MsgId>{msg_id}</MsgId></xml>")
    return InboundRequest("POST", plain_query(nonce=f"n{msg_id}"), {}, xml.encode())


def post(client, req: InboundRequest, account: str = "main"):
    return client.post(f"/channels/wechat-oa/{account}", query_string=req.args, data=req.body, content_type="text/xml")


@pytest.fixture
def brand(app, db, add_channel, wechat):
    """Two stores; 王女士 bought at 静安店 but follows no clerk; the OA has no default clerk."""
    add_channel("wechat-oa", "main", **OA, base_url=wechat.url)
    with db.transaction() as s:
        jingan, xuhui = f.store(s, name="静安店"), f.store(s, name="徐汇店")
        a1 = f.staff(s, store=jingan, username="a1", display_name="小安")
        a2 = f.staff(s, store=jingan, username="a2", display_name="小静")
        manager = f.staff(s, role=Role.manager, store=jingan, username="mgr")
        x1 = f.staff(s, store=xuhui, username="x1")
        f.staff(s, role=Role.hq, username="hq1")
        wang = f.customer(s, name="王女士", home_store_id=None)
        f.order(s, wang, store_id=jingan.id)
        f.identity(s, wang, "wechat-oa", "o-wang", account="main")
    return {"jingan": jingan.id, "xuhui": xuhui.id, "a1": a1.id, "a2": a2.id, "mgr": manager.id, "x1": x1.id,
            "wang": wang.id}


def pool_of(client) -> list[dict]:
    return client.get("/api/v1/conversations?pool=1").get_json()["conversations"]


def test_an_unowned_customer_reaches_their_store_pool_is_claimed_once_and_answered(app, client, db, brand, wechat):
    assert post(client, text_from("o-wang", "这款还有货吗", 1)).status_code == 200
    with db.Session() as s:
        [receipt] = s.scalars(select(InboundReceipt)).all()
        conv = s.scalars(select(Conversation)).one()
        assert receipt.outcome == "pooled" and conv.clerk_id is None and conv.store_id == brand["jingan"]
        rooms = set(s.scalars(select(ConsoleEvent.room).where(ConsoleEvent.name == "message.created")))
        assert rooms == {f"pool:{brand['jingan']}", "hq"}
    a1, a2, x1 = signed_in(app, "a1"), signed_in(app, "a2"), signed_in(app, "x1")
    mgr, hq = signed_in(app, "mgr"), signed_in(app, "hq1")
    assert [c["customer"]["name"] for c in pool_of(a1)] == ["王女士"]
    assert pool_of(x1) == []  # another store's clerk does not see it
    assert len(pool_of(mgr)) == 1 and len(pool_of(hq)) == 1
    assert a1.get("/api/v1/conversations").get_json()["pool_waiting"] == 1
    conv_id = pool_of(a1)[0]["id"]
    assert a1.post(f"/api/v1/conversations/{conv_id}/messages", json={"body": "有的"}).status_code == 403

    won = a1.post(f"/api/v1/conversations/{conv_id}/claim")
    assert won.status_code == 200 and won.get_json()["conversation"]["clerk_id"] == brand["a1"]
    lost = a2.post(f"/api/v1/conversations/{conv_id}/claim")
    assert lost.status_code == 409 and "小安" in lost.get_json()["fields"]["conversation_id"]
    assert x1.post(f"/api/v1/conversations/{conv_id}/claim").status_code == 404
    assert pool_of(a1) == [] and a2.get(f"/api/v1/conversations/{conv_id}/messages").status_code == 404

    reply = a1.post(f"/api/v1/conversations/{conv_id}/messages", json={"body": "有的，给您留一瓶", "client_id": "reply-0001"})
    assert reply.status_code == 201 and reply.get_json()["message"]["channel"] == "wechat-oa"
    with db.Session() as s:
        owner = s.scalar(select(FollowerBinding.clerk_id).where(FollowerBinding.customer_id == brand["wang"],
                                                               FollowerBinding.is_owner.is_(True)))
        assert owner == brand["a1"]  # claiming made her a1's follower: her next message goes to a1
        [wait] = s.scalars(select(ServiceWait)).all()
        assert wait.answered_at is not None and wait.clerk_id == brand["a1"]
        assert s.scalar(select(OutboxEntry.recipient)) == "o-wang"
    figures = mgr.get("/api/v1/reception/figures").get_json()
    assert figures["total"]["answered"] == 1 and figures["total"]["reply_rate"] == 1.0
    assert figures["total"]["first_response_median_s"] is not None
    assert [c["clerk"] for c in figures["clerks"]] == ["小安"]
    assert post(client, text_from("o-wang", "好的谢谢", 2)).status_code == 200
    with db.Session() as s:
        assert s.scalar(select(Conversation.clerk_id).where(Conversation.id == conv_id)) == brand["a1"]
        assert s.scalar(select(func.count()).select_from(Conversation)) == 1


def test_concurrent_claims_have_exactly_one_winner(app, client, db, brand):
    assert post(client, text_from("o-wang", "在吗", 3)).status_code == 200
    with db.Session() as s:
        conv_id = s.scalar(select(Conversation.id))
    clients = [signed_in(app, name) for name in ("a1", "a2", "mgr")]
    with cf.ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda c: c.post(f"/api/v1/conversations/{conv_id}/claim"), clients))
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409], [r.get_json() for r in results]
    with db.Session() as s:
        assert s.scalar(select(Conversation.clerk_id).where(Conversation.id == conv_id)) is not None


def test_a_customer_nobody_knows_goes_to_head_office_pool(app, client, db, brand):
    assert post(client, text_from("o-stranger", "你们周末营业吗", 4)).status_code == 200
    with db.Session() as s:
        conv = s.scalars(select(Conversation).where(Conversation.customer_id != brand["wang"])).one()
        assert conv.clerk_id is None and conv.store_id is None
    assert pool_of(signed_in(app, "a1")) == []
    assert [c["last_message_preview"] for c in pool_of(signed_in(app, "hq1"))] == ["你们周末营业吗"]


def test_the_pool_can_hand_out_conversations_least_open_first_up_to_a_cap(app, client, db, brand, add_channel, wechat):
    add_channel("wechat-oa", "main", **OA, base_url=wechat.url, pool_assign="least_open", pool_cap="1")
    with db.transaction() as s:
        for i in range(3):
            c = f.customer(s, name=f"客人{i}", home_store_id=brand["jingan"])
            f.identity(s, c, "wechat-oa", f"o-{i}", account="main")
    for i in range(3):
        assert post(client, text_from(f"o-{i}", "在吗", 10 + i)).status_code == 200
    with db.Session() as s:
        holders = sorted((c.clerk_id or 0) for c in s.scalars(select(Conversation)))
    assert holders == sorted([0, brand["a1"], brand["a2"]])  # each clerk at their cap of 1; the third waits


def test_a_transfer_moves_the_thread_with_a_note(app, client, db, brand):
    post(client, text_from("o-wang", "这款还有货吗", 5))
    a1, mgr = signed_in(app, "a1"), signed_in(app, "mgr")
    conv_id = pool_of(a1)[0]["id"]
    a1.post(f"/api/v1/conversations/{conv_id}/claim")
    moved = a1.post(f"/api/v1/conversations/{conv_id}/transfer", json={"clerk_id": brand["a2"], "note": "她要的色号在小静那"})
    assert moved.status_code == 200 and moved.get_json()["conversation"]["clerk_id"] == brand["a2"]
    assert a1.post(f"/api/v1/conversations/{conv_id}/transfer", json={"clerk_id": brand["x1"]}).status_code == 404
    assert mgr.post(f"/api/v1/conversations/{conv_id}/transfer", json={"clerk_id": brand["x1"]}).status_code == 403
    bad = mgr.post(f"/api/v1/conversations/{conv_id}/transfer", json={"note": "x"})
    assert bad.status_code == 422 and "to" in bad.get_json()["fields"]
    messages = signed_in(app, "a2").get(f"/api/v1/conversations/{conv_id}/messages").get_json()["messages"]
    assert messages[-1]["type"] == "note" and "她要的色号在小静那" in messages[-1]["body"]
    with db.Session() as s:  # she went with the thread: 小静 owns her now, 小安 no longer
        owners = s.execute(select(FollowerBinding.clerk_id, FollowerBinding.is_owner, FollowerBinding.ended_at)
                           .where(FollowerBinding.customer_id == brand["wang"]).order_by(FollowerBinding.id)).all()
    assert [(c, o, e is None) for c, o, e in owners] == [(brand["a1"], False, False), (brand["a2"], True, True)]
    to_pool = mgr.post(f"/api/v1/conversations/{conv_id}/transfer", json={"store_id": brand["xuhui"]})
    assert to_pool.status_code == 200 and to_pool.get_json()["conversation"]["pooled"]
    assert [c["id"] for c in pool_of(signed_in(app, "x1"))] == [conv_id]
    assert post(client, text_from("o-wang", "还在吗", 7)).status_code == 200  # her next words join that thread
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Conversation)) == 1


def test_long_waits_go_to_the_manager_then_head_office(app, client, db, brand, clock):
    post(client, text_from("o-wang", "有人吗", 6))
    with app.app_context():
        assert escalate_due() == 0
        clock.travel(minutes=16)
        assert escalate_due() == 1
        clock.travel(minutes=60)
        assert escalate_due() == 1
        assert escalate_due() == 0
    with db.Session() as s:
        rooms = list(s.scalars(select(ConsoleEvent.room).where(ConsoleEvent.name == "conversation.escalated")
                               .order_by(ConsoleEvent.id)))
    assert rooms == [f"store:{brand['jingan']}", "hq"]


def test_unrouted_receipts_from_before_pools_become_pool_conversations_once(app, db, brand):
    with db.transaction() as s:
        for i, ext in enumerate(("msg:900", "msg:901")):
            s.add(InboundReceipt(channel="wechat-oa", account="main", external_id=ext, kind="message", outcome="unrouted",
                                 payload={"sender": "o-wang", "type": "text", "body": f"旧消息{i}", "payload": {},
                                          "at": "2026-11-10T02:00:00+00:00"}))
    with app.app_context():
        assert pool_unrouted() == {"pooled": 2}
        assert pool_unrouted() == {}
    with db.Session() as s:
        assert sorted(s.scalars(select(Message.body))) == ["旧消息0", "旧消息1"]
        assert s.scalar(select(func.count()).select_from(Conversation)) == 1
        assert set(s.scalars(select(InboundReceipt.outcome))) == {"pooled"}


EVENT_KINDS = ("message", "subscribe", "contact_added", "contact_edited", "opt_out")


def test_no_inbound_message_is_stored_without_a_conversation_on_any_channel(app, db, add_channel, wechat):
    """Every kind the connectors emit, on every channel kind, from a customer no clerk owns and no
    clerk named: a message (or a follow) always sits in a conversation someone can see."""
    from connectors.registry import channel_kinds

    for kind in channel_kinds():
        for i, event_kind in enumerate(EVENT_KINDS):
            event = InboundEvent(event_kind, f"{kind}-sender-{i}@x.cn" if kind == "email" else f"1380000{i:04d}",
                                 f"{kind}-{event_kind}", body="在吗", clerk_ref="nobody-we-know")
            with app.app_context(), db.transaction() as s:
                accept_events(s, _connector(kind), [event])
    with db.Session() as s:
        assert "unrouted" not in set(s.scalars(select(InboundReceipt.outcome)))
        orphans = s.scalar(select(func.count()).select_from(Message).outerjoin(
            Conversation, Conversation.id == Message.conversation_id).where(Conversation.id.is_(None)))
        assert orphans == 0
        assert s.scalar(select(func.count()).select_from(Message)) >= len(channel_kinds()) * 2


def _connector(kind: str):
    from connectors.base import connector_class

    return connector_class(kind)("test", {})


def test_the_vendor_hears_back_before_slow_work_after_the_commit(app_factory, db, brand):
    """Ack first: what runs after the commit on the writer thread (pushes to consoles; jobs, when
    they run in-line) never keeps the vendor waiting for its answer."""
    from app import db as app_db
    from app import hooks

    served = app_factory(JOBS_MODE="thread")
    release, started, finished = threading.Event(), threading.Event(), threading.Event()

    def slow_push(session, message_id, customer_id, **_kw):
        app_db.after_commit(session, lambda: (started.set(), release.wait(30), finished.set()))

    hooks.subscribe(served, hooks.MESSAGE_RECEIVED, slow_push)
    try:
        with cf.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(post, served.test_client(), text_from("o-wang", "在吗", 90))
            assert started.wait(10), "the work after the commit never ran"
            assert answer.result(timeout=5).status_code == 200  # answered while that work still runs
    finally:
        release.set()
    assert finished.wait(10)  # the writer thread is done with this callback before the test ends
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 1
