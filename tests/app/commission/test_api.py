"""The commission API: the clerk's month, leaderboards, statements and CSV, rules, attribution
settings, closing months, adjustments, the live payload's shape and the ingestion path."""
from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import select

from app.commission import attribution
from app.commission.payloads import earned_payload
from models import Attribution, CommissionRule, ConsoleEvent, Customer, Order, Staff, utcnow
from tests.app.commission.conftest import paid_order

UTC = dt.timezone.utc
CN = dt.timezone(dt.timedelta(hours=8))


def process(app, db, *order_ids):
    with app.app_context(), db.transaction() as s:
        attribution.process_orders(s, order_ids)


def test_earned_payload_shape(app, db, brand):
    order_id = paid_order(db, brand)
    process(app, db, order_id)
    with app.app_context(), db.Session() as s:
        order = s.get(Order, order_id)
        payload = earned_payload(kind="earned", clerk=s.get(Staff, brand.clerk1), order=order,
                                 customer=s.get(Customer, order.customer_id),
                                 attribution=s.scalar(select(Attribution)), amount_fen=1280, period="2026-11")
    assert set(payload) == {"kind", "clerk_id", "amount", "period", "message", "order", "customer", "rule",
                            "share_bp", "sales", "reason"}
    assert payload["message"] == "你刚赚了 ¥12.80" and payload["amount"] == "12.80"
    assert set(payload["order"]) == {"id", "external_id", "status", "amount", "refund_amount", "paid_at"}
    assert payload["customer"] == {"id": brand.customer, "name": "张女士"}
    assert (payload["rule"], payload["share_bp"], payload["sales"]) == ("owner", 10000, "268.00")


def test_clerk_sees_today_month_rank_and_why_each_order_is_theirs(app, db, brand, client, auth):
    paid_at = brand.now - dt.timedelta(minutes=5)
    process(app, db, paid_order(db, brand, paid_at=paid_at),
            paid_order(db, brand, customer_id=brand.customer2, items=(("cream", 2),), paid_at=paid_at))
    auth.login("clerk1")
    body = client.get(f"/api/v1/commission?period={paid_at.astimezone(CN):%Y-%m}").get_json()
    assert body["today"]["commission"] == "13.40"  # today's orders
    # An order from last month, attributed only now (a history import), is not today's commission.
    process(app, db, paid_order(db, brand, paid_at=paid_at - dt.timedelta(days=40)))
    again = client.get(f"/api/v1/commission?period={paid_at.astimezone(CN):%Y-%m}").get_json()
    assert again["today"]["commission"] == "13.40"
    booked = client.get(f"/api/v1/commission?period={(paid_at - dt.timedelta(days=40)).astimezone(CN):%Y-%m}").get_json()
    assert booked["month"]["commission"] != "0.00"  # it was attributed to clerk1, in its own month
    assert body["month"]["commission"] == "13.40" and body["month"]["sales"] == "268.00"
    assert body["month"]["pending"] == body["month"]["commission"] and body["month"]["settled"] == "0.00"
    assert body["rank"] == {"position": 2, "of": 2}  # clerk2 earned 26.80
    [order] = body["orders"]
    assert order["rule"] == "owner" and order["why"].startswith("你的专属顾客")
    assert order["lines"][0]["rule_name"] == "护肤 5%" and order["lines"][0]["explanation"] == "5% × ¥268.00"
    assert client.get("/api/v1/commission?period=2026-13").status_code == 422
    assert client.get(f"/api/v1/commission?clerk_id={brand.clerk2}").status_code == 404


def test_leaderboard_is_scoped_to_the_managers_store(app, db, brand, client, auth):
    paid_at = brand.now - dt.timedelta(minutes=5)
    process(app, db, paid_order(db, brand, paid_at=paid_at))
    auth.login("manager1")
    body = client.get(f"/api/v1/commission/leaderboard?period={paid_at.astimezone(CN):%Y-%m}").get_json()
    assert [c["display_name"] for c in body["clerks"]] == ["小王", "小李"]
    assert body["clerks"][0]["commission"] == "13.40" and body["clerks"][0]["rank"] == 1
    assert [s["store_name"] for s in body["stores"]] == ["静安店"]
    auth.login("clerk1")
    assert client.get("/api/v1/commission/leaderboard").status_code == 403
    auth.login("hq")
    body = client.get("/api/v1/commission/leaderboard").get_json()
    assert {c["display_name"] for c in body["clerks"]} == {"小王", "小李", "小赵"}


def test_statement_csv_names_the_rule_of_each_line(app, db, brand, client, auth):
    paid_at = brand.now - dt.timedelta(minutes=5)
    process(app, db, paid_order(db, brand, items=(("cream", 1), ("tee", 1)), paid_at=paid_at))
    period = paid_at.astimezone(CN).strftime("%Y-%m")
    auth.login("manager1")
    resp = client.get(f"/api/v1/commission/statement.csv?period={period}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert sorted((r["rule"], r["amount"]) for r in rows) == [("全场 3%", "2.97"), ("护肤 5%", "13.40")]
    assert {r["clerk"] for r in rows} == {"小王"} and rows[0]["rule_kind"] == "percent"
    json_body = client.get(f"/api/v1/commission/statement?period={period}").get_json()
    assert json_body["total"] == "16.37"


def test_rules_api_validates_replaces_and_ends(client, auth, brand):
    auth.login("clerk1")
    assert client.post("/api/v1/commission/rules", json={"name": "x"}).status_code == 403
    auth.login("hq")
    bad = client.post("/api/v1/commission/rules", json={"name": "x", "kind": "percent", "rate_bp": -1})
    assert bad.status_code == 422 and "rate_bp" in bad.get_json()["fields"]
    created = client.post("/api/v1/commission/rules", json={
        "name": "每单奖励", "kind": "fixed", "amount": "5.00"}).get_json()
    assert created["amount"] == "5.00" and created["effective_to"] is None
    replaced = client.put(f"/api/v1/commission/rules/{created['id']}", json={
        "name": "每单奖励", "kind": "fixed", "amount": "8.00"})
    assert replaced.status_code == 201
    rules = {r["id"]: r for r in client.get("/api/v1/commission/rules").get_json()["rules"]}
    assert rules[created["id"]]["effective_to"] is not None
    ended = client.delete(f"/api/v1/commission/rules/{replaced.get_json()['id']}")
    assert ended.status_code == 200 and ended.get_json()["effective_to"] is not None
    assert client.delete(f"/api/v1/commission/rules/{created['id']}").status_code == 409


def test_a_store_manager_reads_commission_rules_but_cannot_create_change_or_end_them(db, client, auth, brand):
    with db.Session() as s:
        rule_id = s.scalar(select(CommissionRule.id).where(CommissionRule.name == "全场 3%"))
    brand_wide = {"name": "全场 100%", "kind": "percent", "rate_bp": 10000}
    auth.login("manager1")
    assert len(client.get("/api/v1/commission/rules").get_json()["rules"]) == 3
    for resp in (client.post("/api/v1/commission/rules", json=brand_wide),
                 client.put(f"/api/v1/commission/rules/{rule_id}", json=brand_wide),
                 client.delete(f"/api/v1/commission/rules/{rule_id}")):
        assert resp.status_code == 403 and resp.get_json()["error"] == "没有权限执行此操作"
    with db.Session() as s:
        rules = s.scalars(select(CommissionRule).order_by(CommissionRule.id)).all()
    assert [(r.name, r.rate_bp, r.effective_to) for r in rules] == [
        ("全场 3%", 300, None), ("护肤 5%", 500, None), ("清仓不计", None, None)]


def test_only_head_office_closes_the_brands_month(db, client, auth, brand):
    last_period = brand.last_month.astimezone(CN).strftime("%Y-%m")
    auth.login("manager1")
    refused = client.post("/api/v1/commission/periods", json={"period": last_period})
    assert refused.status_code == 403 and refused.get_json()["error"] == "没有权限执行此操作"
    assert client.get("/api/v1/commission/periods").get_json()["closed"] == []
    auth.login("hq")
    assert client.post("/api/v1/commission/periods", json={"period": last_period}).status_code == 201


def test_statement_csv_neutralises_an_adjustment_reason_that_is_a_formula(client, auth, brand):
    evil = "=1+cmd|' /C calc'!A0"
    auth.login("manager1")
    assert client.post("/api/v1/commission/adjustments", json={
        "clerk_id": brand.clerk1, "amount": "-5.00", "reason": evil}).status_code == 201
    resp = client.get("/api/v1/commission/statement.csv")
    [row] = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert row["explanation"] == "'" + evil and row["amount"] == "-5.00"
    assert client.get("/api/v1/commission/statement").get_json()["lines"][0]["explanation"] == evil


def test_attribution_settings_only_head_office_changes_them(client, auth, brand):
    auth.login("manager1")
    assert client.get("/api/v1/commission/attribution").get_json()["attribution"]["order"][0] == "in_store"
    assert client.put("/api/v1/commission/attribution", json={"order": ["owner"]}).status_code == 403
    auth.login("hq")
    bad = client.put("/api/v1/commission/attribution", json={"order": ["owner", "mind_reading"]})
    assert bad.status_code == 422 and bad.get_json()["fields"] == {"order[1]": "请至少启用一条归属规则，每条只能出现一次"}
    ok = client.put("/api/v1/commission/attribution", json={"order": ["owner", "last_touch"], "last_touch_days": 14})
    assert ok.get_json()["attribution"]["last_touch_days"] == 14


def test_rule_errors_are_sentences_for_the_field_in_the_readers_language(client, auth, brand):
    auth.login("hq")
    body = {"name": "阶梯", "kind": "tier", "tiers": [{"from": "0", "rate_bp": 0}, {"from": "abc", "rate_bp": 20000}]}
    zh = client.post("/api/v1/commission/rules", json=body).get_json()
    assert zh["error"] == "提成规则没有保存，请按提示修改"
    assert zh["fields"] == {"tiers[1].from": "第 2 档：第一档从 ¥0 起，之后每档的销售额门槛须高于上一档",
                            "tiers[1].rate_bp": "第 2 档：提成比例须在 0% 到 100% 之间"}
    en = client.post("/api/v1/commission/rules?lang=en", json={"name": "x", "kind": "percent", "rate_bp": -1}).get_json()
    assert en["fields"] == {"rate_bp": "The rate must be between 0% and 100%, with at most two decimals"}


def test_a_rule_date_without_an_offset_starts_at_midnight_in_the_brands_timezone(client, auth, brand):
    auth.login("hq")
    created = client.post("/api/v1/commission/rules", json={
        "name": "双12 护肤", "kind": "percent", "rate_bp": 350, "effective_from": "2026-12-12T00:00:00"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["effective_from"] == "2026-12-11T16:00:00+00:00"


def test_the_rule_form_offers_kinds_categories_products_and_attribution_rules_by_name(client, auth, brand):
    auth.login("hq")
    choices = client.get("/api/v1/commission/choices").get_json()
    assert [k["label"] for k in choices["kinds"]] == ["按比例", "每单固定", "月度阶梯", "不计提成"]
    assert {"key": "skincare", "label": "护肤"} in choices["categories"]
    assert all(set(p) == {"sku", "name"} for p in choices["products"]) and choices["products"]
    assert [r["key"] for r in choices["attribution_rules"]] == ["in_store", "link", "owner", "last_touch", "split"]
    assert all(r["label"] and r["hint"] for r in choices["attribution_rules"])
    auth.login("clerk1")
    assert client.get("/api/v1/commission/choices").status_code == 403


def test_close_month_and_adjust_through_the_api(app, db, client, auth, brand):
    last_period = brand.last_month.astimezone(CN).strftime("%Y-%m")
    auth.login("hq")
    resp = client.post("/api/v1/commission/periods", json={"period": last_period})
    assert resp.status_code == 201
    assert client.post("/api/v1/commission/periods", json={"period": last_period}).status_code == 409
    auth.login("manager1")
    assert client.get("/api/v1/commission/periods").get_json()["closed"][0]["period"] == last_period
    adj = client.post("/api/v1/commission/adjustments", json={
        "clerk_id": brand.clerk1, "amount": "20.00", "reason": "陈列比赛第一名"})
    assert adj.status_code == 201 and adj.get_json()["amount"] == "20.00"
    bad = client.post("/api/v1/commission/adjustments", json={"clerk_id": brand.far_clerk, "amount": "x"})
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"clerk_id", "amount", "reason"}
    with db.Session() as s:
        event = s.scalar(select(ConsoleEvent).where(ConsoleEvent.room == f"clerk:{brand.clerk1}"))
    assert event.payload["kind"] == "adjusted" and "陈列比赛第一名" in event.payload["message"]
    auth.login("clerk1")
    body = client.get("/api/v1/commission").get_json()
    assert body["adjustments"][0]["reason"] == "陈列比赛第一名"


def test_an_order_posted_by_an_integrator_reaches_the_clerks_ledger(app, db, client, bearer, brand):
    with db.Session() as s:
        store = s.get(Staff, brand.clerk1).store.external_id
        customer = s.get(Customer, brand.customer).external_id
    paid = utcnow().replace(microsecond=0).isoformat()
    resp = client.post("/api/v1/orders", headers=bearer, json=[{
        "external_id": "POS-1", "customer": customer, "store": store, "status": "paid",
        "created_at": paid, "paid_at": paid, "amount": "268.00",
        "items": [{"sku": "CREAM", "quantity": 1, "price": "268.00"}]}])
    assert resp.status_code == 200, resp.get_json()
    with db.Session() as s:
        event = s.scalar(select(ConsoleEvent).where(ConsoleEvent.name == "commission.earned"))
    assert event is not None and event.payload["amount"] == "13.40"
