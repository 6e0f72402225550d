"""Coupon templates through the API: every kind, its title, the figures, and bad input named."""
from __future__ import annotations

import pytest

from tests.app.coupons.conftest import order_body, template_body


def test_each_kind_is_created_with_the_title_customers_read(api):
    assert api.template()["title"] == "满200减20"
    assert api.template(kind="no_threshold", value="10.00", threshold=...)["title"] == "无门槛减10"
    pct = api.template(kind="percent_off", value="15", cap="50.00", threshold=...)
    assert (pct["title"], pct["value_label"]) == ("8.5折券", "8.5折（最高减¥50）")
    dated = api.template(valid_days=..., valid_from="2026-11-20", valid_to="2026-11-30", scope={"categories": ["skincare"]})
    assert dated["valid_to"].startswith("2026-12-01T00:00:00+08:00") and dated["scope_label"] == "限指定品类"


def test_list_shows_issued_redeemed_expired_budget_and_redemption_rate(api, clock):
    tpl = api.template(budget_count=10, budget_amount="1000.00")
    codes = api.issue(tpl["id"], ["C1", "C2", "C4"])["issued"]
    api.orders(order_body(code=codes[0]["code"]))
    row = api.templates()[tpl["id"]]
    assert (row["issued"], row["redeemed"], row["expired"], row["redemption_rate"]) == (3, 1, 0, 0.3333)
    assert row["cost"] == "20.00" and row["budget_used"] == {"count": 3, "amount": "60.00", "count_share": 0.3,
                                                              "amount_share": 0.06}
    clock.travel(days=20)
    row = api.templates()[tpl["id"]]
    assert (row["redeemed"], row["expired"]) == (1, 2)


@pytest.mark.parametrize("change, field", [
    ({"name": ""}, "name"), ({"name": "x" * 61}, "name"), ({"kind": "free"}, "kind"),
    ({"value": "-5.00"}, "value"), ({"value": "0"}, "value"), ({"value": 20}, "value"), ({"value": "1.234"}, "value"),
    ({"kind": "percent_off", "value": "95", "cap": "10.00"}, "value"), ({"kind": "percent_off", "value": "20"}, "cap"),
    ({"cap": "10.00"}, "cap"), ({"threshold": "10.00"}, "threshold"), ({"threshold": ...}, "threshold"),
    ({"kind": "no_threshold", "threshold": "100.00"}, "threshold"),
    ({"valid_days": 0}, "valid_days"), ({"valid_days": "seven"}, "valid_days"),
    ({"valid_days": 7, "valid_to": "2026-12-01"}, "valid_days"), ({"valid_days": ...}, "valid_to"),
    ({"valid_days": ..., "valid_to": "2026-11-01"}, "valid_to"), ({"valid_days": ..., "valid_to": "soon"}, "valid_to"),
    ({"valid_days": ..., "valid_from": "2026-12-05", "valid_to": "2026-12-01"}, "valid_from"),
    ({"per_customer_limit": 0}, "per_customer_limit"), ({"budget_count": -1}, "budget_count"),
    ({"budget_amount": "abc"}, "budget_amount"), ({"scope": {"skus": ["NOPE"]}}, "scope.skus[0]"),
    ({"scope": {"categories": ["shoes"]}}, "scope.categories[0]"), ({"scope": {"brands": []}}, "scope.brands"),
    ({"scope": []}, "scope"), ({"refund_returns_coupon": "maybe"}, "refund_returns_coupon"), ({"colour": "red"}, "colour"),
])
def test_bad_template_input_is_refused_naming_the_field(client, bearer, shop, change, field):
    r = client.post("/api/v1/coupon-templates", headers=bearer, json=template_body(**change))
    assert r.status_code == 422
    assert field in r.get_json()["fields"], r.get_json()


def test_templates_need_head_office_or_a_token(client, auth, shop):
    assert client.post("/api/v1/coupon-templates", json=template_body()).status_code == 401
    auth.login("clerk_li")
    assert client.post("/api/v1/coupon-templates", json=template_body()).status_code == 403
    auth.logout()
    auth.login("hq_zhou")
    r = client.post("/api/v1/coupon-templates", json=template_body())
    assert r.status_code == 201
    assert client.get("/api/v1/coupon-templates").get_json()["templates"][0]["id"] == r.get_json()["id"]
