"""Redeeming coupons with orders: once per order, every refusal named in fields.coupon_code, nothing
of a refused order written, refunds and cancellations, the phone and address limits and the flags."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.ingest import csv_import
from models import Order
from models.coupons import Coupon
from tests.app.coupons.conftest import order_body


def _coupon(db, code):
    with db.Session() as s:
        return s.scalar(select(Coupon).where(Coupon.code == code))


def _orders(db):
    with db.Session() as s:
        return s.scalar(select(func.count()).select_from(Order))


def test_an_order_redeems_its_coupon_once_and_reposting_is_not_a_second_use(api, db):
    code = api.code_for()
    answer = api.orders(order_body(code=code.lower()[:4] + "-" + code.lower()[4:], ref="lnk_Ab3"))
    assert (answer["accepted"], answer["rejected"]) == (1, [])
    coupon = _coupon(db, code)
    assert (coupon.state, coupon.discount_fen) == ("redeemed", 2000) and coupon.order_id is not None
    again = api.orders(order_body(code=code, status="completed", completed_at="2026-11-19 10:00"))
    assert again["rejected"] == [] and _coupon(db, code).order_id == coupon.order_id
    with db.Session() as s:
        order = s.scalar(select(Order))
        assert (order.ref, order.coupon_code, order.status) == ("lnk_Ab3", code, "completed")
    assert api.coupons_of()[0]["state"] == "redeemed" and api.coupons_of()[0]["discount"] == "20.00"


@pytest.mark.parametrize("case, reason_word", [
    ("used", "已被使用"), ("expired", "已过期"), ("other_customer", "不属于"), ("below_threshold", "门槛"),
    ("out_of_scope", "适用"), ("unknown", "没有这张"),
])
def test_a_refused_coupon_rejects_the_order_naming_the_reason_and_writes_nothing(api, db, clock, case, reason_word):
    scope = {"categories": ["skincare"]} if case == "out_of_scope" else None
    code = api.code_for("C2" if case == "other_customer" else "C1", **({"scope": scope} if scope else {}))
    body = order_body("O2", code=code)
    if case == "used":
        api.orders(order_body("O1", code=code))
    elif case == "expired":
        clock.travel(days=20)
        body["created_at"], body["paid_at"] = "2026-12-08 10:00", "2026-12-08 10:01"
    elif case == "below_threshold":
        body.update(amount="99.00", items=[{"sku": "SK-002", "quantity": 1, "price": "99.00"}])
    elif case == "out_of_scope":
        body.update(amount="299.00", items=[{"sku": "SN-017", "quantity": 100, "price": "2.99"}])
    elif case == "unknown":
        body["coupon_code"] = "ZZZZZZZZZZZZ"
    before = _orders(db)
    answer = api.orders(body, order_body("O3", customer="C4"))
    assert answer["accepted"] == 1
    assert [(r["index"], r["external_id"], list(r["fields"])) for r in answer["rejected"]] == [(0, "O2", ["coupon_code"])]
    assert reason_word in answer["rejected"][0]["fields"]["coupon_code"]
    assert _orders(db) == before + 1  # only O3


def test_an_order_cannot_switch_to_another_coupon(api):
    first, second = api.code_for(), api.code_for(name="第二张")
    api.orders(order_body(code=first))
    answer = api.orders(order_body(code=second))
    assert list(answer["rejected"][0]["fields"]) == ["coupon_code"]


def test_two_orders_in_one_batch_with_one_code_redeem_it_once(api, db):
    code = api.code_for()
    answer = api.orders(order_body("O1", code=code), order_body("O2", code=code))
    assert answer["accepted"] == 1 and answer["rejected"][0]["external_id"] == "O2"


@pytest.mark.parametrize("returns", [False, True])
def test_refund_gives_the_coupon_back_only_when_the_template_says_so(api, db, returns):
    code = api.code_for(refund_returns_coupon=returns)
    api.orders(order_body(code=code))
    api.orders(order_body(code=code, status="refunded", refund_amount="516.00", refunded_at="2026-11-19 10:00"))
    coupon = _coupon(db, code)
    if returns:
        assert (coupon.state, coupon.order_id, coupon.discount_fen) == ("issued", None, None)
        assert api.orders(order_body("O9", code=code))["rejected"] == []
    else:
        assert coupon.state == "redeemed" and coupon.discount_fen == 2000


def test_a_cancelled_unpaid_order_gives_the_coupon_back(api, db):
    code = api.code_for()
    api.orders(order_body(code=code, status="created", paid_at=None))
    assert _coupon(db, code).state == "redeemed"
    api.orders(order_body(code=code, status="cancelled", paid_at=None))
    assert _coupon(db, code).state == "issued"
    # Re-sending the cancelled order does not take it again.
    api.orders(order_body(code=code, status="cancelled", paid_at=None))
    assert _coupon(db, code).state == "issued"


def test_one_phone_number_redeems_a_template_once(api):
    tpl = api.template()
    codes = {i["customer"]: i["code"] for i in api.issue(tpl["id"], ["C1", "C3"])["issued"]}
    api.orders(order_body("O1", code=codes["C1"]))
    answer = api.orders(order_body("O2", customer="C3", code=codes["C3"]))  # C3 shares C1's phone
    assert "手机号" in answer["rejected"][0]["fields"]["coupon_code"]


def test_one_address_is_limited_and_flagged_for_head_office(api, db, client, bearer):
    from models import Setting
    with db.transaction() as s:
        s.add(Setting(key="coupon_limits", value={"per_address": 1}))
    tpl = api.template()
    codes = {i["customer"]: i["code"] for i in api.issue(tpl["id"], ["C1", "C2"])["issued"]}
    api.orders(order_body("O1", code=codes["C1"]))
    answer = api.orders(order_body("O2", customer="C2", code=codes["C2"]))
    assert "地址" in answer["rejected"][0]["fields"]["coupon_code"]
    with db.transaction() as s:
        s.get(Setting, "coupon_limits").value = {"per_address": 5}
    assert api.orders(order_body("O2", customer="C2", code=codes["C2"]))["rejected"] == []
    r = client.get("/api/v1/coupons/flags?min_customers=2", headers=bearer)
    flags = r.get_json()["flags"]
    assert r.status_code == 200 and len(flags) == 1
    assert (flags[0]["address"], flags[0]["customers"], flags[0]["discount"]) == ("上海市静安区南京西路1号", 2, "40.00")
    assert sorted(flags[0]["customer_names"]) == ["李先生", "王女士"]
    assert client.get("/api/v1/coupons/flags?min_customers=3", headers=bearer).get_json()["flags"] == []


def test_csv_orders_carry_ref_and_coupon_code(app, api, db, tmp_path):
    code = api.code_for()
    path = tmp_path / "orders.csv"
    path.write_text("external_id,customer,status,created_at,paid_at,amount,items,ref,coupon_code\n"
                    f"O1,C1,paid,2026-11-18 11:00,2026-11-18 11:01,516.00,SK-001:2:268.00,lnk_1,{code}\n"
                    f"O2,C1,paid,2026-11-18 11:00,2026-11-18 11:01,516.00,SK-001:2:268.00,,{code}\n", encoding="utf-8")
    with app.app_context():
        report = csv_import.import_csv(db, "orders", str(path))
    assert report.accepted == 1 and [(p.line, p.field) for p in report.problems] == [(3, "coupon_code")]
    with db.Session() as s:
        assert s.scalar(select(Order.ref).where(Order.external_id == "O1")) == "lnk_1"


@pytest.mark.parametrize("field, value", [("ref", "x" * 65), ("ref", "a\x00b"), ("ref", 5.5), ("coupon_code", "---"),
                                          ("coupon_code", "A" * 41), ("coupon_code", ["A"])])
def test_bad_order_fields_are_named(api, field, value):
    answer = api.orders({**order_body(), field: value})
    assert answer["accepted"] == 0 and list(answer["rejected"][0]["fields"]) == [field]
