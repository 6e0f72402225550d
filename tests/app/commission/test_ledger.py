"""Attribution and the ledger through the action: rules, refunds, adjustments, closed months,
replays and two workers on one order at once, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import threading

import pytest

from models.base import utcnow
from sqlalchemy import func, select, update

from app import hooks
from app.commission import attribution, periods, rules
from app.commission.ledger import adjust
from app.errors import Conflict, Forbidden, Invalid
from models import (Attribution, CommissionEntry, CommissionPeriod, CommissionRule, ConsoleEvent, Conversation,
                    Direction, FollowerBinding, Message, MessageStatus, Order, Setting, Staff)
from tests.app.commission.conftest import paid_order

UTC = dt.timezone.utc


def process(app, db, *order_ids):
    with app.app_context(), db.transaction() as s:
        return attribution.process_orders(s, order_ids)


def ledger(db, order_id=None):
    with db.Session() as s:
        stmt = select(CommissionEntry.kind, CommissionEntry.clerk_id, CommissionEntry.amount_fen,
                      CommissionEntry.period).order_by(CommissionEntry.id)
        if order_id is not None:
            stmt = stmt.where(CommissionEntry.order_id == order_id)
        return [tuple(r) for r in s.execute(stmt)]


def attributions(db, order_id):
    with db.Session() as s:
        return [(a.clerk_id, a.rule, a.share_bp) for a in s.scalars(
            select(Attribution).where(Attribution.order_id == order_id).order_by(Attribution.share_bp.desc()))]


def set_config(app, db, brand, **value):
    with app.app_context(), db.transaction() as s:
        rules.set_attribution_config(s, s.get(Staff, brand.hq), value)


def message(db, customer_id, clerk_id, at):
    with db.transaction() as s:
        conv = s.scalar(select(Conversation).where(Conversation.customer_id == customer_id,
                                                   Conversation.clerk_id == clerk_id))
        if conv is None:
            conv = Conversation(customer_id=customer_id, clerk_id=clerk_id, unread_count=0)
            s.add(conv)
            s.flush()
        s.add(Message(conversation_id=conv.id, direction=Direction.outbound, channel="loopback", body="hi",
                      sender_id=clerk_id, status=MessageStatus.sent, created_at=at))


def test_owner_clerk_earns_by_category_and_is_told_live(app, db, brand):
    order_id = paid_order(db, brand, items=(("cream", 1), ("tee", 1)))
    counts = process(app, db, order_id)
    assert counts == {"attributed": 1, "earned": 2, "reversed": 0}
    assert attributions(db, order_id) == [(brand.clerk1, "owner", 10000)]
    # 5% of 268.00 under the skincare rule, 3% of 99.00 under the store-wide one.
    assert sorted(e[2] for e in ledger(db, order_id)) == [297, 1340]
    with db.Session() as s:
        event = s.scalar(select(ConsoleEvent).where(ConsoleEvent.room == f"clerk:{brand.clerk1}"))
    assert event.name == "commission.earned"
    assert event.payload["amount"] == "16.37" and event.payload["message"] == "你刚赚了 ¥16.37"


def test_replaying_an_order_event_books_nothing_more(app, db, brand):
    order_id = paid_order(db, brand)
    process(app, db, order_id)
    before = ledger(db)
    assert process(app, db, order_id) == {"attributed": 0, "earned": 0, "reversed": 0}
    assert ledger(db) == before
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(ConsoleEvent)) == 1


def test_in_store_clerk_comes_first_by_default_and_the_order_is_configurable(app, db, brand):
    first = paid_order(db, brand, clerk_id=brand.clerk2)
    process(app, db, first)
    assert attributions(db, first) == [(brand.clerk2, "in_store", 10000)]
    set_config(app, db, brand, order=["owner", "in_store"])
    second = paid_order(db, brand, clerk_id=brand.clerk2)
    process(app, db, second)
    assert attributions(db, second) == [(brand.clerk1, "owner", 10000)]


def test_handover_moves_orders_paid_from_the_handover_on(app, db, brand):
    handover = brand.now - dt.timedelta(days=2)
    with db.transaction() as s:
        old = s.scalar(select(FollowerBinding).where(FollowerBinding.customer_id == brand.customer))
        old.ended_at, old.end_reason = handover, "handover"
        s.add(FollowerBinding(customer_id=brand.customer, clerk_id=brand.clerk2, channel="wecom",
                              is_owner=True, since=handover))
    before = paid_order(db, brand, paid_at=handover - dt.timedelta(hours=1))
    after = paid_order(db, brand, paid_at=handover + dt.timedelta(hours=1))
    process(app, db, before, after)
    assert attributions(db, before) == [(brand.clerk1, "owner", 10000)]
    assert attributions(db, after) == [(brand.clerk2, "owner", 10000)]


def test_last_touch_within_the_window_then_nobody_outside_it(app, db, brand):
    set_config(app, db, brand, order=["last_touch", "owner"], last_touch_days=3)
    message(db, brand.customer, brand.clerk2, brand.now - dt.timedelta(days=2))
    inside = paid_order(db, brand)
    outside = paid_order(db, brand, paid_at=brand.now + dt.timedelta(days=2))  # message now 4 days old
    process(app, db, inside, outside)
    assert attributions(db, inside) == [(brand.clerk2, "last_touch", 10000)]
    assert attributions(db, outside) == [(brand.clerk1, "owner", 10000)]


def test_split_between_owner_and_last_toucher_adds_up_to_the_order(app, db, brand):
    set_config(app, db, brand, order=["split", "owner"], split={"between": ["owner", "last_touch"],
                                                               "first_share_bp": 6000})
    message(db, brand.customer, brand.clerk2, brand.now - dt.timedelta(days=1))
    order_id = paid_order(db, brand, items=(("cream", 1),))
    process(app, db, order_id)
    assert attributions(db, order_id) == [(brand.clerk1, "split", 6000), (brand.clerk2, "split", 4000)]
    by_clerk = {}
    for _, clerk, amount, _ in ledger(db, order_id):
        by_clerk[clerk] = by_clerk.get(clerk, 0) + amount
    assert by_clerk == {brand.clerk1: 804, brand.clerk2: 536}  # 5% of 160.80 and of 107.20
    with db.Session() as s:
        assert s.scalar(select(func.sum(Attribution.sales_fen)).where(Attribution.order_id == order_id)) == 26800


def test_clearance_lines_earn_nothing(app, db, brand):
    order_id = paid_order(db, brand, items=(("clearance", 2),))
    process(app, db, order_id)
    assert attributions(db, order_id) == [(brand.clerk1, "owner", 10000)]
    assert ledger(db, order_id) == []


def test_partial_then_full_refund_reverses_proportionally_and_ends_at_zero(app, db, brand):
    order_id = paid_order(db, brand, items=(("cream", 3),))  # 804.00 → 5% = 40.20
    process(app, db, order_id)
    with db.transaction() as s:
        s.get(Order, order_id).refund_amount_fen = 26800
    process(app, db, order_id)
    assert [e[2] for e in ledger(db, order_id)] == [4020, -1340]
    process(app, db, order_id)  # replay of the partial refund
    with db.transaction() as s:
        o = s.get(Order, order_id)
        o.refund_amount_fen, o.status, o.refunded_at = 80400, "refunded", brand.now
    process(app, db, order_id)
    assert [e[0] for e in ledger(db, order_id)] == ["earned", "reversed", "reversed"]
    assert sum(e[2] for e in ledger(db, order_id)) == 0


def test_cancelling_a_paid_order_reverses_all_of_it(app, db, brand):
    order_id = paid_order(db, brand)
    process(app, db, order_id)
    with db.transaction() as s:
        o = s.get(Order, order_id)
        o.status, o.cancelled_at = "cancelled", brand.now
    process(app, db, order_id)
    assert sum(e[2] for e in ledger(db, order_id)) == 0


def test_unpaid_orders_are_not_attributed(app, db, brand):
    order_id = paid_order(db, brand, status="created")
    assert process(app, db, order_id)["attributed"] == 0


def test_a_rule_change_reaches_only_later_orders(app, db, brand):
    early = paid_order(db, brand, paid_at=brand.now - dt.timedelta(hours=2))
    process(app, db, early)
    with app.app_context(), db.transaction() as s:
        rule_id = s.scalar(select(CommissionRule.id).where(CommissionRule.name == "护肤 5%"))
        new_id = rules.replace_rule(s, s.get(Staff, brand.hq), rule_id, {
            "name": "护肤 8%", "kind": "percent", "category": "skincare", "rate_bp": 800}).id
    late = paid_order(db, brand, paid_at=utcnow() + dt.timedelta(seconds=1))
    process(app, db, late)
    assert [e[2] for e in ledger(db, early)] == [1340]
    assert [e[2] for e in ledger(db, late)] == [2144]
    with app.app_context(), db.transaction() as s, pytest.raises(Conflict):
        rules.replace_rule(s, s.get(Staff, brand.hq), rule_id, {"name": "x", "kind": "percent", "rate_bp": 1})
    with app.app_context(), db.transaction() as s, pytest.raises(Invalid) as err:
        rules.replace_rule(s, s.get(Staff, brand.hq), new_id, {
            "name": "x", "kind": "percent", "rate_bp": 1, "effective_from": brand.last_month.isoformat()})
    assert list(err.value.fields) == ["effective_from"]


def test_manager_adjustment_is_booked_once_with_its_reason(app, db, brand):
    with app.app_context(), db.transaction() as s:
        manager = s.get(Staff, brand.manager)
        e1 = adjust(s, manager, clerk_id=brand.clerk1, amount="-5.00", reason="退货漏登记",
                            idempotency_key="adj-000001")
        e2 = adjust(s, manager, clerk_id=brand.clerk1, amount="-5.00", reason="退货漏登记",
                            idempotency_key="adj-000001")
        assert e1.id == e2.id
        with pytest.raises(Invalid) as err:
            adjust(s, manager, clerk_id=brand.far_clerk, amount="0", reason="")
        assert set(err.value.fields) == {"clerk_id", "amount", "reason"}
    assert [(e[0], e[2]) for e in ledger(db)] == [("adjusted", -500)]


def test_a_closed_month_takes_no_more_lines(app, db, brand):
    paid_last_month = brand.last_month + dt.timedelta(days=3)
    with app.app_context(), db.transaction() as s:
        closed = periods.close_period(s, s.get(Staff, brand.hq),
                                      brand.last_month.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m"))
    this_period = brand.this_month.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m")
    order_id = paid_order(db, brand, paid_at=paid_last_month)  # arrives late
    process(app, db, order_id)
    assert {e[3] for e in ledger(db, order_id)} == {this_period}
    with db.Session() as s:
        assert s.scalar(select(Attribution.period).where(Attribution.order_id == order_id)) == closed.period
    with app.app_context(), db.transaction() as s, pytest.raises(Conflict):
        periods.close_period(s, s.get(Staff, brand.hq), closed.period)
    with app.app_context(), db.transaction() as s, pytest.raises(Invalid):
        periods.close_period(s, s.get(Staff, brand.hq), this_period)


@pytest.mark.parametrize("change", ["create_rule", "replace_rule", "end_rule", "close_period", "attribution"])
def test_a_store_manager_cannot_change_brand_wide_commission_settings(app, db, brand, change):
    last_period = brand.last_month.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m")
    brand_wide = {"name": "全场 100%", "kind": "percent", "rate_bp": 10000}
    with app.app_context(), db.transaction() as s, pytest.raises(Forbidden) as err:
        manager = s.get(Staff, brand.manager)
        rule_id = s.scalar(select(CommissionRule.id).where(CommissionRule.name == "全场 3%"))
        {"create_rule": lambda: rules.create_rule(s, manager, brand_wide),
         "replace_rule": lambda: rules.replace_rule(s, manager, rule_id, brand_wide),
         "end_rule": lambda: rules.end_rule(s, manager, rule_id),
         "close_period": lambda: periods.close_period(s, manager, last_period),
         "attribution": lambda: rules.set_attribution_config(s, manager, {"order": ["owner"]}),
         }[change]()
    assert err.value.status == 403 and err.value.fields == {"role": "仅限总部操作"}
    with db.Session() as s:
        assert [(r.name, r.effective_to) for r in s.scalars(select(CommissionRule).order_by(
            CommissionRule.id))] == [("全场 3%", None), ("护肤 5%", None), ("清仓不计", None)]
        assert s.scalar(select(func.count()).select_from(CommissionPeriod)) == 0
        assert s.get(Setting, rules.SETTING_KEY) is None


def test_ledger_entries_cannot_be_edited_in_place(app, db, brand):
    process(app, db, paid_order(db, brand))
    with pytest.raises(Exception, match="append-only"):
        with db.transaction() as s:
            s.execute(update(CommissionEntry).values(amount_fen=1))


def test_order_recorded_hook_attributes_inside_the_recording_transaction(app, db, brand):
    order_id = paid_order(db, brand)
    with app.app_context(), db.transaction() as s:
        hooks.fire(s, hooks.ORDER_RECORDED, order_ids=[order_id], customer_ids=[brand.customer])
    assert attributions(db, order_id) == [(brand.clerk1, "owner", 10000)]


@pytest.mark.parametrize("event", ["paid", "refund"])
def test_two_workers_on_the_same_order_event_book_it_once(app, db, brand, event):
    order_id = paid_order(db, brand, items=(("cream", 3),))
    if event == "refund":
        process(app, db, order_id)
        with db.transaction() as s:
            s.get(Order, order_id).refund_amount_fen = 26800
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                with db.transaction() as s:
                    attribution.process_orders(s, [order_id])
        except Exception as exc:  # surfaced below: the test fails on any worker error
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    expected = [4020] if event == "paid" else [4020, -1340]
    assert [e[2] for e in ledger(db, order_id)] == expected
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Attribution)) == 1
