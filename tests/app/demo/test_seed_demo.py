"""The demo brand: deterministic, consistent, and realistic enough to demo every screen."""
from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections import defaultdict

import pytest
from sqlalchemy import func, select

from app.db import Database
from app.demo import DemoNotEmpty, generate_demo
from app.demo.generate import fill_paid_aggregates
from models import (ChannelIdentity, Conversation, Customer, FollowerBinding, Message, Order,
                    OrderItem, Product, Staff, Store)
from models.commerce import PAID_STATUSES

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 22, 6, tzinfo=UTC)
SIZE = 200
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def demo(db):
    generate_demo(db, customers=SIZE, seed=7, now=NOW)
    return db


def checksum(database: Database) -> str:
    """A digest of the key rows, read back through the models (so types round-trip too)."""
    digest = hashlib.sha256()
    with database.Session() as s:
        for row in s.execute(select(Customer.id, Customer.name, Customer.phone, Customer.birthday,
                                    Customer.address, Customer.created_at, Customer.total_spent_fen,
                                    Customer.last_paid_at).order_by(Customer.id)):
            digest.update(repr(tuple(row)).encode())
        for row in s.execute(select(Order.id, Order.customer_id, Order.status, Order.amount_fen,
                                    Order.refund_amount_fen, Order.created_at, Order.paid_at,
                                    Order.completed_at).order_by(Order.id)):
            digest.update(repr(tuple(row)).encode())
        for row in s.execute(select(OrderItem.order_id, OrderItem.product_id, OrderItem.quantity,
                                    OrderItem.price_fen).order_by(OrderItem.id)):
            digest.update(repr(tuple(row)).encode())
        for row in s.execute(select(FollowerBinding.customer_id, FollowerBinding.clerk_id,
                                    FollowerBinding.channel).order_by(FollowerBinding.id)):
            digest.update(repr(tuple(row)).encode())
        for row in s.execute(select(Message.conversation_id, Message.body, Message.created_at).order_by(Message.id)):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def fresh_sqlite(sqlite_template: str, tmp_path, name: str) -> Database:
    path = tmp_path / f"{name}.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return Database(f"sqlite:///{path}")


def test_same_seed_gives_the_same_brand_on_either_database(demo, sqlite_template, tmp_path):
    other = fresh_sqlite(sqlite_template, tmp_path, "again")
    different = fresh_sqlite(sqlite_template, tmp_path, "different")
    try:
        generate_demo(other, customers=SIZE, seed=7, now=NOW)
        generate_demo(different, customers=SIZE, seed=8, now=NOW)
        assert checksum(other) == checksum(demo)
        assert checksum(different) != checksum(demo)
    finally:
        other.dispose()
        different.dispose()


def test_demo_logins_work_with_password_demo(demo, auth, client):
    for username, role in (("clerk1", "clerk"), ("manager1", "manager"), ("hq", "hq")):
        assert auth.login(username).status_code == 200
        me = client.get("/api/v1/me").get_json()["me"]
        assert me["role"] == role
        auth.logout()
    assert auth.login("clerk1", "wrong").status_code != 200
    with demo.Session() as s:
        clerk1 = s.scalar(select(Staff).where(Staff.username == "clerk1"))
        manager1 = s.scalar(select(Staff).where(Staff.username == "manager1"))
        assert clerk1.store_id == manager1.store_id == s.scalar(select(Store.id).where(Store.external_id == "DEMO-S01"))
        assert s.scalar(select(func.count()).select_from(Store)) == 10
        assert s.scalar(select(func.count()).where(Staff.role == "clerk")) == 60
        # The password is hashed once and shared by every demo login.
        assert s.scalar(select(func.count(func.distinct(Staff.password_hash)))) == 1


def test_every_customer_has_one_owner_and_a_loopback_identity(demo):
    with demo.Session() as s:
        owners = s.execute(select(FollowerBinding.customer_id, func.count()).where(
            FollowerBinding.is_owner.is_(True), FollowerBinding.ended_at.is_(None))
            .group_by(FollowerBinding.customer_id)).all()
        assert len(owners) == SIZE and {n for _, n in owners} == {1}
        owner_roles = set(s.scalars(select(Staff.role).join(FollowerBinding, FollowerBinding.clerk_id == Staff.id)))
        assert owner_roles == {"clerk"}
        loopback = s.scalar(select(func.count(func.distinct(ChannelIdentity.customer_id))).where(
            ChannelIdentity.channel == "loopback"))
        assert loopback == SIZE
        channels = set(s.scalars(select(FollowerBinding.channel)))
        assert {"loopback", "wecom", "wechat-oa"} <= channels


def test_order_amounts_are_the_sum_of_their_items_and_times_move_forward(demo):
    with demo.Session() as s:
        sums = dict(s.execute(select(OrderItem.order_id, func.sum(OrderItem.quantity * OrderItem.price_fen))
                              .group_by(OrderItem.order_id)).all())
        orders = s.scalars(select(Order)).all()
    assert len(orders) > SIZE * 4
    statuses = defaultdict(int)
    for o in orders:
        statuses[o.status.value] += 1
        assert sums[o.id] == o.amount_fen > 0
        assert 0 <= o.refund_amount_fen <= o.amount_fen
        chain = [t for t in (o.created_at, o.paid_at, o.shipped_at, o.delivered_at, o.completed_at) if t]
        assert chain == sorted(chain) and chain[-1] <= NOW
        assert all(t.tzinfo is not None for t in chain)
        if o.status.value in PAID_STATUSES:
            assert o.paid_at is not None
        if o.status.value == "created":
            assert o.paid_at is None and NOW - o.created_at < dt.timedelta(days=2)
        if o.status.value == "cancelled":
            assert o.cancelled_at is not None and o.paid_at is None
        if o.status.value == "refunded":
            assert o.refund_amount_fen == o.amount_fen and o.refunded_at >= o.paid_at
        if 0 < o.refund_amount_fen < o.amount_fen:
            assert o.status.value in PAID_STATUSES and o.refunded_at is not None
    assert {"created", "paid", "shipped", "delivered", "completed", "cancelled", "refunded"} <= set(statuses)
    assert any(0 < o.refund_amount_fen < o.amount_fen for o in orders)  # partial refunds too


def test_history_has_a_double11_spike_dormant_customers_and_unpaid_orders(demo):
    with demo.Session() as s:
        created = s.scalars(select(Order.created_at)).all()
        unpaid = s.scalars(select(Order.amount_fen).where(Order.status == "created")).all()
        last_orders = s.execute(
            select(Customer.id, Customer.last_paid_at, Product.usage_days, OrderItem.quantity)
            .join(Order, (Order.customer_id == Customer.id) & (Order.paid_at == Customer.last_paid_at))
            .join(OrderItem, OrderItem.order_id == Order.id).join(Product, Product.id == OrderItem.product_id)
            .where(Product.usage_days.is_not(None))).all()
    per_day = defaultdict(int)
    for t in created:
        per_day[t.astimezone(SHANGHAI).date()] += 1
    typical = sorted(per_day.values())[len(per_day) // 2]
    double11 = per_day[dt.date(2025, 11, 10)] + per_day[dt.date(2025, 11, 11)]
    assert double11 > 10 * typical
    assert max(per_day, key=per_day.get).strftime("%m-%d") in ("11-10", "11-11")
    # 休眠: the last consumable ran out (usage_days × quantity) well before now.
    dormant = {c for c, last, usage, qty in last_orders if (NOW - last).days >= 1.5 * usage * qty}
    assert len(dormant) >= SIZE // 20
    assert any(amount >= 10_000 for amount in unpaid)


def test_customers_look_like_a_chinese_member_base(demo):
    with demo.Session() as s:
        customers = s.scalars(select(Customer)).all()
        products = s.scalars(select(Product)).all()
        first_sale = dict(s.execute(select(OrderItem.product_id, func.min(Order.created_at))
                                    .join(Order, Order.id == OrderItem.order_id).group_by(OrderItem.product_id)).all())
    campus = [c for c in customers if any(w in c.address for w in ("学校", "大学", "学院", "中学"))]
    assert len(campus) >= SIZE // 50
    assert all(c.phone and len(c.phone) == 11 and c.phone.startswith("1") for c in customers)
    assert len({c.phone for c in customers}) == SIZE
    assert {c.gender for c in customers} >= {"F", "M"}
    today = NOW.astimezone(SHANGHAI).date()
    assert any(c.birthday and c.birthday.month == today.month for c in customers)
    assert len({c.province for c in customers}) >= 8
    assert len({c.member_level for c in customers}) >= 3
    assert 80 <= len(products) <= 150
    assert {p.category for p in products} == {"skincare", "snacks", "apparel", "appliances"}
    assert all((p.usage_days is None) == (p.category in ("apparel", "appliances")) for p in products)
    assert any(not p.in_stock for p in products)
    recent = [p for p in products if NOW - p.launched_at < dt.timedelta(days=30)]
    assert recent
    assert all(first_sale[p.id] >= p.launched_at for p in recent if p.id in first_sale)


def test_clerk1_has_a_realistic_book_at_2000_customers():
    import numpy as np

    from app.demo.brand import Brand
    from app.demo.columns import Ids, to_us
    from app.demo.orders import generate_chunk

    now_us = to_us(NOW)
    brand = Brand.build(1, now_us)
    chunk = generate_chunk(np.random.default_rng([1, 1, 0]), brand, 2000, Ids(), now_us)
    clerk1 = brand.clerk_ids[0, 0]
    assert 100 <= int((chunk.owner_clerk == clerk1).sum()) <= 300


def test_derived_columns_match_the_orders(demo):
    with demo.Session() as s:
        paid = s.execute(select(Order.customer_id, Order.amount_fen - Order.refund_amount_fen, Order.paid_at)
                         .where(Order.status.in_(sorted(PAID_STATUSES)), Order.refund_amount_fen < Order.amount_fen)).all()
        customers = {c.id: c for c in s.scalars(select(Customer))}
    expected: dict[int, list] = {}
    for customer_id, spent, paid_at in paid:
        e = expected.setdefault(customer_id, [0, 0, paid_at, paid_at])
        e[0] += 1
        e[1] += spent
        e[2], e[3] = min(e[2], paid_at), max(e[3], paid_at)
    for customer_id, c in customers.items():
        n, spent, first, last = expected.get(customer_id, [0, 0, None, None])
        assert (c.paid_orders, c.total_spent_fen, c.first_paid_at, c.last_paid_at) == (n, spent, first, last)
    assert sum(1 for c in customers.values() if c.paid_orders == 0) > 0  # prospects exist
    # The tag rules ran over the seeded brand: every customer has a lifecycle stage.
    assert {c.stage.value for c in customers.values()} >= {"prospect", "new", "repeat", "dormant"}
    with demo.transaction() as s:  # idempotent
        fill_paid_aggregates(s)


def test_clerk1_conversations_agree_with_their_messages(demo):
    with demo.Session() as s:
        clerk1 = s.scalar(select(Staff.id).where(Staff.username == "clerk1"))
        convs = s.scalars(select(Conversation).where(Conversation.clerk_id == clerk1)).all()
        assert len(convs) >= 10
        assert any(c.unread_count > 0 for c in convs)
        for conv in convs:
            messages = s.scalars(select(Message).where(Message.conversation_id == conv.id).order_by(Message.id)).all()
            assert messages and [m.created_at for m in messages] == sorted(m.created_at for m in messages)
            last = messages[-1]
            assert conv.last_message_at == last.created_at <= NOW
            assert conv.last_message_preview == last.body[:60]
            trailing_inbound = 0
            for m in reversed(messages):
                if m.direction.value != "in":
                    break
                trailing_inbound += 1
            assert conv.unread_count == trailing_inbound
            inbound = [m.created_at for m in messages if m.direction.value == "in"]
            outbound = [m for m in messages if m.direction.value == "out"]
            assert conv.last_inbound_at == (max(inbound) if inbound else None)
            assert all(m.sender_id == clerk1 for m in outbound)
            customer = s.get(Customer, conv.customer_id)
            assert customer.last_inbound_at == conv.last_inbound_at
            assert customer.last_contacted_at == (max(m.created_at for m in outbound) if outbound else None)
            assert s.scalar(select(FollowerBinding.clerk_id).where(
                FollowerBinding.customer_id == conv.customer_id, FollowerBinding.is_owner.is_(True))) == clerk1


def test_clerk1_can_send_to_a_demo_follower_end_to_end(app, demo):
    from app.messaging.actions import send_message

    with demo.Session() as s:
        clerk1 = s.scalar(select(Staff.id).where(Staff.username == "clerk1"))
        customer_id = s.scalar(select(Conversation.customer_id).where(Conversation.clerk_id == clerk1).limit(1))
    with app.app_context(), demo.transaction() as s:
        msg, _ = send_message(s, clerk_id=clerk1, customer_id=customer_id, body="您好,新品到了")
        msg_id = msg.id
    with demo.Session() as s:
        assert s.get(Message, msg_id).status.value in ("sent", "delivered")


def test_seeding_refuses_a_database_that_has_data(demo):
    with pytest.raises(DemoNotEmpty):
        generate_demo(demo, customers=10, seed=1, now=NOW)


def test_a_brand_with_only_its_own_head_office_login_is_not_empty(db):
    from tests import factories

    with db.transaction() as s:
        factories.staff(s, role="hq", username="ops")
    with pytest.raises(DemoNotEmpty):
        generate_demo(db, customers=10, seed=1, now=NOW)
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Staff)) == 1


def test_seed_demo_command_seeds_once_and_if_empty_skips(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--customers", "40", "--seed", "3", "--now", "2026-11-22T06:00:00+00:00"])
    assert first.exit_code == 0, first.output
    assert "40 customers" in first.output
    skipped = runner.invoke(args=["seed-demo", "--if-empty"])
    assert skipped.exit_code == 0 and "not seeding" in skipped.output
    refused = runner.invoke(args=["seed-demo"])
    assert refused.exit_code == 1 and "not seeding" in refused.output
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 40
    bad = runner.invoke(args=["seed-demo", "--now", "yesterday"])
    assert bad.exit_code == 2 and "--now" in bad.output


def test_sqlite_seed_leaves_foreign_keys_intact_and_enforced(demo):
    if demo.dialect != "sqlite":
        pytest.skip("SQLite pragma")
    with demo.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_rows_added_after_the_seed_get_fresh_ids(demo):
    from tests import factories

    with demo.transaction() as s:
        store = factories.store(s)
        customer = factories.customer(s)
        product = factories.product(s)
        order = factories.order(s, customer, items=[(product, 1)])
    assert store.id > 10 and customer.id > SIZE and order.id > 0 and order.items[0].id > 0
