"""held_coupons: what the customer's page, profile and drafting read — usable coupons only."""
from __future__ import annotations

import pytest

from app.coupons import terms
from app.coupons.queries import held_coupons
from tests.app.coupons.conftest import order_body


@pytest.mark.parametrize("kind, value, percent, cap, threshold, title, label", [
    ("amount_off", 2000, None, None, 20000, "满200减20", "¥20"),
    ("amount_off", 1990, None, None, 9900, "满99减19.9", "¥19.9"),
    ("no_threshold", 1000, None, None, 0, "无门槛减10", "¥10"),
    ("percent_off", None, 20, 5000, 0, "8折券", "8折（最高减¥50）"),
    ("percent_off", None, 15, None, 10000, "满100享8.5折", "8.5折"),
])
def test_titles_read_as_customers_expect(kind, value, percent, cap, threshold, title, label):
    assert terms.title(kind, value, percent, threshold) == title
    assert terms.value_label(kind, value, percent, cap) == label


def test_discounts_respect_scope_threshold_and_cap():
    lines = [("SK-001", "skincare", 2, 26800), ("SN-017", "snacks", 1, 2990)]
    assert terms.eligible_subtotal({"categories": ["snacks"]}, lines) == 2990
    assert terms.eligible_subtotal({}, lines) == 56590
    assert terms.discount("percent_off", None, 20, 5000, 56590) == 5000
    assert terms.discount("no_threshold", 5000, None, None, 2990) == 2990


def test_codes_are_long_random_and_forgiving_to_type():
    codes = {terms.new_code() for _ in range(2000)}
    assert len(codes) == 2000 and all(len(c) == terms.CODE_LENGTH for c in codes)
    assert terms.normalise_code(" abcd-efgh 2345 ") == "ABCDEFGH2345"


def test_held_coupons_lists_usable_coupons_soonest_first(app, db, api, shop, clock):
    short = api.code_for(name="短期", valid_days=3)
    long_ = api.code_for(name="长期", kind="no_threshold", value="10.00", threshold=..., valid_days=30)
    used = api.code_for(name="已用")
    api.orders(order_body(code=used))
    api.code_for("C2")
    with app.app_context(), db.Session() as s:
        held = held_coupons(s, shop["customers"]["C1"])
    assert [h["code"] for h in held] == [short, long_]
    assert {k: held[0][k] for k in ("title", "value_label", "expires_label")} == {
        "title": "满200减20", "value_label": "¥20", "expires_label": "11月21日到期"}
    assert held[0]["expires_at"] == "2026-11-21T16:00:00+00:00"
    clock.travel(days=4)
    with app.app_context(), db.Session() as s:
        assert [h["code"] for h in held_coupons(s, shop["customers"]["C1"])] == [long_]
