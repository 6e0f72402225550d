"""A campaign with products and a coupon: each treated customer gets their own code on their own
page when the campaign reaches them (never the holdout, never twice), and the report counts what
the redeemed codes cost."""
from __future__ import annotations

import re

from sqlalchemy import select

from models import CampaignTarget, Message
from models.base import utcnow
from models.coupons import Coupon
from models.links import PersonalLink
from tests.app.care.test_task_coupons import WECHAT, brand, coupon  # noqa: F401  (fixtures)

PAGE = re.compile(r"/p/([A-Za-z0-9_-]{16,})")


def _campaign(client, brand, coupon=None, products=("SERUM", "CREAM"), **kw):  # noqa: F811
    return client.post("/api/v1/campaigns", json={
        "name": "换季会员日", "segment_id": brand["segment"], "channel": "loopback", "holdout_pct": 0,
        "unit_cost_fen": 5, "content": {"text": "{{ customer_name }}您好，换季护肤礼已为您留好", "products": list(products)},
        "coupon_template_id": coupon, **kw})


def test_each_reached_customer_gets_one_code_on_their_page_and_the_report_counts_its_cost(
        client, auth, db, bearer, brand, coupon):  # noqa: F811
    auth.login("hq")
    made = _campaign(client, brand, coupon)
    assert made.status_code == 201, made.get_json()
    campaign = made.get_json()["id"]
    assert client.post(f"/api/v1/campaigns/{campaign}/send").status_code in (200, 202)
    assert client.post(f"/api/v1/campaigns/{campaign}/send").status_code in (200, 202, 409, 422)  # a second press: refused or a no-op
    with db.Session() as s:
        reached = set(s.scalars(select(CampaignTarget.customer_id).where(CampaignTarget.campaign_id == campaign,
                                                                          CampaignTarget.status == "sent")))
        codes = s.execute(select(Coupon.customer_id, Coupon.code, Coupon.source, Coupon.source_ref)).all()
        chen_page = PAGE.search(s.scalar(select(Message.body).where(
            Message.client_id == f"campaign:{campaign}:{brand['陈静']}"))).group(1)
        ref = s.scalar(select(PersonalLink.code).where(PersonalLink.customer_id == brand["陈静"]))
    assert reached == {brand["陈静"], brand["刘洋"], brand["周其他"]}
    assert sorted(c for c, *_ in codes) == sorted(reached)  # one code each, however often it was sent
    assert {(src, ref_) for _c, _code, src, ref_ in codes} == {("campaign", str(campaign))}
    code = next(code for c, code, *_ in codes if c == brand["陈静"])
    page = client.get(f"/p/{chen_page}", headers={"User-Agent": WECHAT}).get_data(as_text=True)
    assert f'data-coupon="{code}"' in page and "满200减20" in page

    paid = utcnow().isoformat()
    order = client.post("/api/v1/orders", headers=bearer, json=[{
        "external_id": "K-1", "customer": "C-CHEN", "store": "S1", "status": "paid", "created_at": paid,
        "paid_at": paid, "amount": "348.00", "ref": ref, "coupon_code": code,
        "items": [{"sku": "SERUM", "quantity": 1, "price": "368.00"}]}])
    assert order.get_json()["accepted"] == 1, order.get_json()
    report = client.get(f"/api/v1/campaigns/{campaign}/report").get_json()
    assert (report["coupons_issued"], report["coupons_redeemed"], report["coupon_cost"]) == (3, 1, "20.00")


def test_a_campaign_coupon_without_products_or_unknown_is_refused_naming_the_field(client, auth, db, brand, coupon):  # noqa: F811
    auth.login("hq")
    no_products = _campaign(client, brand, coupon, products=())
    unknown = _campaign(client, brand, 999999)
    for resp in (no_products, unknown):
        assert resp.status_code == 422 and "coupon_template_id" in resp.get_json()["fields"], resp.get_json()
    assert client.get("/api/v1/campaigns").get_json()["campaigns"] == []
