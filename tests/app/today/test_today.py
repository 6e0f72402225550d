"""GET /api/v1/today and its outcomes, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app import hooks
from models import Customer, CustomerOptOut, CustomerScore, Role, SuggestionOutcome, utcnow
from tests import factories as f


def _score(s, customer, value_fen, action="replenish", reasons=None):
    s.add(CustomerScore(customer_id=customer.id, propensity=0.5, expected_value_fen=value_fen, action=action,
                        reasons=reasons or [{"code": "cycle_due", "params": {"quantity": 2, "usage_days": 10,
                                                                             "days": 18}, "effect": 1.2}]))


@pytest.fixture
def book(db):
    """clerk1 with five followers (one opted out, one just contacted), clerk2 with one."""
    now = utcnow()
    with db.transaction() as s:
        store = f.store(s)
        other_store = f.store(s)
        clerk1 = f.staff(s, Role.clerk, store, username="clerk1")
        clerk2 = f.staff(s, Role.clerk, store, username="clerk2")
        f.staff(s, Role.manager, store, username="manager1")
        f.staff(s, Role.manager, other_store, username="manager2")
        f.staff(s, Role.hq, username="hq")
        c = {name: f.customer(s, name=name) for name in ("top", "second", "optout", "contacted", "third", "theirs")}
        for name in ("top", "second", "optout", "contacted", "third"):
            f.follow(s, c[name], clerk1)
        f.follow(s, c["theirs"], clerk2)
        s.add(CustomerOptOut(customer_id=c["optout"].id, channel="wecom"))
        c["contacted"].last_contacted_at = now - dt.timedelta(hours=5)
        for name, value in (("top", 90000), ("second", 50000), ("optout", 99000), ("contacted", 98000),
                            ("third", 1000), ("theirs", 99999)):
            _score(s, c[name], value)
        ids = {k: v.id for k, v in c.items()} | {"clerk1": clerk1.id, "clerk2": clerk2.id}
    return ids


def test_today_lists_own_followers_by_expected_value_without_opted_out_or_just_contacted(client, auth, book):
    auth.login("clerk1")
    body = client.get("/api/v1/today").get_json()
    assert [i["customer_id"] for i in body["items"]] == [book["top"], book["second"], book["third"]]
    first = body["items"][0]
    assert first["expected_value"] == "900.00" and first["action"] == "replenish"
    assert first["action_label"] == "补货"
    assert first["reasons"][0]["text"] == "2 件×10 天，上次购买 18 天前：快用完了"
    assert body["quiet_hours"] is None


def test_limit_and_recent_days_are_validated_and_applied(client, auth, book):
    auth.login("clerk1")
    assert [i["customer_id"] for i in client.get("/api/v1/today?limit=1").get_json()["items"]] == [book["top"]]
    # With no "recently contacted" window the customer contacted this morning is back.
    ids = [i["customer_id"] for i in client.get("/api/v1/today?recent_days=0").get_json()["items"]]
    assert book["contacted"] in ids and book["optout"] not in ids
    resp = client.get("/api/v1/today?limit=abc")
    assert resp.status_code == 422 and "limit" in resp.get_json()["fields"]
    assert client.get("/api/v1/today?limit=1000").status_code == 422


def test_scoping_clerks_see_only_their_followers_managers_and_hq_name_a_clerk(client, auth, book):
    auth.login("clerk2")
    assert [i["customer_id"] for i in client.get("/api/v1/today").get_json()["items"]] == [book["theirs"]]
    auth.logout()
    auth.login("manager1")
    resp = client.get("/api/v1/today")
    assert resp.status_code == 422 and "clerk_id" in resp.get_json()["fields"]
    items = client.get(f"/api/v1/today?clerk_id={book['clerk1']}").get_json()["items"]
    assert [i["customer_id"] for i in items][:1] == [book["top"]]
    auth.logout()
    auth.login("manager2")  # another store's manager
    assert client.get(f"/api/v1/today?clerk_id={book['clerk1']}").status_code == 404
    auth.logout()
    auth.login("hq")
    assert client.get(f"/api/v1/today?clerk_id={book['clerk2']}").status_code == 200
    auth.logout()
    assert client.get("/api/v1/today").status_code == 401


def test_outcome_is_recorded_and_hides_the_suggestion_for_today(client, auth, book, db):
    auth.login("clerk1")
    resp = client.post(f"/api/v1/today/{book['top']}/outcome", json={"action": "skipped"})
    assert resp.status_code == 201 and resp.get_json()["action"] == "skipped"
    ids = [i["customer_id"] for i in client.get("/api/v1/today").get_json()["items"]]
    assert book["top"] not in ids and ids[0] == book["second"]
    bad = client.post(f"/api/v1/today/{book['top']}/outcome", json={"action": "ignored"})
    assert bad.status_code == 422 and "action" in bad.get_json()["fields"]
    # Another clerk's follower is invisible: 404, nothing written.
    assert client.post(f"/api/v1/today/{book['theirs']}/outcome", json={"action": "contacted"}).status_code == 404
    with db.Session() as s:
        rows = s.scalars(select(SuggestionOutcome)).all()
    assert [(r.customer_id, r.action, r.propensity) for r in rows] == [(book["top"], "skipped", 0.5)]


def test_a_later_paid_order_marks_the_contacted_suggestion_bought(client, auth, book, app, db):
    auth.login("clerk1")
    assert client.post(f"/api/v1/today/{book['second']}/outcome", json={"action": "contacted"}).status_code == 201
    with app.app_context(), db.transaction() as s:
        customer = s.get(Customer, book["second"])
        order = f.order(s, customer, amount_fen=26800, paid_at=utcnow())
        hooks.fire(s, hooks.ORDER_RECORDED, order_ids=[order.id], customer_ids=[customer.id])
        order_id = order.id
    with db.Session() as s:
        outcome = s.scalar(select(SuggestionOutcome).where(SuggestionOutcome.customer_id == book["second"]))
    assert outcome.bought_order_id == order_id


def test_before_nine_the_clerk_sees_the_whole_plan_marked_to_send_after_quiet_hours(client, auth, db, book,
                                                                                    clock):
    with db.transaction() as s:
        s.get(CustomerScore, book["third"]).action = "payment"
    clock.travel_to("2026-11-18 07:40")
    auth.login("clerk1")
    body = client.get("/api/v1/today").get_json()
    assert [i["customer_id"] for i in body["items"]] == [book["top"], book["second"], book["third"]]
    assert body["quiet_hours"] == {"until": "09:00"}
    assert [i["send_after"] for i in body["items"]] == ["09:00", "09:00", None]  # 催付 may go now
    clock.travel_to("2026-11-18 09:00")
    body = client.get("/api/v1/today").get_json()
    assert body["quiet_hours"] is None and all(i["send_after"] is None for i in body["items"])
    clock.travel_to("2026-11-18 22:30")
    body = client.get("/api/v1/today").get_json()
    assert body["quiet_hours"] == {"until": "明天 09:00"} and body["items"][0]["send_after"] == "明天 09:00"


def test_a_suggestion_skipped_after_midnight_stays_skipped_all_that_day_in_shanghai(client, auth, book, clock):
    clock.travel_to("2026-11-19 00:30")  # still the 18th in UTC
    auth.login("clerk1")
    assert client.post(f"/api/v1/today/{book['top']}/outcome", json={"action": "skipped"}).status_code == 201
    clock.travel_to("2026-11-19 20:00")  # the 19th in UTC too
    ids = [i["customer_id"] for i in client.get("/api/v1/today").get_json()["items"]]
    assert book["top"] not in ids
    clock.travel_to("2026-11-20 09:30")
    ids = [i["customer_id"] for i in client.get("/api/v1/today").get_json()["items"]]
    assert book["top"] in ids
