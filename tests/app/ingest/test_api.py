"""The bulk upsert endpoints: happy path, every kind of bad input, auth, idempotency."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select

from app import hooks
from models import ChannelIdentity, Customer, FollowerBinding, Order, OrderItem, Product, Store
from tests.app.ingest.conftest import order

UTC = dt.timezone.utc


def _count(db, model) -> int:
    with db.Session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_all_four_kinds_land_and_answer_counts(client, bearer, db, brand):
    r = client.post("/api/v1/stores", headers=bearer, json=[
        {"external_id": "S3", "name": "浦东店", "city": "上海", "timezone": "Asia/Shanghai"}])
    assert r.status_code == 200 and r.get_json() == {"accepted": 1, "created": 1, "updated": 0, "rejected": []}
    r = client.post("/api/v1/products", headers=bearer, json=[
        {"sku": "AP-900", "name": "空气炸锅", "category": "appliances", "price": "399.00", "in_stock": False,
         "launched_at": "2026-09-01T00:00:00+08:00"}])
    assert r.get_json()["created"] == 1
    r = client.post("/api/v1/customers", headers=bearer, json=[
        {"external_id": "C9", "name": "王五", "phone": "13800000000", "gender": "女", "birthday": "1995-05-20",
         "address": "上海交通大学", "store": "S3", "clerk": "clerk_li", "channel": "wecom",
         "identities": [{"channel": "wecom", "external_id": "wm_abc"}]}])
    assert r.get_json() == {"accepted": 1, "created": 1, "updated": 0, "rejected": []}
    r = client.post("/api/v1/orders", headers=bearer, json=[order("O9", customer="C9", store="S3")])
    assert r.get_json() == {"accepted": 1, "created": 1, "updated": 0, "rejected": []}

    with db.Session() as s:
        store = s.scalar(select(Store).where(Store.external_id == "S3"))
        product = s.scalar(select(Product).where(Product.sku == "AP-900"))
        assert (product.price_fen, product.in_stock) == (39900, False)
        assert product.launched_at == dt.datetime(2026, 8, 31, 16, tzinfo=UTC)
        c = s.scalar(select(Customer).where(Customer.external_id == "C9"))
        assert (c.gender, c.birthday, c.home_store_id) == ("F", dt.date(1995, 5, 20), store.id)
        binding = s.scalar(select(FollowerBinding).where(FollowerBinding.customer_id == c.id))
        assert (binding.clerk_id, binding.channel, binding.is_owner) == (brand["clerk_id"], "wecom", True)
        assert s.scalar(select(ChannelIdentity.external_id).where(ChannelIdentity.customer_id == c.id)) == "wm_abc"
        o = s.scalar(select(Order).where(Order.external_id == "O9"))
        assert (o.customer_id, o.store_id, o.clerk_id, o.amount_fen) == (c.id, store.id, brand["clerk_id"], 56590)
        # No offset: brand time (Asia/Shanghai), stored as UTC.
        assert o.paid_at == dt.datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
        lines = sorted((i.quantity, i.price_fen) for i in o.items)
        assert lines == [(1, 2990), (2, 26800)]


def test_reposting_the_same_payload_changes_nothing(client, bearer, db, brand):
    customers = [{"external_id": "C1", "name": "张三", "city": "上海", "clerk": "E100"}]
    orders = [order("O1"), order("O2", status="completed", refund_amount="29.90")]
    first = [client.post("/api/v1/customers", headers=bearer, json=customers).get_json(),
             client.post("/api/v1/orders", headers=bearer, json=orders).get_json()]
    assert first[0]["updated"] == 1 and first[1]["created"] == 2
    with db.Session() as s:
        before = sorted(s.execute(select(Order.external_id, Order.status, Order.updated_at, Order.completed_at)).all())
        customer_updated = s.scalar(select(Customer.updated_at).where(Customer.external_id == "C1"))
    again = [client.post("/api/v1/customers", headers=bearer, json=customers).get_json(),
             client.post("/api/v1/orders", headers=bearer, json=orders).get_json()]
    assert again[0] == {"accepted": 1, "created": 0, "updated": 0, "rejected": []}
    assert again[1] == {"accepted": 2, "created": 0, "updated": 0, "rejected": []}
    with db.Session() as s:
        assert sorted(s.execute(select(Order.external_id, Order.status, Order.updated_at, Order.completed_at)).all()) == before
        assert s.scalar(select(Customer.updated_at).where(Customer.external_id == "C1")) == customer_updated
    assert (_count(db, Order), _count(db, OrderItem), _count(db, FollowerBinding)) == (2, 4, 1)


def test_malformed_json_is_400_naming_line_and_column(client, bearer, brand):
    r = client.post("/api/v1/orders", headers={**bearer, "Content-Type": "application/json"},
                    data='[\n{"external_id": "O1",,}]')
    assert r.status_code == 400
    body = r.get_json()
    assert body["error"] and "2" in body["fields"]["body"]


def test_a_body_that_is_not_an_array_is_422(client, bearer, brand):
    r = client.post("/api/v1/orders", headers=bearer, json={"external_id": "O1"})
    assert r.status_code == 422 and "body" in r.get_json()["fields"]


def test_more_than_5000_objects_is_refused_whole(client, bearer, db, brand):
    r = client.post("/api/v1/stores", headers=bearer,
                    json=[{"external_id": f"X{i}", "name": "店"} for i in range(5001)])
    assert r.status_code == 413
    assert "5000" in r.get_json()["error"] and "body" in r.get_json()["fields"]
    assert _count(db, Store) == 2


def test_bad_objects_are_named_and_the_valid_ones_still_land(client, bearer, db, brand):
    r = client.post("/api/v1/orders", headers=bearer, json=[
        order("OK1"),
        order("BAD1", amount=565.9),                              # a number, not a yuan string
        order("BAD2", status="lost"),                             # unknown status
        order("BAD3", customer="C404"),                           # unknown customer
        order("BAD4", items=[{"sku": "NOPE", "quantity": 1, "price": "1.00"}]),  # unknown sku
        order("BAD5", amount="-5.00"),                            # negative
        order("BAD6", store="S404", clerk="nobody"),              # unknown store and clerk
        order("BAD7", items=[{"sku": "SK-001", "quantity": "two", "price": "268.00"}]),
        "not an object",
        order("BAD9", created_at="yesterday", paid_at=None),
        order("OK2", customer="C2"),
    ])
    assert r.status_code == 200
    body = r.get_json()
    assert body["accepted"] == 2
    rejected = {x["index"]: (x["external_id"], x["fields"]) for x in body["rejected"]}
    assert set(rejected) == {1, 2, 3, 4, 5, 6, 7, 8, 9}
    assert rejected[1][0] == "BAD1" and set(rejected[1][1]) == {"amount"}
    assert "created" in rejected[2][1]["status"] and "paid" in rejected[2][1]["status"]
    assert set(rejected[3][1]) == {"customer"}
    assert set(rejected[4][1]) == {"items[0].sku"}
    assert set(rejected[5][1]) == {"amount"}
    assert set(rejected[6][1]) == {"store", "clerk"}
    assert set(rejected[7][1]) == {"items[0].quantity"}
    assert rejected[8] == (None, {"": rejected[8][1][""]})
    assert set(rejected[9][1]) == {"created_at", "paid_at"}
    with db.Session() as s:
        assert sorted(s.scalars(select(Order.external_id))) == ["OK1", "OK2"]


def test_unknown_fields_and_missing_required_fields_are_named(client, bearer, brand):
    r = client.post("/api/v1/customers", headers=bearer, json=[{"external_id": "C5", "nmae": "typo"}])
    fields = r.get_json()["rejected"][0]["fields"]
    assert set(fields) == {"name", "nmae"}


def test_backward_status_change_is_refused(client, bearer, db, brand):
    client.post("/api/v1/orders", headers=bearer, json=[order("O1", status="shipped")])
    r = client.post("/api/v1/orders", headers=bearer, json=[order("O1", status="paid")])
    assert r.get_json()["accepted"] == 0
    assert "shipped" in r.get_json()["rejected"][0]["fields"]["status"]
    with db.Session() as s:
        assert s.scalar(select(Order.status)) == "shipped"


def test_duplicate_external_id_in_one_request_is_rejected(client, bearer, brand):
    r = client.post("/api/v1/stores", headers=bearer, json=[{"external_id": "S7", "name": "a"},
                                                          {"external_id": "S7", "name": "b"}])
    body = r.get_json()
    assert body["accepted"] == 1 and body["rejected"][0]["index"] == 1


def test_integrator_auth_token_or_head_office_session(client, bearer, auth, db, brand):
    payload = [{"external_id": "S8", "name": "店"}]
    assert client.post("/api/v1/stores", json=payload).status_code == 401
    assert client.post("/api/v1/stores", json=payload,
                       headers={"Authorization": "Bearer dg_wrong"}).status_code == 401
    from tests import factories
    with db.transaction() as s:
        factories.staff(s, "hq", username="hq_zhao")
    assert auth.login("clerk_li").status_code == 200
    assert client.post("/api/v1/stores", json=payload).status_code == 403
    auth.logout()
    assert auth.login("hq_zhao").status_code == 200
    assert client.post("/api/v1/stores", json=payload).status_code == 200


def test_customer_clerk_makes_the_owner_and_a_new_clerk_takes_over(client, bearer, db, brand):
    client.post("/api/v1/customers", headers=bearer, json=[{"external_id": "C1", "name": "张三", "clerk": "E100"}])
    r = client.post("/api/v1/customers", headers=bearer,
                    json=[{"external_id": "C1", "name": "张三", "clerk": "clerk_wang", "channel": "wechat-oa"}])
    assert r.get_json()["rejected"] == []
    with db.Session() as s:
        rows = sorted(s.execute(select(FollowerBinding.clerk_id, FollowerBinding.channel, FollowerBinding.is_owner,
                                       FollowerBinding.ended_at)).all())
    assert rows == sorted([(brand["clerk_id"], "in_store", False, None), (brand["other_id"], "wechat-oa", True, None)])


def test_an_identity_of_another_customer_is_refused(client, bearer, db, brand):
    ident = [{"channel": "wechat-oa", "account": "oa1", "external_id": "openid-1"}]
    client.post("/api/v1/customers", headers=bearer, json=[{"external_id": "C1", "name": "张三", "identities": ident}])
    r = client.post("/api/v1/customers", headers=bearer, json=[{"external_id": "C2", "name": "李四", "identities": ident}])
    assert set(r.get_json()["rejected"][0]["fields"]) == {"identities[0]"}
    assert _count(db, ChannelIdentity) == 1


def test_two_customers_claiming_one_identity_in_a_batch_only_the_first_gets_it(client, bearer, db, brand):
    ident = [{"channel": "wecom", "external_id": "wm_shared"}]
    r = client.post("/api/v1/customers", headers=bearer, json=[
        {"external_id": "C1", "name": "张三", "identities": ident},
        {"external_id": "C2", "name": "李四", "identities": ident}])
    body = r.get_json()
    assert body["accepted"] == 1 and body["rejected"][0]["index"] == 1
    with db.Session() as s:
        owner = s.scalar(select(Customer.external_id).join(ChannelIdentity, ChannelIdentity.customer_id == Customer.id))
    assert owner == "C1"


def test_order_recorded_fires_in_the_transaction_with_created_and_changed_orders(app, client, bearer, db, brand):
    seen = []
    hooks.subscribe(app, hooks.ORDER_RECORDED, lambda s, order_ids, customer_ids: seen.append(
        (sorted(s.scalars(select(Order.external_id).where(Order.id.in_(order_ids)))), len(customer_ids))))
    client.post("/api/v1/orders", headers=bearer, json=[order("O1", status="created", paid_at=None),
                                                        order("O2", customer="C2")])
    client.post("/api/v1/orders", headers=bearer, json=[order("O1"), order("O2", customer="C2")])
    client.post("/api/v1/orders", headers=bearer, json=[order("O1"), order("O2", customer="C2")])
    assert seen == [(["O1", "O2"], 2), (["O1"], 1)]


def test_nothing_is_half_written_when_a_subscriber_fails(app, client, bearer, db, brand):
    def fail(session, **_kw):
        raise RuntimeError("commission ledger unavailable")

    hooks.subscribe(app, hooks.ORDER_RECORDED, fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    r = client.post("/api/v1/orders", headers=bearer, json=[order("O1"), order("O2", customer="C2")])
    assert r.status_code == 500
    assert (_count(db, Order), _count(db, OrderItem)) == (0, 0)


def test_body_that_is_not_utf8_is_400(client, bearer, brand):
    r = client.post("/api/v1/stores", headers={**bearer, "Content-Type": "application/json"},
                    data=json.dumps([{"external_id": "S9", "name": "店"}], ensure_ascii=False).encode("gbk"))
    assert r.status_code == 400
