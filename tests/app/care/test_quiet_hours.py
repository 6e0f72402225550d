"""Quiet hours defer, never drop — told as head office, the clerk and the customer live it.

A campaign sent at 22:00, a task whose deadline falls at 23:59 and a clerk's first message at 22:30
all wait for 09:00 (Shanghai), show as deferred, and at 09:00 go through the outbox under the
contact policy of that moment: whoever opted out overnight is not messaged, and the report says so.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.care import actions, deadlines
from app.messaging import deferred
from app.messaging.actions import receive_message
from models import (CampaignTarget, CareTask, CareTaskTarget, Conversation, CustomerOptOut, Message,
                    MessageStatus, OutboxEntry, OutboxState, Role, Segment, Staff)
from tests import factories as f

EVERYONE = {"field": "paid_orders", "op": ">=", "value": 0}


@pytest.fixture
def brand(db):
    """One store, head office, two clerks and twelve loopback customers (six each)."""
    with db.transaction() as s:
        store = f.store(s)
        hq = f.staff(s, username="hq", role=Role.hq)
        clerks = [f.staff(s, username=f"clerk{i}", store=store, display_name=f"小{i}") for i in (1, 2)]
        ids = []
        for i in range(12):
            c = f.customer(s, name=f"顾客{i}", phone=f"1390000{i:04d}")
            f.follow(s, c, clerks[i % 2], channel="loopback")
            f.identity(s, c, "loopback", f"lb-{c.id}")
            ids.append(c.id)
        seg = Segment(name="全部", filter=EVERYONE)
        s.add(seg)
        s.flush()
    return {"hq": hq.id, "clerks": [c.id for c in clerks], "customers": ids, "segment": seg.id}


def _delivered(db, customer_ids):
    with db.Session() as s:
        return s.scalar(select(func.count()).select_from(OutboxEntry).where(
            OutboxEntry.customer_id.in_(customer_ids), OutboxEntry.state == OutboxState.sent))


def test_a_campaign_sent_at_22_waits_for_nine_and_then_goes_under_the_policy_of_that_moment(
        app, client, auth, db, brand, clock):
    clock.travel_to("2026-11-18 22:00")
    auth.login("hq")
    created = client.post("/api/v1/campaigns", json={
        "name": "双12 会员日", "segment_id": brand["segment"], "channel": "loopback", "holdout_pct": 20,
        "content": {"text": "{{ customer_name }}，双12 会员日全场9折"}})
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    assert client.post(f"/api/v1/campaigns/{cid}/send").status_code == 202

    report = client.get(f"/api/v1/campaigns/{cid}/report").get_json()
    treatment = report["treatment"]
    assert treatment > 0 and report["deferred"] == treatment
    assert report["sent"] == 0 and report["skipped"] == 0
    assert report["deferred_until"].startswith("2026-11-19T01:00:00")  # 09:00 in Shanghai
    assert report["status"] == "deferred"  # waiting for 09:00, not "sent"
    with db.Session() as s:
        treated = list(s.scalars(select(CampaignTarget.customer_id).where(
            CampaignTarget.campaign_id == cid, CampaignTarget.group == "treatment")))
        reasons = set(s.scalars(select(CampaignTarget.skip_reason).where(CampaignTarget.campaign_id == cid,
                                                                         CampaignTarget.status == "deferred")))
    assert reasons == {"免打扰时段，已顺延至 明天 09:00"}
    assert _delivered(db, treated) == 0

    # The clerk sees the waiting message in the chat, marked as such; nothing was marked as contact.
    auth.logout()
    auth.login("clerk1")
    with db.Session() as s:
        conv = s.scalar(select(Conversation).where(Conversation.customer_id.in_(treated),
                                                   Conversation.clerk_id == brand["clerks"][0]))
    messages = client.get(f"/api/v1/conversations/{conv.id}/messages").get_json()["messages"]
    assert [m["status"] for m in messages] == ["scheduled"]
    assert messages[0]["payload"]["deferred_until"].startswith("2026-11-19T01:00:00")

    # Overnight one customer opts out; at 08:59 nothing moves, at 09:00 the rest go once.
    gone = treated[0]
    with db.transaction() as s:
        s.add(CustomerOptOut(customer_id=gone, channel="loopback"))
    clock.travel_to("2026-11-19 08:59")
    with app.app_context():
        assert deferred.release_due() == {"released": 0, "cancelled": 0, "deferred": 0}
    clock.travel_to("2026-11-19 09:00")
    with app.app_context():
        assert deferred.release_due() == {"released": treatment - 1, "cancelled": 1, "deferred": 0}
        assert deferred.release_due() == {"released": 0, "cancelled": 0, "deferred": 0}
    assert _delivered(db, treated) == treatment - 1

    auth.logout()
    auth.login("hq")
    report = client.get(f"/api/v1/campaigns/{cid}/report").get_json()
    assert report["deferred"] == 0 and report["sent"] == treatment - 1 and report["status"] == "sent"
    assert report["skipped_by_reason"] == [{"code": "deferred_refused", "count": 1,
                                            "reason": "顺延后未发送：客户已退订该渠道"}]
    with db.Session() as s:
        refused = s.scalar(select(Message).join(CampaignTarget, CampaignTarget.message_id == Message.id)
                           .where(CampaignTarget.customer_id == gone, CampaignTarget.campaign_id == cid))
        assert refused.status == MessageStatus.cancelled


def test_a_task_deadline_at_2359_falls_back_at_nine_not_never(app, db, brand, clock):
    clock.travel_to("2026-11-18 15:00")
    with app.app_context(), db.transaction() as s:
        task, _ = actions.create_care_task(s, s.get(Staff, brand["hq"]), {
            "title": "双12 老客关怀", "segment_id": brand["segment"], "scenario": "节日",
            "template": "{{ customer_name }}您好，双12 老客礼已为您留好", "fallback": "mass_send",
            "deadline": clock.local("2026-11-18 23:59")})
        task_id = task.id
    clock.travel_to("2026-11-18 23:59:30")
    with app.app_context():
        assert deadlines.close_due_tasks() == [task_id]
        with db.Session() as s:
            progress = actions.progress(s, task_id)
    assert progress["total"]["deferred"] == 12 and progress["total"]["reached"] == 0
    with db.Session() as s:
        assert s.get(CareTask, task_id).status == "closed"
        assert set(s.scalars(select(CareTaskTarget.status))) == {"deferred"}
        assert set(s.scalars(select(CareTaskTarget.skip_reason))) == {"免打扰时段，已顺延至 明天 09:00"}

    clock.travel_to("2026-11-19 09:00:05")
    with app.app_context():
        assert deferred.release_due()["released"] == 12
        with db.Session() as s:
            progress = actions.progress(s, task_id)
    assert progress["total"]["deferred"] == 0 and progress["total"]["reached"] == 12
    assert _delivered(db, brand["customers"]) == 12


def test_a_clerk_is_told_before_a_2230_first_message_that_it_goes_at_nine_and_can_cancel_it(
        client, auth, db, brand, clock, app):
    quiet_customer, writer = brand["customers"][0], brand["customers"][2]
    clock.travel_to("2026-11-18 22:10")
    with app.app_context(), db.transaction() as s:
        receive_message(s, channel="loopback", external_id="in-1", customer_id=writer, body="这款还有货吗")
    clock.travel_to("2026-11-18 22:30")
    auth.login("clerk1")
    conv = client.post("/api/v1/conversations", json={"customer_id": quiet_customer}).get_json()["conversation"]
    shown = client.get(f"/api/v1/conversations/{conv['id']}").get_json()["conversation"]
    assert shown["send_hold"]["label"] == "明天 09:00"
    assert shown["send_hold"]["notice"] == "现在是免打扰时段：消息会在 明天 09:00 发出，发出前可以取消"

    sent = client.post(f"/api/v1/conversations/{conv['id']}/messages",
                       json={"body": "王女士晚上好，新品到了", "client_id": "night-0001"})
    assert sent.status_code == 201
    message = sent.get_json()["message"]
    assert message["status"] == "scheduled"
    assert _delivered(db, [quiet_customer]) == 0

    cancelled = client.post(f"/api/v1/messages/{message['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["message"]["status"] == "cancelled"
    assert client.post(f"/api/v1/messages/{message['id']}/cancel").status_code == 200  # idempotent
    clock.travel_to("2026-11-19 09:30")
    with app.app_context():
        assert deferred.release_due() == {"released": 0, "cancelled": 0, "deferred": 0}
    assert _delivered(db, [quiet_customer]) == 0

    # A reply to the customer who wrote in at 22:10 is service: it goes at once, no notice.
    clock.travel_to("2026-11-18 22:40")
    reply_conv = client.post("/api/v1/conversations", json={"customer_id": writer}).get_json()["conversation"]
    assert client.get(f"/api/v1/conversations/{reply_conv['id']}").get_json()["conversation"]["send_hold"] is None
    reply = client.post(f"/api/v1/conversations/{reply_conv['id']}/messages",
                        json={"body": "有货的，给您留一瓶", "client_id": "night-0002"}).get_json()["message"]
    assert reply["status"] in ("queued", "sent", "delivered")
    assert _delivered(db, [writer]) == 1

    # Another clerk cannot cancel someone else's message, nor learn that it exists.
    auth.logout()
    auth.login("clerk2")
    assert client.post(f"/api/v1/messages/{message['id']}/cancel").status_code == 404
