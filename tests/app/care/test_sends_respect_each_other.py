"""Features that must not step on each other: a head-office campaign is not a clerk's task work,
and a mass send never buries nor "reads" the question a customer is waiting to have answered."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.care import actions
from app.messaging.actions import receive_message
from models import CareTaskTarget, Conversation, Role, Segment, Staff
from tests import factories as f

EVERYONE = {"field": "paid_orders", "op": ">=", "value": 0}


@pytest.fixture
def brand(db):
    with db.transaction() as s:
        store = f.store(s)
        f.staff(s, username="hq", role=Role.hq)
        clerk = f.staff(s, username="clerk1", store=store, display_name="王小美")
        ids = []
        for i in range(6):
            c = f.customer(s, name=f"顾客{i}", phone=f"1390000{i:04d}")
            f.follow(s, c, clerk, channel="loopback")
            f.identity(s, c, "loopback", f"lb-{c.id}")
            ids.append(c.id)
        seg = Segment(name="全部", filter=EVERYONE)
        s.add(seg)
        s.flush()
    return {"clerk": clerk.id, "customers": ids, "segment": seg.id}


def test_a_campaign_neither_counts_as_task_progress_nor_buries_an_unanswered_question(
        app, client, auth, db, brand, clock):
    asking = brand["customers"][3]
    with app.app_context(), db.transaction() as s:
        task, _ = actions.create_care_task(s, s.scalar(select(Staff).where(Staff.username == "hq")), {
            "title": "老客回访", "segment_id": brand["segment"], "scenario": "节日",
            "template": "{{ customer_name }}您好", "fallback": "leave",
            "deadline": clock.local("2026-11-25 20:00")})
        task_id = task.id
        receive_message(s, channel="loopback", external_id="q-1", customer_id=asking, body="请问卸妆水 400ml还有货吗?")
    clock.travel(minutes=5)

    auth.login("hq")
    cid = client.post("/api/v1/campaigns", json={
        "name": "双12 会员日", "segment_id": brand["segment"], "channel": "loopback", "holdout_pct": 0,
        "content": {"text": "{{ customer_name }}，双12会员日全场9折"}}).get_json()["id"]
    assert client.post(f"/api/v1/campaigns/{cid}/send").status_code == 202
    assert client.get(f"/api/v1/campaigns/{cid}/report").get_json()["sent"] == 6
    progress = client.get(f"/api/v1/tasks/{task_id}/progress").get_json()
    assert progress["total"]["reached"] == 0  # the campaign is head office's send, not the clerk's task work

    auth.logout()
    auth.login("clerk1")
    listed = client.get("/api/v1/conversations").get_json()
    first = listed["conversations"][0]
    assert first["customer_id"] == asking and first["unread_count"] == 1
    assert first["last_message_preview"] == "请问卸妆水 400ml还有货吗?"
    assert listed["unread_total"] == 1

    # The clerk's own message to a target is task progress — for that target only.
    conv = client.post("/api/v1/conversations", json={"customer_id": brand["customers"][0]}).get_json()["conversation"]
    assert client.post(f"/api/v1/conversations/{conv['id']}/messages",
                       json={"body": "王女士，给您留了新品小样", "client_id": "task-send-01"}).status_code == 201
    with db.Session() as s:
        statuses = dict(s.execute(select(CareTaskTarget.customer_id, CareTaskTarget.status)
                                  .where(CareTaskTarget.task_id == task_id)).all())
        still_unread = s.scalar(select(Conversation.unread_count).where(Conversation.customer_id == asking))
    assert statuses[brand["customers"][0]] == "sent"
    assert sorted(statuses.values()).count("todo") == 5
    assert still_unread == 1
