"""The ranker's reasons take every purchase fact from the customer's own columns when shown."""
from __future__ import annotations

import datetime as dt

from assistant.lifecycle import REPEAT_MIN_PAID_ORDERS, days_since, is_repeat
from assistant.reasons import PurchaseFacts, current_reasons
from tests.timing import SHANGHAI

NOW = dt.datetime(2026, 11, 18, 10, 30, tzinfo=SHANGHAI)
SCORED = NOW - dt.timedelta(days=2)  # last night's batch was two days ago


def facts(paid_orders=3, last_days_ago=21):
    last = NOW - dt.timedelta(days=last_days_ago) if last_days_ago is not None else None
    return PurchaseFacts.of(paid_orders, last, NOW, SHANGHAI)


def one(reason, f=None, scored_at=SCORED):
    return current_reasons([reason], f or facts(), scored_at)


def test_a_repeat_customer_has_two_paid_orders_or_more():
    assert REPEAT_MIN_PAID_ORDERS == 2
    assert not is_repeat(1) and is_repeat(2) and is_repeat(7)


def test_days_are_calendar_days_in_the_brands_timezone():
    late_evening_utc = dt.datetime(2026, 11, 17, 17, 0, tzinfo=dt.timezone.utc)  # 01:00 on the 18th in Shanghai
    assert days_since(late_evening_utc, NOW.date(), SHANGHAI) == 0
    assert days_since(None, NOW.date(), SHANGHAI) is None


def test_every_last_purchase_reason_quotes_the_one_last_purchase():
    stale = [{"code": "recent_buyer", "params": {"days": 19}}, {"code": "due_by_habit", "params": {"every": 20, "days": 19}},
             {"code": "dormant_vip", "params": {"days": 90}}]
    assert [r["params"]["days"] for r in current_reasons(stale, facts(last_days_ago=21), SCORED)] == [21, 21, 21]


def test_a_recent_buyer_who_stopped_buying_reads_as_lapsed():
    assert one({"code": "recent_buyer", "params": {"days": 44}}, facts(last_days_ago=50))[0]["code"] == "lapsed"


def test_one_paid_order_is_never_called_a_repeat_customer():
    loyal = {"code": "loyal", "params": {"orders": 1, "amount": "99"}}
    assert one(loyal, facts(paid_orders=1))[0] == {"code": "bought_once", "params": {"orders": 1, "amount": "99"}}
    assert one(loyal, facts(paid_orders=4))[0]["code"] == "loyal" and one(loyal, facts(paid_orders=4))[0]["params"]["orders"] == 4
    assert one(loyal, facts(paid_orders=0)) == []  # refunded since the score: nothing to say


def test_a_cycle_of_the_last_purchase_says_last_purchase_with_todays_days():
    reason = {"code": "cycle_due", "params": {"quantity": 2, "usage_days": 10, "days": 16, "gap": 0}}
    shown = one(reason, facts(last_days_ago=18))[0]
    assert shown["code"] == "cycle_due" and shown["params"]["days"] == 18


def test_a_cycle_of_an_earlier_purchase_is_not_called_the_last_purchase():
    # scored 2 days ago: the skincare was bought 39 days before, the customer's last purchase 19 days before
    reason = {"code": "cycle_due", "params": {"quantity": 2, "usage_days": 20, "days": 39, "gap": 20}}
    shown = one(reason, facts(last_days_ago=21))[0]
    assert shown["code"] == "cycle_overdue_earlier" and shown["params"]["days"] == 41 and shown["params"]["over"] == 1


def test_a_purchase_after_the_score_makes_the_cycle_an_earlier_one():
    reason = {"code": "cycle_due", "params": {"quantity": 1, "usage_days": 30, "days": 25, "gap": 0}}
    shown = one(reason, facts(last_days_ago=0))[0]  # bought again this morning
    assert (shown["code"], shown["params"]["days"]) == ("cycle_due_earlier", 27)  # 3 of 30 days left


def test_a_cycle_far_from_its_end_says_when_instead_of_soon():
    reason = {"code": "cycle_due", "params": {"quantity": 1, "usage_days": 60, "days": 36, "gap": 0}}
    shown = one(reason, facts(last_days_ago=38))[0]
    assert shown["code"] == "cycle_ahead" and shown["params"]["left"] == 22


def test_reasons_stored_before_the_gap_read_as_they_always_did():
    reason = {"code": "cycle_due", "params": {"quantity": 2, "usage_days": 10, "days": 18}}
    assert one(reason)[0] == reason
    assert current_reasons([reason], None) == [reason]


def test_a_loyal_customers_count_and_total_are_todays():
    loyal = {"code": "loyal", "params": {"orders": 3, "amount": "900"}}
    today = PurchaseFacts.of(4, NOW - dt.timedelta(days=1), NOW, SHANGHAI, total_spent_fen=123_456)
    assert one(loyal, today)[0]["params"] == {"orders": 4, "amount": "1235"}
