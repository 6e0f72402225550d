"""Segments over HTTP: preview (count + sample), save, list; errors name the path."""
from __future__ import annotations

import datetime as dt

import pytest

from assistant.tags import retag_all
from tests import factories as f

UTC = dt.timezone.utc
TWICE = {"field": "paid_orders", "op": ">=", "value": 2}


@pytest.fixture
def brand(db):
    with db.transaction() as s:
        c1, _c2, c3, _m1, _hq = f.two_stores(s)
        p = f.product(s, price_fen=10000)
        for n, clerk in enumerate([c1, c1, c3, c3, c3]):
            c = f.customer(s, name=f"顾客{n}")
            f.follow(s, c, clerk)
            for k in range([0, 1, 2, 0, 2][n]):
                f.order(s, c, [(p, 1)], paid_at=dt.datetime(2026, 11, 1 + k, tzinfo=UTC))
        retag_all(s)


def test_preview_counts_and_samples(client, auth, brand):
    auth.login("hq")
    resp = client.post("/api/v1/segments/preview", json={"filter": TWICE})
    body = resp.get_json()
    assert resp.status_code == 200 and body["count"] == 2
    assert sorted(c["name"] for c in body["sample"]) == ["顾客2", "顾客4"]


def test_manager_preview_counts_own_store_only(client, auth, brand):
    auth.login("m1")
    assert client.post("/api/v1/segments/preview", json={"filter": {"not": TWICE}}).get_json()["count"] == 2


def test_invalid_filter_is_422_naming_the_path(client, auth, brand):
    auth.login("hq")
    bad = {"all": [TWICE, TWICE, {"field": "paid_orders", "op": "~", "value": 1}]}
    resp = client.post("/api/v1/segments/preview", json={"filter": bad})
    assert resp.status_code == 422
    assert "all[2].op" in resp.get_json()["fields"]
    assert client.post("/api/v1/segments/preview", json={}).get_json()["fields"] == {"filter": "required"}


def test_save_and_list_segments(client, auth, brand):
    auth.login("hq")
    resp = client.post("/api/v1/segments", json={"name": "复购两次以上", "filter": TWICE})
    assert resp.status_code == 201
    assert client.post("/api/v1/segments", json={"name": "复购两次以上", "filter": TWICE}).status_code == 409
    bad = client.post("/api/v1/segments", json={"name": "坏的", "filter": {"all": []}})
    assert bad.status_code == 422 and "all" in bad.get_json()["fields"]
    assert client.post("/api/v1/segments", json={"filter": TWICE}).get_json()["fields"] == {"name": "required"}
    items = client.get("/api/v1/segments").get_json()["segments"]
    assert [(i["name"], i["filter"]) for i in items] == [("复购两次以上", TWICE)]


def test_clerks_cannot_build_segments(client, auth, brand):
    auth.login("c1")
    assert client.post("/api/v1/segments/preview", json={"filter": TWICE}).status_code == 403
    assert client.post("/api/v1/segments", json={"name": "x", "filter": TWICE}).status_code == 403


def test_the_field_table_is_served_with_labels_operators_and_choices(client, auth, brand):
    from assistant.segments import FIELDS

    auth.login("c1")  # any logged-in staff member: the builder's vocabulary is no secret
    fields = {x["field"]: x for x in client.get("/api/v1/segments/fields").get_json()["fields"]}
    assert list(fields) == list(FIELDS)
    assert [o["op"] for o in fields["paid_orders"]["ops"]] == list(FIELDS["paid_orders"].ops)
    assert fields["paid_orders"]["label"] == "付款订单数" and fields["paid_orders"]["label_en"] == "Paid orders"
    assert {"op": "between", "label": "介于", "label_en": "between"} in fields["paid_orders"]["ops"]
    assert fields["stage"]["choices"][0] == {"value": "prospect", "label": "潜客", "label_en": "Prospect"}
    assert fields["order_amount"]["during"] and fields["order_amount"]["value"] == "money"
    assert fields["tag"]["choices"] is None
    for field in fields.values():  # every operator has words for people in both languages
        assert all(o["label"] != f"segments.op.{o['op']}" and o["label_en"] for o in field["ops"])
    client.post("/auth/logout")
    assert client.get("/api/v1/segments/fields").status_code == 401
