"""Numbers from paths, query strings and bodies are bounded to the database's range: bad ones are a
422 naming the field, never a 500 (penetration test, issue 22, finding 8)."""
from __future__ import annotations

import datetime as dt

import pytest

from models import CareTask, Role, Segment, utcnow
from tests import factories as f

HUGE = 2**64  # past BIGINT: the driver would raise on it
BIGINT_MAX = 2**63 - 1


@pytest.fixture
def brand(db):
    with db.transaction() as s:
        store = f.store(s)
        clerk = f.staff(s, username="clerk9", store=store)
        f.staff(s, username="boss", role=Role.manager, store=store)
        f.staff(s, username="hq9", role=Role.hq)
        customer = f.customer(s)
        f.follow(s, customer, clerk)
        segment = Segment(name="全部", filter={"field": "paid_orders", "op": ">=", "value": 0})
        s.add(segment)
        s.flush()
        task = CareTask(title="关怀", goal="回访", segment_id=segment.id, scenario=None, product_skus=[],
                        deadline=utcnow() + dt.timedelta(days=3))
        s.add(task)
        s.flush()
    return {"clerk": clerk.id, "customer": customer.id, "segment": segment.id, "task": task.id}


def assert_refused(resp, field: str) -> None:
    body = resp.get_json()
    assert resp.status_code == 422 and field in (body.get("fields") or {}), (resp.status_code, body)


@pytest.mark.parametrize("method, path, field", [
    ("get", f"/api/v1/customers/{HUGE}", "customer_id"),
    ("get", f"/api/v1/customers/{BIGINT_MAX + 1}", "customer_id"),
    ("get", f"/api/v1/conversations/{HUGE}/messages", "conversation_id"),
    ("get", f"/api/v1/conversations/{HUGE}", "conversation_id"),
    ("post", f"/api/v1/messages/{HUGE}/cancel", "message_id"),
    ("get", f"/api/v1/tasks/{HUGE}", "task_id"),
    ("post", f"/api/v1/drafts/{HUGE}/outcome", "draft_id"),
])
def test_an_id_in_the_path_past_the_database_range_is_a_422_naming_it(client, auth, brand, method, path, field):
    auth.login("clerk9")
    assert_refused(getattr(client, method)(path, json={}), field)


def test_the_largest_id_the_database_holds_is_simply_not_found(client, auth, brand):
    auth.login("clerk9")
    assert client.get(f"/api/v1/customers/{BIGINT_MAX}").status_code == 404


@pytest.mark.parametrize("query, field", [
    ("limit=abc", "limit"), ("limit=0", "limit"), (f"limit={HUGE}", "limit"), ("limit=١٢", "limit"),
])
def test_a_task_page_size_that_is_not_a_small_number_is_a_422(client, auth, brand, query, field):
    auth.login("hq9")
    assert_refused(client.get(f"/api/v1/tasks/{brand['task']}?{query}"), field)
    assert client.get(f"/api/v1/tasks/{brand['task']}?limit=10").status_code == 200


@pytest.mark.parametrize("login, path, field", [
    ("clerk9", f"/api/v1/events?after={HUGE}", "after"),
    ("clerk9", f"/api/v1/recommendations?customer_id={HUGE}", "customer_id"),
    ("clerk9", "/api/v1/recommendations?customer_id=1e3", "customer_id"),
    ("boss", f"/api/v1/today?clerk_id={HUGE}", "clerk_id"),
    ("clerk9", f"/api/v1/followers?page={HUGE}", "page"),
    ("hq9", f"/api/v1/drafts/stats?days={HUGE}", "days"),
])
def test_query_numbers_past_the_database_range_are_a_422_naming_them(client, auth, brand, login, path, field):
    auth.login(login)
    assert_refused(client.get(path), field)


@pytest.mark.parametrize("login, path, body, field", [
    ("clerk9", "/api/v1/drafts", {"customer_id": HUGE, "scenario": "birthday"}, "customer_id"),
    ("clerk9", "/api/v1/drafts", {"customer_id": 1, "task_id": HUGE}, "task_id"),
    ("clerk9", "/api/v1/drafts/batch", {"customer_ids": [1, HUGE], "scenario": "birthday"}, "customer_ids"),
    ("hq9", "/api/v1/staff/1/handover", {"to_clerk_id": HUGE}, "to_clerk_id"),
    ("hq9", "/api/v1/staff", {"username": "x1", "display_name": "x", "password": "long-enough-1",
                              "role": "clerk", "store_id": HUGE}, "store_id"),
    ("hq9", "/api/v1/tasks/1/reassign", {"target_ids": [1], "clerk_id": HUGE}, "clerk_id"),
    ("hq9", "/api/v1/campaigns", {"name": "c", "segment_id": HUGE, "channel": "sms",
                                  "content": {"text": "您好"}}, "segment_id"),
    ("hq9", "/api/v1/campaigns", {"name": "c", "segment_id": 1, "channel": "sms", "unit_cost_fen": HUGE,
                                  "content": {"text": "您好"}}, "unit_cost_fen"),
])
def test_body_ids_past_the_database_range_are_a_422_naming_them(client, auth, brand, login, path, body, field):
    auth.login(login)
    assert_refused(client.post(path, json=body), field)


@pytest.mark.parametrize("text", [
    "{% for i in range(99999) %}{% for j in range(9) %}很长{% endfor %}{% endfor %}",
    "{{ '很长' * 100000 }}",
    "{% for i in range(100001) %}x{% endfor %}",
    "{{ 2 ** 10000000 }}",
    "{{ 1 / 0 }}",
])
def test_a_template_preview_that_would_render_past_100000_characters_is_a_422(client, auth, brand, text):
    auth.login("hq9")
    assert_refused(client.post("/api/v1/templates/preview", json={"text": text}), "text")
    assert client.post("/api/v1/templates/preview", json={"text": "{{ customer.salutation }}您好"}).status_code == 200
