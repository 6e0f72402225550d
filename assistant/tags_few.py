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
from zoneinfo import ZoneInfo

import pandas as pd

from assistant.tag_rules import TagRules
from assistant.categories import category_label
from assistant.lifecycle import days_since, is_repeat
from models.money import yuan


def _region(text: str | None, provinces: set[str], long_ones: set[str]) -> str | None:
    text = (text or "").strip()
    if text[:3] in long_ones:
        return text[:3]
    if text[:2] in provinces - long_ones:
        return text[:2]
    return None


def compute_few(facts, rules: TagRules, now: dt.datetime, tz: ZoneInfo, high_value_min_fen: int):
    """Same contract as ``assistant.tags.compute_tags`` (a ``TagResult``), row by row."""
    from assistant.tags import PROVINCES, TagResult, _LONG_PROVINCES, birthday_offsets

    today = now.astimezone(tz).date()
    orders = {r[0]: r for r in facts.order_rows}
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
    followed = {cid: since for cid, since in facts.followed_rows}
    birthdays = birthday_offsets(today, rules.birthday_within_days)
    campus = re.compile("(" + "|".join(re.escape(w) for w in rules.campus_words) + ")")
    provinces, long_ones = set(PROVINCES), set(_LONG_PROVINCES)

    derived, tags = [], []
    for cid, birthday, address, province, last_inbound_at in facts.customer_rows:
        o = orders.get(cid)
        paid = int(o[1]) if o else 0
        spent = int(o[2]) if o else 0
        first_paid, last_paid = (o[3], o[4]) if o else (None, None)
        unpaid = o[5] if o else None
        since = days_since(last_paid, today, tz)
        reply = days_since(last_inbound_at, today, tz)
        cycle = cycles.get(cid)
        if cycle:
            (cycle_days, cycle_qty, cycle_cat), cycle_usage = cycle
        else:
            cycle_days = rules.dormant_default_days if paid else None
            cycle_qty, cycle_cat, cycle_usage = None, "", None
        cycle_txt = (f"{cycle_qty or 1} 件 × {int(cycle_usage)} 天" if cycle_usage is not None
                     else (f"{category_label(cycle_cat)} 品类" if cycle_cat else "") + f"默认 {cycle_days or 0} 天")
        since_s = str(since or 0)

        if paid == 0:
            stage = "prospect"
            reason = f"未有成功付款，有未付款订单 ¥{yuan(int(unpaid))}" if unpaid and unpaid > 0 else "未有成功付款"
        elif since is not None and cycle_days is not None and since >= cycle_days:
            stage, reason = "dormant", f"{cycle_txt}，上次购买 {since_s} 天前"
        elif (is_repeat(paid) and paid >= rules.fan_min_paid_orders and reply is not None
              and reply <= rules.fan_replied_within_days):
            stage, reason = "fan", f"已付款 {paid} 单，{reply} 天前回复过消息"
        elif is_repeat(paid):
            stage, reason = "repeat", f"已付款 {paid} 单，上次购买 {since_s} 天前"
        else:
            stage, reason = "new", f"已付款 1 单，{cycle_txt}，上次购买 {since_s} 天前"
        derived.append((cid, stage, paid, spent, first_paid, last_paid))
        tags.append((cid, f"stage:{stage}", reason))

        def add(name: str, why: str) -> None:
            tags.append((cid, name, why))

        main = max(spend_by_cat[cid])[1] if spend_by_cat.get(cid) else None
        if paid > 0:
            band_rule = rules.rfm_for(main) if main is not None else rules.rfm_default
            if since <= band_rule.active_days:
                band, rule_txt = "active", f"活跃 ≤ {band_rule.active_days} 天"
            elif since > band_rule.lost_days:
                band, rule_txt = "lost", f"流失 > {band_rule.lost_days} 天"
            else:
                band, rule_txt = "sleeping", f"沉睡 {band_rule.active_days}–{band_rule.lost_days} 天"
            add(f"rfm:{band}", f"{category_label(main) if main is not None else '全部'}：上次购买 {since_s} 天前（{rule_txt}），"
                               f"已付款 {paid} 单，¥{yuan(spent)}")
            if cycle_usage is not None:
                remaining = cycle_days - since
                if 1 <= remaining <= rules.replenish_within_days:
                    add("replenish_due", f"{cycle_qty} 件 × {int(cycle_usage)} 天，还剩 {remaining} 天用完（上次购买 {since_s} 天前）")
        if unpaid is not None and unpaid >= rules.unpaid_min_yuan * 100:
            add("unpaid", f"未付款订单 ¥{yuan(int(unpaid))}（≥ ¥{rules.unpaid_min_yuan}）")
        found = campus.search(address or "")
        if found:
            add("campus", f"收货地址含「{found.group(1)}」")
        if birthday is not None:
            ahead = birthdays.get(birthday.month * 100 + birthday.day)
            if ahead is not None:
                add("birthday_soon", f"生日 {birthday.month} 月 {birthday.day} 日，" + ("就是今天" if ahead == 0 else f"还有 {ahead} 天"))
        if paid > 0 and spent >= max(high_value_min_fen, 1):
            add("high_value", f"累计消费 ¥{yuan(spent)}，位列前 {rules.high_value_top_percent:g}%（≥ ¥{yuan(high_value_min_fen)}）")
        total_spend, total_qty = totals[cid] if cid in totals else (0, 0)
        if total_qty > 0:
            avg = round(total_spend / total_qty)
            band = "price:low" if avg < rules.price_band_low_yuan * 100 else (
                "price:high" if avg >= rules.price_band_high_yuan * 100 else "price:mid")
            add(band, f"平均单件 ¥{yuan(int(avg))}")
        if main is not None and total_spend > 0:
            share = max(spend_by_cat[cid])[0]
            add(f"affinity:{main}", f"{category_label(main)} 占消费 {round(share / total_spend * 100)}%")
        region = _region(province, provinces, long_ones) or _region(address, provinces, long_ones)
        if region:
            add(f"region:{region}", "地址：" + (address[:12] if address else region))
        follow_days = days_since(followed.get(cid), today, tz)
        if follow_days is not None and follow_days <= rules.new_follower_days:
            add("new_follower", f"{follow_days} 天前添加为好友")
        if reply is not None and reply <= rules.engaged_days:
            add("engaged", f"{reply} 天前回复过消息")

    frame = pd.DataFrame.from_records(derived, columns=["id", "stage", "paid_orders", "total_spent_fen",
                                                        "first_paid_at", "last_paid_at"]).set_index("id")
    return TagResult(derived=frame, tags=pd.DataFrame.from_records(tags, columns=["customer_id", "name", "reason"]))
