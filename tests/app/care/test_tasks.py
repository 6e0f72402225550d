import datetime as dt

import pytest

from models.base import utcnow
from sqlalchemy import select

from app.care import actions, deadlines
from app.messaging.actions import receive_message, send_message
from models import CareTask, CareTaskTarget, ConsoleEvent, Message, Role, Segment, Staff
from tests import factories as f

UTC = dt.timezone.utc
BIG_SPENDERS = {"field": "total_spent", "op": ">=", "value": 500}


@pytest.fixture
def brand(db):
    """Two stores, three clerks, five customers of whom four spent ≥ ¥500."""
    with db.transaction() as s:
        s1, s2 = f.store(s), f.store(s)
        hq = f.staff(s, username="hq", role=Role.hq)
        m1 = f.staff(s, username="m1", role=Role.manager, store=s1)
        c1 = f.staff(s, username="c1", store=s1)
        c2 = f.staff(s, username="c2", store=s1)
        c3 = f.staff(s, username="c3", store=s2)
        custs = []
        for i, (clerk, spent) in enumerate([(c1, 60000), (c1, 90000), (c2, 50000), (c3, 70000), (c3, 100)]):
            c = f.customer(s, total_spent_fen=spent, paid_orders=2, phone=f"1380000000{i}")
            f.follow(s, c, clerk, channel="loopback")
            f.identity(s, c, "loopback", f"lb-{c.id}")
            custs.append(c.id)
        seg = Segment(name="高消费", filter=BIG_SPENDERS)
        s.add(seg)
        s.flush()
    return {"hq": hq.id, "m1": m1.id, "c1": c1.id, "c2": c2.id, "c3": c3.id, "customers": custs, "segment": seg.id}


def _data(brand, **kw):
    data = {"title": "双11 老客关怀", "segment_id": brand["segment"], "scenario": "节日",
            "template": "{{ customer_name }}您好，双11 老客专享礼已为您留好", "fallback": "mass_send",
            "deadline": utcnow() + dt.timedelta(days=3)}
    data.update(kw)
    return data


def test_targets_are_split_to_owning_clerks_and_pushed(app, db, brand):
    with app.app_context(), db.transaction() as s:
        task, per_clerk = actions.create_care_task(s, s.get(Staff, brand["hq"]), _data(brand))
    assert per_clerk == {brand["c1"]: 2, brand["c2"]: 1, brand["c3"]: 1}
    with db.Session() as s:
        events = s.scalars(select(ConsoleEvent).where(ConsoleEvent.name == "task.assigned")).all()
        assert {e.room: e.payload["targets"] for e in events} == {
            f"clerk:{brand['c1']}": 2, f"clerk:{brand['c2']}": 1, f"clerk:{brand['c3']}": 1}
        assert set(events[0].payload) == {"task_id", "title", "scenario", "deadline", "targets"}


@pytest.mark.parametrize("change,field", [
    ({"segment_id": 999}, "segment_id"),
    ({"deadline": dt.datetime(2020, 1, 1, tzinfo=UTC)}, "deadline"),
    ({"fallback": "carrier pigeon"}, "fallback"),
    ({"template": "{{ customer_name "}, "template"),
    ({"title": " "}, "title"),
    ({"product_skus": ["NOPE"]}, "product_skus"),
])
def test_bad_tasks_are_refused_naming_the_field(app, db, brand, change, field):
    from app.errors import Invalid

    with app.app_context(), pytest.raises(Invalid) as err, db.transaction() as s:
        actions.create_care_task(s, s.get(Staff, brand["hq"]), _data(brand, **change))
    assert field in err.value.fields


def test_task_on_an_empty_segment_is_refused(app, db, brand):
    from app.errors import Invalid

    with db.transaction() as s:
        seg = Segment(name="无人", filter={"field": "total_spent", "op": ">=", "value": 10 ** 7})
        s.add(seg)
        s.flush()
    with app.app_context(), pytest.raises(Invalid) as err, db.transaction() as s:
        actions.create_care_task(s, s.get(Staff, brand["hq"]), _data(brand, segment_id=seg.id))
    assert err.value.fields == {"segment_id": "这个分群现在没有客户，请换一个"}


def test_statuses_follow_sends_replies_and_orders(app, db, brand):
    cid = brand["customers"][0]
    with app.app_context():
        with db.transaction() as s:
            task, _ = actions.create_care_task(s, s.get(Staff, brand["hq"]), _data(brand))
        with db.transaction() as s:
            send_message(s, clerk_id=brand["c1"], customer_id=cid, body="您好", client_id="x1")
        with db.transaction() as s:
            receive_message(s, channel="loopback", external_id="in-1", customer_id=cid, body="好的")
        with db.transaction() as s:
            o = f.order(s, s.get(__import__("models").Customer, cid), amount_fen=30000,
                        paid_at=utcnow() + dt.timedelta(seconds=1))
            actions.on_order_recorded(s, [o.id], [cid])
    with db.Session() as s:
        statuses = dict(s.execute(select(CareTaskTarget.customer_id, CareTaskTarget.status)).all())
    assert statuses[cid] == "bought"
    assert statuses[brand["customers"][1]] == "todo"


def test_manager_reassigns_within_store_only(app, db, brand):
    from app.errors import Forbidden

    with app.app_context():
        with db.transaction() as s:
            task, _ = actions.create_care_task(s, s.get(Staff, brand["hq"]), _data(brand))
        with db.Session() as s:
            t_c1 = s.scalars(select(CareTaskTarget.id).where(CareTaskTarget.clerk_id == brand["c1"])).all()
            t_c3 = s.scalars(select(CareTaskTarget.id).where(CareTaskTarget.clerk_id == brand["c3"])).all()
        with db.transaction() as s:
            assert actions.reassign_targets(s, s.get(Staff, brand["m1"]), task.id, t_c1, brand["c2"]) == 2
        with pytest.raises(Forbidden), db.transaction() as s:
            actions.reassign_targets(s, s.get(Staff, brand["m1"]), task.id, t_c3, brand["c2"])
    with db.Session() as s:
        assert s.scalar(select(CareTaskTarget.clerk_id).where(CareTaskTarget.id == t_c1[0])) == brand["c2"]


def test_deadline_falls_back_to_a_mass_send_for_the_unreached_only(app, db, brand):
    reached = brand["customers"][0]
    with app.app_context():
        with db.transaction() as s:
            task, _ = actions.create_care_task(s, s.get(Staff, brand["hq"]), _data(brand))
        with db.transaction() as s:
            send_message(s, clerk_id=brand["c1"], customer_id=reached, body="先联系了", client_id="r1")
        with db.transaction() as s:
            s.get(CareTask, task.id).deadline = utcnow() - dt.timedelta(seconds=1)
        assert deadlines.close_due_tasks() == [task.id]
        assert deadlines.close_due_tasks() == []  # closed: running again sends nothing
    with db.Session() as s:
        statuses = dict(s.execute(select(CareTaskTarget.customer_id, CareTaskTarget.status)).all())
        bodies = s.scalars(select(Message.body).where(Message.purpose == "marketing")).all()
    assert statuses[reached] == "sent"
    assert [statuses[c] for c in brand["customers"][1:4]] == ["fallback"] * 3
    assert len(bodies) == 3 and all("双11 老客专享礼" in b for b in bodies)


def test_deadline_leave_option_sends_nothing(app, db, brand):
    with app.app_context():
        with db.transaction() as s:
            task, _ = actions.create_care_task(s, s.get(Staff, brand["hq"]), _data(brand, fallback="leave"))
            task.deadline = utcnow() - dt.timedelta(seconds=1)
        deadlines.close_due_tasks()
    with db.Session() as s:
        assert set(s.scalars(select(CareTaskTarget.status))) == {"skipped"}
        assert s.scalar(select(Message.id)) is None


def test_task_api_scoping_and_progress(client, auth, db, brand):
    auth.login("hq")
    resp = client.post("/api/v1/tasks", json={**_data(brand), "deadline": "2099-01-01T10:00:00"})
    assert resp.status_code == 201, resp.get_json()
    task_id = resp.get_json()["id"]
    assert resp.get_json()["deadline"] == "2099-01-01T02:00:00+00:00"  # brand timezone
    bad = client.post("/api/v1/tasks", json={**_data(brand), "deadline": "yesterday"})
    assert bad.status_code == 422 and "deadline" in bad.get_json()["fields"]
    auth.logout()
    auth.login("c2")
    mine = client.get(f"/api/v1/tasks/{task_id}").get_json()
    assert [t["customer"]["id"] for t in mine["targets"]] == [brand["customers"][2]]
    assert client.get("/api/v1/tasks").get_json()["tasks"][0]["counts"] == {"todo": 1}
    assert client.get(f"/api/v1/tasks/{task_id}/progress").status_code == 403
    auth.logout()
    auth.login("m1")
    prog = client.get(f"/api/v1/tasks/{task_id}/progress").get_json()
    assert prog["total"]["targets"] == 3  # store 1 only


def test_an_order_paid_before_the_target_was_reached_does_not_count(app, db, brand):
    from models import Customer

    cid = brand["customers"][1]
    with app.app_context():
        with db.transaction() as s:
            actions.create_care_task(s, s.get(Staff, brand["hq"]), _data(brand))
        with db.transaction() as s:
            send_message(s, clerk_id=brand["c1"], customer_id=cid, body="您好", client_id="early-1")
        with db.transaction() as s:
            early = f.order(s, s.get(Customer, cid), amount_fen=30000,
                            paid_at=utcnow() - dt.timedelta(days=1))
            actions.on_order_recorded(s, [early.id], [cid])
    with db.Session() as s:
        assert s.scalar(select(CareTaskTarget.status).where(CareTaskTarget.customer_id == cid)) == "sent"
