"""Prices as Chinese sentences write them, read as fen; counts, measures and dates are not prices."""
from __future__ import annotations

from decimal import Decimal

import pytest

from assistant.price_mentions import chinese_number, price_mentions


@pytest.mark.parametrize("text, fen", [
    ("9.9", 990), ("今天只要9.9", 990), ("今天9块9", 990), ("九块九", 990), ("99元", 9900), ("¥99", 9900),
    ("￥99", 9900), ("99块", 9900), ("99块钱包邮", 9900), ("9.9包邮", 990), ("9元9角", 990), ("12块5", 1250),
    ("一百二十九元", 12900), ("只要九十九", 9900), ("到手价199", 19900), ("才99", 9900), ("RMB 59", 5900),
    ("１２９元", 12900), ("1万元", 1_000_000), ("99元3件", 9900), ("¥129.00", 12900),
])
def test_each_way_of_writing_a_price_is_read(text, fen):
    assert [m.fen for m in price_mentions(text)] == [fen]


@pytest.mark.parametrize("text", [
    "3块香皂", "我们一块去", "双11.11大促", "2件×10天", "SPF50+ 50ml", "1.5L", "4.5分好评", "只要3天就到",
    "有事打13912345678", "10点前下单", "满300减50券",
])
def test_counts_measures_and_dates_are_not_prices(text):
    assert price_mentions(text) == []


def test_one_price_written_two_ways_at_once_counts_once():
    assert [(m.text, m.fen) for m in price_mentions("面膜只要¥99！")] == [("¥99", 9900)]


def test_chinese_numerals():
    assert [chinese_number(t) for t in ("九", "十", "九十九", "一百零五", "两百", "一百二", "九点九")] == [
        9, 10, 99, 105, 200, 120, Decimal("9.9")]
