"""A brand with coupons to issue: a store, two clerks, an HQ operator, products in two categories
and customers (two of them at one address), plus helpers that speak the public API."""
from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def shop(db):
    with db.transaction() as s:
        store = factories.store(s, external_id="S1", name="静安店")
        li = factories.staff(s, "clerk", store=store, username="clerk_li", external_id="E100", display_name="李导购")
        wang = factories.staff(s, "clerk", store=store, username="clerk_wang", external_id="E200")
        factories.staff(s, "hq", username="hq_zhou")
        factories.product(s, sku="SK-001", name="精华液", category="skincare", price_fen=26800)
        factories.product(s, sku="SK-002", name="面霜", category="skincare", price_fen=9900)
        factories.product(s, sku="SN-017", name="坚果礼盒", category="snacks", price_fen=2990)
        c1 = factories.customer(s, external_id="C1", name="王女士", phone="13800000001", address="上海市静安区南京西路1号")
        c2 = factories.customer(s, external_id="C2", name="李先生", phone="13800000002", address="上海市静安区南京西路1号")
        c3 = factories.customer(s, external_id="C3", name="赵女士", phone="13800000001")
        c4 = factories.customer(s, external_id="C4", name="钱女士")
        factories.follow(s, c1, li)
        factories.follow(s, c2, li)
        factories.follow(s, c4, wang)
    return {"clerk_id": li.id, "other_clerk_id": wang.id, "customers": {c.external_id: c.id for c in (c1, c2, c3, c4)}}


def template_body(**kw):
    body = {"name": "双11回馈", "kind": "amount_off", "value": "20.00", "threshold": "200.00", "valid_days": 14}
    body.update(kw)
    return {k: v for k, v in body.items() if v is not ...}


def order_body(external_id="O1", customer="C1", code=None, items=None, **kw):
    body = {"external_id": external_id, "customer": customer, "store": "S1", "status": "paid",
            "created_at": "2026-11-18 11:00:00", "paid_at": "2026-11-18 11:01:00", "amount": "516.00",
            "items": items or [{"sku": "SK-001", "quantity": 2, "price": "268.00"}]}
    if code is not None:
        body["coupon_code"] = code
    body.update(kw)
    return body


@pytest.fixture
def api(client, bearer, shop):
    """Calls of the integrator API with a bearer token."""
    class Api:
        def template(self, **kw):
            r = client.post("/api/v1/coupon-templates", headers=bearer, json=template_body(**kw))
            assert r.status_code == 201, r.get_json()
            return r.get_json()

        def issue(self, template_id, customers, **kw):
            r = client.post("/api/v1/coupons", headers=bearer, json={"template_id": template_id, "customers": customers, **kw})
            assert r.status_code == 200, r.get_json()
            return r.get_json()

        def code_for(self, customer="C1", **kw):
            tpl = self.template(**kw)
            return self.issue(tpl["id"], [customer])["issued"][0]["code"]

        def orders(self, *bodies):
            r = client.post("/api/v1/orders", headers=bearer, json=list(bodies))
            assert r.status_code == 200, r.get_json()
            return r.get_json()

        def templates(self):
            r = client.get("/api/v1/coupon-templates", headers=bearer)
            assert r.status_code == 200
            return {t["id"]: t for t in r.get_json()["templates"]}

        def coupons_of(self, customer="C1"):
            r = client.get(f"/api/v1/customers/{customer}/coupons", headers=bearer)
            assert r.status_code == 200, r.get_json()
            return r.get_json()["coupons"]

    return Api()
