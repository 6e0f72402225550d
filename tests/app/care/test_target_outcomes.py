"""A clerk's own word on a care-task target: 已线下联系 (reached outside the console) and 跳过 with a
reason, each one action in one transaction, counted in the task's progress and never mass-sent."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.care import actions, deadlines
from app.messaging.actions import receive_message, send_message
from models import CareTask, CareTaskTarget, Customer, Message, Role, Staff
from models.base import utcnow
from tests import factories as f


@pytest.fixture
def brand(db):
    """One store, two clerks and their manager; clerk c1 owns three customers, c2 one."""
    with db.transaction() as s:
        store = f.store(s)
        f.staff(s, username="hq", role=Role.hq)
        f.staff(s, username="m1", role=Role.manager, store=store)
        c1, c2 = f.staff(s, username="c1", store=store), f.staff(s, username="c2", store=store)
        owners = (c1, c1, c1, c2)
        ids = [f.reachable_follower(s, clerk, phone=f"1390000{i:04d}").id for i, clerk in enumerate(owners)]
        everyone = f.segment(s, {"field": "paid_orders", "op": ">=", "value": 0})
    return {"c1": c1.id, "c2": c2.id, "customers": ids, "segment": everyone.id}


@pytest.fixture
def task_id(app, db, brand):
    with app.app_context(), db.transaction() as s:
        task, _ = actions.create_care_task(s, s.scalar(select(Staff).where(Staff.username == "hq")), {
            "title": "老客回访", "segment_id": brand["segment"], "scenario": "节日",
            "template": "{{ customer_name }}您好", "fallback": "mass_send",
            "deadline": utcnow() + dt.timedelta(days=2)})
    return task.id


def _target(db, customer_id: int) -> CareTaskTarget:
    with db.Session() as s:
        return s.scalar(select(CareTaskTarget).where(CareTaskTarget.customer_id == customer_id))


def _outcome(client, task_id: int, target_id: int, **body):
    return client.post(f"/api/v1/tasks/{task_id}/targets/{target_id}/outcome", json=body)


def test_contacted_offline_counts_as_reached_and_a_later_purchase_as_bought(app, client, auth, db, brand, task_id):
    first, second = brand["customers"][:2]
    auth.login("c1")
    resp = _outcome(client, task_id, _target(db, first).id, outcome="offline")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["target"]["status"] == "offline" and body["target"]["sent_at"]
    assert body["task"]["counts"] == {"offline": 1, "todo": 2} and body["task"]["reached"] == 1
    assert client.get("/api/v1/tasks").get_json()["tasks"][0]["reached"] == 1
    # The customer answers and then buys: the target follows as for a message the console sent.
    with app.app_context():
        with db.transaction() as s:
            receive_message(s, channel="loopback", external_id="in-1", customer_id=first, body="好的，周末去店里")
        with db.transaction() as s:
            order = f.order(s, s.get(Customer, first), amount_fen=30000, paid_at=utcnow() + dt.timedelta(seconds=1))
            actions.on_order_recorded(s, [order.id], [first])
        with db.transaction() as s:  # a later console message does not pull it back to "sent"
            send_message(s, clerk_id=brand["c1"], customer_id=second, body="您好", client_id="x-2")
    assert _target(db, first).status == "bought"
    auth.logout()
    auth.login("m1")
    progress = client.get(f"/api/v1/tasks/{task_id}/progress").get_json()["total"]
    assert (progress["reached"], progress["buyers"]) == (2, 1)


def test_a_skip_keeps_its_reason_in_the_clerks_words_and_is_never_mass_sent(app, client, auth, db, brand, task_id):
    skipped, other, reached = brand["customers"][:3]
    auth.login("c1")
    resp = _outcome(client, task_id, _target(db, skipped).id, outcome="skipped", reason="bought_elsewhere")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["target"]["skip_reason"] == "已在别处购买"
    resp = _outcome(client, task_id, _target(db, other).id, outcome="skipped", reason="other", note="  出国了，月底回来 ")
    assert resp.get_json()["target"]["skip_reason"] == "出国了，月底回来"
    assert _outcome(client, task_id, _target(db, reached).id, outcome="offline").status_code == 200
    detail = client.get(f"/api/v1/tasks/{task_id}").get_json()
    assert [r["code"] for r in detail["skip_reasons"]] == list(actions.SKIP_REASONS)
    assert {r["label"] for r in detail["skip_reasons"]} >= {"客户明确不需要", "其他原因"}
    assert detail["reached"] == 1 and detail["counts"] == {"skipped": 2, "offline": 1}
    with app.app_context(), db.transaction() as s:
        s.get(CareTask, task_id).deadline = utcnow() - dt.timedelta(seconds=1)
    with app.app_context():
        deadlines.close_due_tasks()
    with db.Session() as s:
        statuses = dict(s.execute(select(CareTaskTarget.customer_id, CareTaskTarget.status)).all())
        mass_sent = s.scalar(select(func.count()).select_from(Message).where(Message.purpose == "marketing"))
    assert [statuses[c] for c in brand["customers"]] == ["skipped", "skipped", "offline", "fallback"]
    assert mass_sent == 1  # only clerk c2's untouched target fell back


def test_undo_puts_the_target_back_to_do(client, auth, db, brand, task_id):
    target = _target(db, brand["customers"][0]).id
    auth.login("c1")
    assert _outcome(client, task_id, target, outcome="skipped", reason="unreachable").status_code == 200
    resp = _outcome(client, task_id, target, outcome="todo")
    assert resp.status_code == 200
    assert (resp.get_json()["target"]["status"], resp.get_json()["target"]["skip_reason"]) == ("todo", None)
    assert resp.get_json()["task"]["counts"] == {"todo": 3}


@pytest.mark.parametrize("body,field", [
    ({"outcome": "called"}, "outcome"),
    ({}, "outcome"),
    ({"outcome": "skipped"}, "reason"),
    ({"outcome": "skipped", "reason": "bored"}, "reason"),
    ({"outcome": "skipped", "reason": "other"}, "note"),
    ({"outcome": "skipped", "reason": "other", "note": "太" * 121}, "note"),
    ({"outcome": "skipped", "reason": "other", "note": 7}, "note"),
])
def test_bad_outcomes_are_refused_naming_the_field_and_change_nothing(client, auth, db, brand, task_id, body, field):
    target = _target(db, brand["customers"][0]).id
    auth.login("c1")
    resp = _outcome(client, task_id, target, **body)
    assert resp.status_code == 422
    assert field in resp.get_json()["fields"] and "_" not in resp.get_json()["fields"][field]
    assert _target(db, brand["customers"][0]).status == "todo"


def test_a_clerk_cannot_mark_a_target_reached_by_a_message_or_another_clerks(app, client, auth, db, brand, task_id):
    sent_to, theirs = brand["customers"][0], brand["customers"][3]
    with app.app_context(), db.transaction() as s:
        send_message(s, clerk_id=brand["c1"], customer_id=sent_to, body="您好", client_id="x-1")
    auth.login("c1")
    resp = _outcome(client, task_id, _target(db, sent_to).id, outcome="skipped", reason="unreachable")
    assert resp.status_code == 409 and "已发送" in resp.get_json()["fields"]["outcome"]
    assert _outcome(client, task_id, _target(db, theirs).id, outcome="offline").status_code == 404
    assert _outcome(client, task_id + 1, _target(db, sent_to).id, outcome="offline").status_code == 404
    assert _target(db, theirs).status == "todo"
    auth.logout()
    auth.login("m1")
    assert _outcome(client, task_id, _target(db, theirs).id, outcome="offline").status_code == 403


def test_a_closed_task_no_longer_changes(app, client, auth, db, brand, task_id):
    target = _target(db, brand["customers"][0]).id
    with app.app_context(), db.transaction() as s:
        s.get(CareTask, task_id).status = "closed"
    auth.login("c1")
    resp = _outcome(client, task_id, target, outcome="offline")
    assert resp.status_code == 409 and "task_id" in resp.get_json()["fields"]
