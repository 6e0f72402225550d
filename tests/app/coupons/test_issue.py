"""Issuing coupons: unique codes, idempotent per source, limits and budgets, segments, a clerk's gift."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.coupons.terms import CODE_ALPHABET
from models import Segment
from models.coupons import Coupon


def test_each_customer_gets_one_unique_unguessable_code(api):
    tpl = api.template()
    answer = api.issue(tpl["id"], ["C1", "C2", "C4"])
    codes = [i["code"] for i in answer["issued"]]
    assert [i["customer"] for i in answer["issued"]] == ["C1", "C2", "C4"] and answer["refused"] == []
    assert len(set(codes)) == 3
    assert all(len(c) >= 10 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("0O1IL") & set("".join(codes))
    # 14 days from the day of issue (2026-11-18), to the end of the brand's day.
    assert answer["issued"][0]["expires_at"] == "2026-12-02T16:00:00+00:00"


def test_issuing_again_from_the_same_source_returns_the_same_codes(api):
    tpl = api.template(per_customer_limit=2)
    first = api.issue(tpl["id"], ["C1"], source={"kind": "campaign", "id": "7"})
    again = api.issue(tpl["id"], ["C1"], source={"kind": "campaign", "id": "7"})
    assert again["issued"] == first["issued"]
    other = api.issue(tpl["id"], ["C1"], source={"kind": "task", "id": "3"})
    assert other["issued"][0]["code"] != first["issued"][0]["code"]
    assert api.templates()[tpl["id"]]["issued"] == 2


def test_per_customer_limit_and_unknown_customers_are_refused_by_name(api):
    tpl = api.template()
    api.issue(tpl["id"], ["C1"], source={"kind": "task", "id": "1"})
    answer = api.issue(tpl["id"], ["C1", "NOBODY", "C2"], source={"kind": "task", "id": "2"})
    assert [i["customer"] for i in answer["issued"]] == ["C2"]
    assert {(r["customer"], r["reason"]) for r in answer["refused"]} == {("C1", "per_customer_limit"),
                                                                         ("NOBODY", "unknown_customer")}
    assert all(r["message"] for r in answer["refused"])


def test_count_and_money_budgets_are_never_overspent(api):
    by_count = api.template(budget_count=2)
    answer = api.issue(by_count["id"], ["C1", "C2", "C3", "C4"])
    assert len(answer["issued"]) == 2 and {r["reason"] for r in answer["refused"]} == {"budget_count"}
    by_money = api.template(kind="percent_off", value="20", cap="30.00", threshold=..., budget_amount="70.00")
    answer = api.issue(by_money["id"], ["C1", "C2", "C3"])
    # Each percent coupon reserves its cap: two fit in ¥70, the third does not.
    assert len(answer["issued"]) == 2 and answer["refused"][0] == {
        "customer": "C3", "reason": "budget_amount", "message": answer["refused"][0]["message"]}
    assert api.templates()[by_money["id"]]["budget_used"]["amount"] == "60.00"


def test_issue_to_a_segment(client, bearer, api, db, shop):
    with db.transaction() as s:
        seg = Segment(name="李导购的客户", filter={"field": "clerk", "op": "in", "value": [shop["clerk_id"]]})
        s.add(seg)
        s.flush()
        seg_id = seg.id
    tpl = api.template()
    r = client.post("/api/v1/coupons", headers=bearer, json={"template_id": tpl["id"], "segment_id": seg_id})
    assert r.status_code == 200
    assert sorted(i["customer"] for i in r.get_json()["issued"]) == ["C1", "C2"]


@pytest.mark.parametrize("body, field, status", [
    ({}, "template_id", 422), ({"template_id": "x", "customers": ["C1"]}, "template_id", 422),
    ({"template_id": 1}, "customers", 422), ({"template_id": 1, "customers": ["C1"], "segment_id": 1}, "customers", 422),
    ({"template_id": 1, "customers": []}, "customers", 422), ({"template_id": 1, "customers": "C1"}, "customers", 422),
    ({"template_id": 1, "customers": [" "]}, "customers[0]", 422),
    ({"template_id": 1, "customers": ["C1"], "source": {"kind": "clerk"}}, "source", 422),
    ({"template_id": 1, "customers": ["C1"], "source": {"kind": "task", "id": "x" * 65}}, "source.id", 422),
    ({"template_id": 999, "customers": ["C1"]}, "template_id", 404),
    ({"template_id": 1, "segment_id": 999}, "segment_id", 404),
])
def test_bad_issue_input_is_refused_naming_the_field(client, bearer, api, body, field, status):
    api.template()
    r = client.post("/api/v1/coupons", headers=bearer, json=body)
    assert r.status_code == status and field in r.get_json()["fields"], r.get_json()


def test_inactive_or_ended_templates_issue_nothing(client, bearer, api, clock):
    off = api.template(active=False)
    r = client.post("/api/v1/coupons", headers=bearer, json={"template_id": off["id"], "customers": ["C1"]})
    assert r.status_code == 422 and "template_id" in r.get_json()["fields"]
    ending = api.template(valid_days=..., valid_to="2026-11-20")
    clock.travel(days=5)
    r = client.post("/api/v1/coupons", headers=bearer, json={"template_id": ending["id"], "customers": ["C1"]})
    assert r.status_code == 422 and "template_id" in r.get_json()["fields"]


def test_a_clerk_gifts_within_the_monthly_budget(client, auth, api, db, shop):
    tpl = api.template(per_customer_limit=5)
    other = api.template(name="新客礼", per_customer_limit=5)
    auth.login("hq_zhou")
    r = client.put("/api/v1/coupon-gift-budgets", json={"default": 0, "clerks": [{"clerk": "E100", "count": 2}]})
    assert r.status_code == 200 and r.get_json()["clerks"] == [{"clerk_id": shop["clerk_id"], "count": 2}]
    auth.logout()
    auth.login("clerk_li")
    c1, c2 = shop["customers"]["C1"], shop["customers"]["C2"]
    first = client.post(f"/api/v1/customers/{c1}/coupons", json={"template_id": tpl["id"]})
    assert first.status_code == 201 and first.get_json()["gifts"] == {"allowed": 2, "used": 1, "left": 1}
    again = client.post(f"/api/v1/customers/{c1}/coupons", json={"template_id": tpl["id"]})
    assert again.status_code == 200 and again.get_json()["code"] == first.get_json()["code"]
    assert client.post(f"/api/v1/customers/{c2}/coupons", json={"template_id": other["id"]}).status_code == 201
    spent = client.post(f"/api/v1/customers/{c2}/coupons", json={"template_id": tpl["id"]})
    assert spent.status_code == 409 and "template_id" in spent.get_json()["fields"]
    # Not their follower: as if the customer did not exist.
    c4 = shop["customers"]["C4"]
    assert client.post(f"/api/v1/customers/{c4}/coupons", json={"template_id": tpl["id"]}).status_code == 404
    listed = client.get(f"/api/v1/customers/{c1}/coupons").get_json()
    assert listed["coupons"][0]["code"] == first.get_json()["code"] and listed["gifts"]["left"] == 0
    assert {t["id"] for t in listed["templates"]} == {tpl["id"], other["id"]}
    with db.Session() as s:
        assert s.scalar(select(Coupon.issued_by).where(Coupon.code == first.get_json()["code"])) == shop["clerk_id"]


def test_customer_coupons_are_scoped(client, auth, api, shop):
    code = api.code_for("C4")
    assert api.coupons_of("C4")[0]["code"] == code
    auth.login("clerk_li")
    assert client.get(f"/api/v1/customers/{shop['customers']['C4']}/coupons").status_code == 404
    auth.logout()
    auth.login("clerk_wang")
    r = client.get(f"/api/v1/customers/{shop['customers']['C4']}/coupons")
    assert r.status_code == 200 and r.get_json()["coupons"][0]["state"] == "issued"
    assert client.get("/api/v1/customers/NOBODY/coupons").status_code == 422
