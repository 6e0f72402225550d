"""The tag rules row by row, for the handful of customers one event touches.

``assistant.tags.compute_tags`` runs the rules over whole pandas columns, which is what a million
customers need but costs a few hundred microseconds per operation — too slow for the 20 ms an
order event may spend retagging its customer. This module applies the *same* rules to plain
Python values. The two must agree exactly: ``tests/assistant/test_tags.py`` retags one brand both
ways and compares every tag, reason and derived column.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from assistant.categories import category_label
from assistant.lifecycle import days_since, is_repeat
from assistant.tag_facts import Facts, TagResult
from assistant.tag_rules import TagRules
from assistant.tag_vocabulary import LONG_PROVINCES, PROVINCES, birthday_offsets
from models.money import yuan

Add = Callable[[str, str], None]


@dataclass
class _Book:
    """The facts indexed by customer, and what every customer's rules share."""

    rules: TagRules
    today: dt.date
    tz: ZoneInfo
    high_value_min_fen: int
    orders: dict[int, Any]
    cycles: dict[int, tuple]
    spend_by_cat: dict[int, list[tuple[int, str]]]
    totals: dict[int, list[int]]
    followed: dict[int, Any]
    birthdays: dict[int, int]
    campus: re.Pattern


@dataclass
class _Customer:
    """One customer's figures as the rules read them."""

    paid: int
    spent: int
    unpaid: Any
    since: int | None
    reply: int | None
    cycle_days: int | None
    cycle_qty: int | None
    cycle_usage: Any
    cycle_txt: str
    since_s: str
    main: str | None


_SHORT_PROVINCES = set(PROVINCES) - LONG_PROVINCES


def _region(text: str | None) -> str | None:
    text = (text or "").strip()
    if text[:3] in LONG_PROVINCES:
        return text[:3]
    if text[:2] in _SHORT_PROVINCES:
        return text[:2]
    return None


def compute_few(facts: Facts, rules: TagRules, now: dt.datetime, tz: ZoneInfo, high_value_min_fen: int) -> TagResult:
    """Same contract as ``assistant.tags.compute_tags`` (a ``TagResult``), row by row."""
    book = _index(facts, rules, now.astimezone(tz).date(), tz, high_value_min_fen)
    derived, tags = [], []
    for cid, birthday, address, province, last_inbound_at in facts.customer_rows:
        o = book.orders.get(cid)
        first_paid, last_paid = (o[3], o[4]) if o else (None, None)
        c = _figures(book, cid, o, last_paid, last_inbound_at)
        stage, reason = _stage(rules, c)
        derived.append((cid, stage, c.paid, c.spent, first_paid, last_paid))
        tags.append((cid, f"stage:{stage}", reason))

        def add(name: str, why: str) -> None:
            tags.append((cid, name, why))

        _buying_tags(book, c, add)
        _address_tags(book, birthday, address, add)
        _spend_tags(book, cid, c, add)
        _contact_tags(book, cid, c, address, province, add)

    frame = pd.DataFrame.from_records(derived, columns=["id", "stage", "paid_orders", "total_spent_fen",
                                                        "first_paid_at", "last_paid_at"]).set_index("id")
    return TagResult(derived=frame, tags=pd.DataFrame.from_records(tags, columns=["customer_id", "name", "reason"]))


def _index(facts: Facts, rules: TagRules, today: dt.date, tz: ZoneInfo, high_value_min_fen: int) -> _Book:
    cycles: dict[int, tuple] = {}
    for cid, qty, usage, category in facts.last_item_rows:
        qty = max(int(qty), 1)
        category = category or ""
        days = int(usage) * qty if usage is not None else rules.dormant_days_for(category)
        key = (days, qty, category)
        if cid not in cycles or key >= cycles[cid][0]:
            cycles[cid] = (key, usage)
    spend_by_cat: dict[int, list[tuple[int, str]]] = defaultdict(list)
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for cid, category, spend, qty in facts.category_rows:
        spend_by_cat[cid].append((int(spend), category or ""))
        totals[cid][0] += int(spend)
        totals[cid][1] += int(qty)
    return _Book(rules=rules, today=today, tz=tz, high_value_min_fen=high_value_min_fen,
                 orders={r[0]: r for r in facts.order_rows}, cycles=cycles, spend_by_cat=spend_by_cat,
                 totals=totals, followed={cid: since for cid, since in facts.followed_rows},
                 birthdays=birthday_offsets(today, rules.birthday_within_days),
                 campus=re.compile("(" + "|".join(re.escape(w) for w in rules.campus_words) + ")"))


def _figures(book: _Book, cid: int, o: Any, last_paid: Any, last_inbound_at: Any) -> _Customer:
    rules = book.rules
    paid = int(o[1]) if o else 0
    since = days_since(last_paid, book.today, book.tz)
    cycle = book.cycles.get(cid)
    if cycle:
        (cycle_days, cycle_qty, cycle_cat), cycle_usage = cycle
    else:
        cycle_days = rules.dormant_default_days if paid else None
        cycle_qty, cycle_cat, cycle_usage = None, "", None
    cycle_txt = (f"{cycle_qty or 1} 件 × {int(cycle_usage)} 天" if cycle_usage is not None
                 else (f"{category_label(cycle_cat)} 品类" if cycle_cat else "") + f"默认 {cycle_days or 0} 天")
    return _Customer(paid=paid, spent=int(o[2]) if o else 0, unpaid=o[5] if o else None, since=since,
                     reply=days_since(last_inbound_at, book.today, book.tz), cycle_days=cycle_days,
                     cycle_qty=cycle_qty, cycle_usage=cycle_usage, cycle_txt=cycle_txt, since_s=str(since or 0),
                     main=max(book.spend_by_cat[cid])[1] if book.spend_by_cat.get(cid) else None)


def _stage(rules: TagRules, c: _Customer) -> tuple[str, str]:
    """The lifecycle stage and why."""
    if c.paid == 0:
        unpaid = c.unpaid
        return "prospect", (f"未有成功付款，有未付款订单 ¥{yuan(int(unpaid))}" if unpaid and unpaid > 0
                            else "未有成功付款")
    if c.since is not None and c.cycle_days is not None and c.since >= c.cycle_days:
        return "dormant", f"{c.cycle_txt}，上次购买 {c.since_s} 天前"
    if (is_repeat(c.paid) and c.paid >= rules.fan_min_paid_orders and c.reply is not None
            and c.reply <= rules.fan_replied_within_days):
        return "fan", f"已付款 {c.paid} 单，{c.reply} 天前回复过消息"
    if is_repeat(c.paid):
        return "repeat", f"已付款 {c.paid} 单，上次购买 {c.since_s} 天前"
    return "new", f"已付款 1 单，{c.cycle_txt}，上次购买 {c.since_s} 天前"


def _buying_tags(book: _Book, c: _Customer, add: Add) -> None:
    """RFM band, replenishment due, unpaid order."""
    rules, since_s = book.rules, c.since_s
    if c.paid > 0:
        band_rule = rules.rfm_for(c.main) if c.main is not None else rules.rfm_default
        if c.since <= band_rule.active_days:
            band, rule_txt = "active", f"活跃 ≤ {band_rule.active_days} 天"
        elif c.since > band_rule.lost_days:
            band, rule_txt = "lost", f"流失 > {band_rule.lost_days} 天"
        else:
            band, rule_txt = "sleeping", f"沉睡 {band_rule.active_days}–{band_rule.lost_days} 天"
        add(f"rfm:{band}", f"{category_label(c.main) if c.main is not None else '全部'}：上次购买 {since_s} 天前（{rule_txt}），"
                           f"已付款 {c.paid} 单，¥{yuan(c.spent)}")
        if c.cycle_usage is not None:
            remaining = c.cycle_days - c.since
            if 1 <= remaining <= rules.replenish_within_days:
                add("replenish_due", f"{c.cycle_qty} 件 × {int(c.cycle_usage)} 天，还剩 {remaining} 天用完（上次购买 {since_s} 天前）")
    if c.unpaid is not None and c.unpaid >= rules.unpaid_min_yuan * 100:
        add("unpaid", f"未付款订单 ¥{yuan(int(c.unpaid))}（≥ ¥{rules.unpaid_min_yuan}）")


def _address_tags(book: _Book, birthday: Any, address: str | None, add: Add) -> None:
    """Campus address, birthday soon."""
    found = book.campus.search(address or "")
    if found:
        add("campus", f"收货地址含「{found.group(1)}」")
    if birthday is not None:
        ahead = book.birthdays.get(birthday.month * 100 + birthday.day)
        if ahead is not None:
            add("birthday_soon", f"生日 {birthday.month} 月 {birthday.day} 日，" + ("就是今天" if ahead == 0 else f"还有 {ahead} 天"))


def _spend_tags(book: _Book, cid: int, c: _Customer, add: Add) -> None:
    """High value, price band, category affinity."""
    rules, cut = book.rules, book.high_value_min_fen
    if c.paid > 0 and c.spent >= max(cut, 1):
        add("high_value", f"累计消费 ¥{yuan(c.spent)}，位列前 {rules.high_value_top_percent:g}%（≥ ¥{yuan(cut)}）")
    total_spend, total_qty = book.totals[cid] if cid in book.totals else (0, 0)
    if total_qty > 0:
        avg = round(total_spend / total_qty)
        band = "price:low" if avg < rules.price_band_low_yuan * 100 else (
            "price:high" if avg >= rules.price_band_high_yuan * 100 else "price:mid")
        add(band, f"平均单件 ¥{yuan(int(avg))}")
    if c.main is not None and total_spend > 0:
        share = max(book.spend_by_cat[cid])[0]
        add(f"affinity:{c.main}", f"{category_label(c.main)} 占消费 {round(share / total_spend * 100)}%")


def _contact_tags(book: _Book, cid: int, c: _Customer, address: str | None, province: str | None,
                  add: Add) -> None:
    """Region, new follower, engaged."""
    region = _region(province) or _region(address)
    if region:
        add(f"region:{region}", "地址：" + (address[:12] if address else region))
    follow_days = days_since(book.followed.get(cid), book.today, book.tz)
    if follow_days is not None and follow_days <= book.rules.new_follower_days:
        add("new_follower", f"{follow_days} 天前添加为好友")
    if c.reply is not None and c.reply <= book.rules.engaged_days:
        add("engaged", f"{c.reply} 天前回复过消息")
