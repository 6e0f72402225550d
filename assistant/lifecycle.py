"""Lifecycle stages (客户生命周期) and the product cycle, over whole columns at once.

Seed 000: a customer who has never paid is a 潜客 prospect; one paid order makes a 新客 new
customer, two or more a 老客 repeat customer; a loyal repeat customer who keeps talking to us
is a 粉丝 fan. Any of them becomes 休眠流失 dormant once the days since the last paid order
reach usage_days × quantity of that purchase ("2 boxes × 10 days → dormant from day 20");
products without a cycle use their category's default. Dormancy wins over the other stages:
a fan who stopped buying needs waking up, not thanking.

Everything here works on pandas columns so one customer (an order event) and a million (the
nightly retag) go through the same code.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from assistant.categories import CATEGORIES
from assistant.tag_rules import TagRules

STAGES = ("prospect", "new", "repeat", "dormant", "fan")
# 老客: this many paid orders or more. Stages, tags, Today's reasons, drafts and the demo's
# segments all ask ``is_repeat``; none of them writes the number again.
REPEAT_MIN_PAID_ORDERS = 2


def is_repeat(paid_orders):
    """Whether a customer with ``paid_orders`` paid orders is a 老客 (an int or a whole column)."""
    return paid_orders >= REPEAT_MIN_PAID_ORDERS


def days_since(when: dt.datetime | None, today: dt.date, zone: ZoneInfo) -> int | None:
    """Whole calendar days in the brand's timezone from ``when`` to ``today`` (None when never)."""
    if when is None:
        return None
    return (today - when.astimezone(zone).date()).days


def purchase_cycles(last_items: pd.DataFrame, rules: TagRules) -> pd.DataFrame:
    """The dormancy cycle of each customer's last paid purchase.

    ``last_items`` has one row per item of each customer's last paid order (customer_id,
    quantity, usage_days, category). The cycle is the longest item's usage_days × quantity, or
    the category default for items without a cycle. Returns, indexed by customer_id:
    cycle_days, cycle_quantity, cycle_usage_days (NaN when the default applied), cycle_category.
    """
    cols = ["cycle_days", "cycle_quantity", "cycle_usage_days", "cycle_category"]
    if last_items.empty:
        return pd.DataFrame({"cycle_days": pd.Series(dtype="float64"), "cycle_quantity": pd.Series(dtype="float64"),
                             "cycle_usage_days": pd.Series(dtype="float64"),
                             "cycle_category": pd.Series(dtype=object)}, index=pd.Index([], name="customer_id"))
    items = last_items
    usage = pd.to_numeric(items["usage_days"], errors="coerce")
    quantity = items["quantity"].astype("int64").clip(lower=1)
    categories = items["category"].fillna("")
    defaults = categories.map({c: rules.dormant_days_for(c) for c in categories.unique()}).astype("int64")
    days = np.where(usage.notna(), usage.fillna(0).astype("int64") * quantity, defaults)
    frame = pd.DataFrame({
        "customer_id": items["customer_id"].to_numpy(),
        "cycle_days": days.astype("int64"),
        "cycle_quantity": quantity.to_numpy(),
        "cycle_usage_days": usage.to_numpy(),
        "cycle_category": items["category"].to_numpy(),
    })
    # The longest cycle of the purchase decides (the customer still has that product to use).
    # Ties go to the larger quantity, then the category name, so every path picks the same item.
    frame["cycle_category"] = frame["cycle_category"].fillna("")
    longest = frame.sort_values(["customer_id", "cycle_days", "cycle_quantity", "cycle_category"], kind="stable") \
        .drop_duplicates("customer_id", keep="last")
    return longest.set_index("customer_id")[cols]


def lifecycle_stages(frame: pd.DataFrame, rules: TagRules) -> pd.Series:
    """One stage per customer from paid_orders, days_since_last_paid, cycle_days and
    days_since_reply (NaN when never replied)."""
    paid = frame["paid_orders"].to_numpy()
    since = pd.to_numeric(frame["days_since_last_paid"], errors="coerce").to_numpy(dtype="float64")
    cycle = pd.to_numeric(frame["cycle_days"], errors="coerce").to_numpy(dtype="float64")
    dormant = (paid >= 1) & (np.nan_to_num(since, nan=-1.0) >= np.nan_to_num(cycle, nan=np.inf))
    replied = pd.to_numeric(frame["days_since_reply"], errors="coerce").to_numpy(dtype="float64")
    engaged = np.nan_to_num(replied, nan=np.inf) <= rules.fan_replied_within_days
    fan = is_repeat(paid) & (paid >= rules.fan_min_paid_orders) & engaged
    stage = np.select(
        [paid == 0, dormant, fan, is_repeat(paid)],
        ["prospect", "dormant", "fan", "repeat"],
        default="new",
    )
    return pd.Series(stage, index=frame.index, name="stage")


def stage_reasons(frame: pd.DataFrame, rules: TagRules) -> pd.Series:
    """The clerk-readable reason of each customer's stage (zh-CN)."""
    stage = frame["stage"]
    paid = frame["paid_orders"].astype("int64").astype(str)
    since = frame["days_since_last_paid"].fillna(0).astype("int64").astype(str)
    cycle = cycle_text(frame)
    replied = frame["days_since_reply"].fillna(0).astype("int64").astype(str)
    unpaid = frame["max_unpaid_fen"].fillna(0).astype("int64")
    reasons = pd.Series("", index=frame.index, dtype=object)
    prospect = stage == "prospect"
    reasons[prospect] = np.where(unpaid[prospect] > 0,
                                 "未有成功付款，有未付款订单 ¥" + yuan_text(unpaid[prospect]),
                                 "未有成功付款")
    new = stage == "new"
    reasons[new] = "已付款 1 单，" + cycle[new] + "，上次购买 " + since[new] + " 天前"
    repeat = stage == "repeat"
    reasons[repeat] = "已付款 " + paid[repeat] + " 单，上次购买 " + since[repeat] + " 天前"
    fan = stage == "fan"
    reasons[fan] = "已付款 " + paid[fan] + " 单，" + replied[fan] + " 天前回复过消息"
    dormant = stage == "dormant"
    reasons[dormant] = cycle[dormant] + "，上次购买 " + since[dormant] + " 天前"
    return reasons


def cycle_text(frame: pd.DataFrame) -> pd.Series:
    """"2 件 × 10 天" for products with a cycle, "护肤 品类默认 120 天" otherwise."""
    usage = frame["cycle_usage_days"]
    has_usage = usage.notna()
    qty = frame["cycle_quantity"].fillna(1).astype("int64").astype(str)
    with_cycle = qty + " 件 × " + usage.fillna(0).astype("int64").astype(str) + " 天"
    category = frame["cycle_category"].fillna("").astype(str).replace(
        {key: c.zh for key, c in CATEGORIES.items()})
    default = np.where(category == "", "", category + " 品类") + "默认 " + \
        frame["cycle_days"].fillna(0).astype("int64").astype(str) + " 天"
    return pd.Series(np.where(has_usage, with_cycle, default), index=frame.index, dtype=object)


def yuan_text(fen: pd.Series) -> pd.Series:
    fen = fen.astype("int64")
    return (fen // 100).astype(str) + "." + (fen % 100).astype(str).str.zfill(2)
