"""``POST /api/v1/links`` and the personal-page settings: who may make a link, for whom, and what it says."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models import CareTask, CareTaskTarget, Segment
from models.base import utcnow
from models.links import PersonalLink


def _post(client, body, **kw):
    return client.post("/api/v1/links", json=body, **kw)


def test_a_clerk_makes_a_link_for_their_own_follower(client, auth, db, brand, clock):
    clock.freeze()
    auth.login("clerk1")
    resp = _post(client, {"customer_id": brand["chen"], "products": ["SERUM", "CREAM", "SERUM"]})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert set(body) == {"url", "token", "code", "link_id", "expires_at"}
    assert body["url"] == f"http://localhost/p/{body['token']}"
    assert len(body["token"]) >= 16 and len(body["code"]) == 8
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert expires - utcnow() == dt.timedelta(days=14)
    with db.Session() as s:
        link = s.get(PersonalLink, body["link_id"])
        assert (link.customer_id, link.clerk_id, link.skus, link.source_kind) == (
            brand["chen"], brand["clerk1"], ["SERUM", "CREAM"], "clerk")
        assert body["token"] not in (link.token_hash, link.code)  # only a hash of the token is kept


def test_a_clerk_cannot_make_a_link_for_another_clerks_customer(client, auth, brand):
    auth.login("clerk1")
    resp = _post(client, {"customer_id": brand["zhou"], "products": ["SERUM"]})
    assert resp.status_code == 404
    assert _post(client, {"customer": "C-ZHOU", "products": ["SERUM"]}).status_code == 404


def test_an_integrator_names_the_customer_by_external_id_and_the_owner_presents_it(client, bearer, db, brand):
    resp = _post(client, {"customer": "C-ZHOU", "products": ["CREAM"], "source": {"kind": "automation", "id": 3}},
                 headers=bearer)
    assert resp.status_code == 201, resp.get_json()
    with db.Session() as s:
        link = s.get(PersonalLink, resp.get_json()["link_id"])
        assert (link.clerk_id, link.source_kind, link.source_id) == (brand["clerk2"], "automation", 3)


def test_head_office_may_name_the_clerk_and_a_manager_only_one_of_their_store(client, auth, db, brand):
    auth.login("hq")
    resp = _post(client, {"customer_id": brand["chen"], "products": ["CREAM"], "clerk_id": brand["clerk2"]})
    assert resp.status_code == 201
    with db.Session() as s:
        assert s.get(PersonalLink, resp.get_json()["link_id"]).clerk_id == brand["clerk2"]
    auth.logout()
    auth.login("manager1")
    resp = _post(client, {"customer_id": brand["chen"], "products": ["CREAM"], "clerk_id": brand["hq"]})
    assert resp.status_code == 404 and "clerk_id" in resp.get_json()["fields"]


@pytest.mark.parametrize("body,field,status", [
    ({"products": ["SERUM"]}, "customer", 422),
    ({"customer_id": "x", "products": ["SERUM"]}, "customer", 422),
    ({"products": []}, "products", 422),
    ({"products": "SERUM"}, "products", 422),
    ({"products": [f"S{i}" for i in range(21)]}, "products", 422),
    ({"products": ["SERUM", "NOPE"]}, "products", 404),
    ({"products": ["SERUM"], "source": "newsletter"}, "source", 422),
    ({"products": ["SERUM"], "source": {"kind": "task", "id": "7"}}, "source", 422),
    ({"products": ["SERUM"], "source": {"kind": "task", "id": 999}}, "source", 404),
    ({"products": ["SERUM"], "channel": "fax"}, "channel", 422),
])
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(client, auth, db, brand, body, field, status):
    auth.login("clerk1")
    if field != "customer":
        body = {"customer_id": brand["chen"], **body}
    resp = _post(client, body)
    assert resp.status_code == status, resp.get_json()
    assert field in resp.get_json()["fields"]
    with db.Session() as s:
        assert s.scalars(select(PersonalLink)).all() == []


def test_a_link_from_a_task_must_be_for_one_of_its_targets(client, auth, db, brand):
    with db.transaction() as s:
        seg = Segment(name="全部", filter={"all": []})
        s.add(seg)
        s.flush()
        task = CareTask(title="补货关怀", segment_id=seg.id, product_skus=["CREAM"], deadline=utcnow() + dt.timedelta(days=2))
        s.add(task)
        s.flush()
        s.add(CareTaskTarget(task_id=task.id, customer_id=brand["chen"], clerk_id=brand["clerk1"], status="todo"))
    auth.login("clerk1")
    ok = _post(client, {"customer_id": brand["chen"], "products": ["CREAM"], "source": {"kind": "task", "id": task.id}})
    assert ok.status_code == 201
    no = _post(client, {"customer_id": brand["liu"], "products": ["CREAM"], "source": {"kind": "task", "id": task.id}})
    assert no.status_code == 404 and "source" in no.get_json()["fields"]


def test_no_login_no_link(client, brand):
    assert _post(client, {"customer_id": brand["chen"], "products": ["SERUM"]}).status_code == 401


def test_head_office_sets_expiry_click_window_and_a_safe_shop_address(client, auth, brand, clock):
    clock.freeze()
    auth.login("hq")
    assert client.get("/api/v1/links/settings").get_json()["settings"] == {
        "expiry_days": 14, "click_window_days": 7, "shop_url": None}
    for bad, field in ((("shop_url", "javascript:alert('{sku}')"), "shop_url"),
                       (("shop_url", "https://shop.example.com/item"), "shop_url"),
                       (("expiry_days", 0), "expiry_days"), (("click_window_days", 31), "click_window_days"),
                       (("colour", "red"), "colour")):
        resp = client.put("/api/v1/links/settings", json={bad[0]: bad[1]})
        assert resp.status_code == 422 and field in resp.get_json()["fields"], bad
    resp = client.put("/api/v1/links/settings", json={"expiry_days": 3, "shop_url": "https://youzan.example/{sku}"})
    assert resp.get_json()["settings"] == {"expiry_days": 3, "click_window_days": 7,
                                           "shop_url": "https://youzan.example/{sku}"}
    made = _post(client, {"customer_id": brand["chen"], "products": ["SERUM"]}).get_json()
    assert dt.datetime.fromisoformat(made["expires_at"]) - utcnow() == dt.timedelta(days=3)
    auth.logout()
    auth.login("clerk1")
    assert client.put("/api/v1/links/settings", json={"expiry_days": 5}).status_code == 403


def test_the_link_endpoint_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "post" in spec["paths"]["/api/v1/links"]


def test_head_office_picks_page_products_by_name_from_those_in_stock(client, auth, brand):
    auth.login("hq")
    products = client.get("/api/v1/links/products").get_json()["products"]
    assert {p["sku"] for p in products} == {"CREAM", "SERUM", "DEVICE"}  # not the toner: out of stock
    assert {"sku": "SERUM", "name": "修护精华", "category": "护肤", "price": "368.00"} in products
    auth.logout()
    auth.login("clerk1")
    assert client.get("/api/v1/links/products").status_code == 403
