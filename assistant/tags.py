"""Automatic tags: every rule over whole columns, for one customer or for all of them.

``retag_customers(session, ids)`` runs inside the transaction of the event that changed them
(an order recorded, a message received); ``retag_all(session)`` is the nightly / after-settings
recomputation. Both load facts with a handful of SQL aggregations (never a query per customer),
compute every tag, and replace the customers' automatic tags. Manual tags (the clerk's own) are
never touched; when a rule would set a tag the clerk already set by hand, the manual one stays.

Each tag carries a zh-CN reason a clerk can read ("2 件 × 10 天，上次购买 19 天前").

This module holds the entry points and the columnar rules (``compute_tags``, pandas); the same
rules row by row for one event's few customers are ``assistant.tags_few``. The facts and the
result are ``assistant.tag_facts``, the tag names and labels ``assistant.tag_vocabulary``, and
the writes ``assistant.tag_writes``.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assistant.lifecycle import lifecycle_stages, purchase_cycles, stage_reasons, yuan_text
from assistant.tag_facts import Facts, Progress, TagResult, load_facts
from assistant.tag_rules import SETTING_KEY, STATS_KEY, TagRules, load_rules
from assistant.tag_vocabulary import CATEGORY_LABELS_ZH, LONG_PROVINCES, PROVINCES, birthday_offsets
from assistant.tag_writes import write_bulk, write_few
from assistant.tags_few import compute_few
from models import Customer, CustomerTag, Setting, utcnow

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
# Before any customer has spent (and before the first full retag) nobody is "top X %".
NO_CUT_YET = 2**62


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True)


def _days_since(when: pd.Series, today: dt.date, tz: ZoneInfo) -> pd.Series:
    """Whole calendar days (brand timezone) from ``when`` to today; NaN when missing."""
    local_days = _utc(when).dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    return (pd.Timestamp(today) - local_days).dt.days.astype("float64")


def region_of(address: pd.Series, province: pd.Series) -> pd.Series:
    """Province short name from the province column, else from the start of the address."""
    def lookup(text: pd.Series) -> pd.Series:
        text = text.fillna("").astype(str).str.strip()
        three, two = text.str[:3], text.str[:2]
        known2 = set(PROVINCES) - LONG_PROVINCES
        return pd.Series(np.where(three.isin(LONG_PROVINCES), three,
                                  np.where(two.isin(known2), two, None)), index=text.index, dtype=object)

    from_column = lookup(province)
    return from_column.where(from_column.notna(), lookup(address))


def top_share_cut(spend: pd.Series, top_percent: float) -> int:
    """The spend of the k-th biggest buyer, k = top_percent of buyers (at least one)."""
    if spend.empty:
        return NO_CUT_YET
    k = max(1, int(np.floor(len(spend) * top_percent / 100)))
    return int(np.sort(spend.to_numpy())[::-1][k - 1])


def compute_tags(facts: Facts, rules: TagRules, now: dt.datetime, tz: ZoneInfo = DEFAULT_TZ,
                 high_value_min_fen: int | None = None) -> TagResult:
    """Apply every rule to the facts; pure (no database)."""
    today = now.astimezone(tz).date()
    c = facts.customers.set_index("id")
    frame = _derived_frame(facts, c, rules, today, tz)
    tags = _Tags(frame.index)
    tags.parts.append(pd.DataFrame({"customer_id": frame.index, "name": "stage:" + frame["stage"],
                                    "reason": frame["stage_reason"].to_numpy()}))
    buyers = frame["paid_orders"] > 0
    since = frame["days_since_last_paid"].fillna(0).astype("int64").astype(str)
    main, share, totals = _category_mix(facts, c.index)
    _rfm_tags(tags, frame, rules, main, buyers, since)
    _care_tags(tags, frame, c, rules, today, buyers, since)
    _spend_tags(tags, frame, rules, main, share, totals, buyers, high_value_min_fen)
    _contact_tags(tags, frame, c, facts, today, tz, rules)
    derived = frame[["stage", "paid_orders", "total_spent_fen", "first_paid_at", "last_paid_at"]]
    return TagResult(derived=derived, tags=pd.concat(tags.parts, ignore_index=True))


class _Tags:
    """The tags being computed, one frame per rule, in rule order."""

    def __init__(self, index: pd.Index) -> None:
        self.index = index
        self.parts: list[pd.DataFrame] = []

    def add(self, mask: pd.Series, name, reason) -> None:
        """Tag the customers in ``mask``. A sparse rule passes ``reason`` as a function of the
        mask, so its text is only built for the customers who get the tag."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        if callable(reason):
            texts = np.asarray(reason(mask), dtype=object)
        else:
            reason = pd.Series(reason, index=self.index) if not isinstance(reason, pd.Series) else reason
            texts = reason[mask].to_numpy()
        names = name[mask] if isinstance(name, pd.Series) else name
        self.parts.append(pd.DataFrame({"customer_id": self.index[mask], "name": names, "reason": texts}))


def _derived_frame(facts: Facts, c: pd.DataFrame, rules: TagRules, today: dt.date, tz: ZoneInfo) -> pd.DataFrame:
    """Each customer's paid-order figures, purchase cycle and lifecycle stage (with its reason)."""
    o = facts.orders.set_index("customer_id")
    frame = pd.DataFrame(index=c.index)
    frame["paid_orders"] = o["paid_orders"].reindex(c.index).fillna(0).astype("int64")
    frame["total_spent_fen"] = o["spent_fen"].reindex(c.index).fillna(0).astype("int64")
    frame["first_paid_at"] = _utc(o["first_paid_at"].reindex(c.index))
    frame["last_paid_at"] = _utc(o["last_paid_at"].reindex(c.index))
    frame["max_unpaid_fen"] = pd.to_numeric(o["max_unpaid_fen"].reindex(c.index), errors="coerce")
    frame["days_since_last_paid"] = _days_since(frame["last_paid_at"], today, tz)
    frame["days_since_reply"] = _days_since(c["last_inbound_at"], today, tz)
    cycles = purchase_cycles(facts.last_items, rules).reindex(c.index)
    frame = frame.join(cycles)
    # A paid order recorded without items (an amount-only POS sale) gets the brand default.
    frame["cycle_days"] = frame["cycle_days"].astype("float64").where(
        frame["cycle_days"].notna() | (frame["paid_orders"] == 0), float(rules.dormant_default_days))
    frame["stage"] = lifecycle_stages(frame, rules)
    frame["stage_reason"] = stage_reasons(frame, rules)
    return frame


def _category_mix(facts: Facts, index: pd.Index) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Each customer's main category, its spend, and their total spend and quantity."""
    cats = facts.categories
    if not cats.empty:
        cats = cats.assign(spend_fen=cats["spend_fen"].astype("int64"), quantity=cats["quantity"].astype("int64"),
                           category=cats["category"].fillna(""))
        top = cats.sort_values(["customer_id", "spend_fen", "category"], kind="stable") \
            .drop_duplicates("customer_id", keep="last").set_index("customer_id")
        main = top["category"].reindex(index)
        share = top["spend_fen"].reindex(index)
        totals = cats.groupby("customer_id")[["spend_fen", "quantity"]].sum().reindex(index)
    else:
        main = pd.Series(None, index=index, dtype=object)
        totals = pd.DataFrame({"spend_fen": np.nan, "quantity": np.nan}, index=index)
        share = pd.Series(np.nan, index=index)
    return main, share, totals


def _rfm_tags(tags: _Tags, frame: pd.DataFrame, rules: TagRules, main: pd.Series, buyers: pd.Series,
              since: pd.Series) -> None:
    """RFM band by the thresholds of the customer's main category (seed 003)."""
    # Thresholds per category through a dict built once (not a Python call per customer).
    known = [cat for cat in main.dropna().unique()]
    active_days = main.map({cat: rules.rfm_for(cat).active_days for cat in known}).fillna(
        rules.rfm_default.active_days).astype("int64")
    lost_days = main.map({cat: rules.rfm_for(cat).lost_days for cat in known}).fillna(
        rules.rfm_default.lost_days).astype("int64")
    days = frame["days_since_last_paid"]
    band = np.select([days <= active_days, days > lost_days], ["active", "lost"], default="sleeping")
    band_rule = np.select([days <= active_days, days > lost_days],
                          ["活跃 ≤ " + active_days.astype("int64").astype(str) + " 天",
                           "流失 > " + lost_days.astype("int64").astype(str) + " 天"],
                          default="沉睡 " + active_days.astype("int64").astype(str) + "–"
                          + lost_days.astype("int64").astype(str) + " 天")
    main_label = main.fillna("全部").astype(str).replace(CATEGORY_LABELS_ZH)
    tags.add(buyers, "rfm:" + pd.Series(band, index=frame.index),
             main_label + "：上次购买 " + since + " 天前（" + pd.Series(band_rule, index=frame.index)
             + "），已付款 " + frame["paid_orders"].astype(str) + " 单，¥" + yuan_text(frame["total_spent_fen"]))


def _care_tags(tags: _Tags, frame: pd.DataFrame, c: pd.DataFrame, rules: TagRules, today: dt.date,
               buyers: pd.Series, since: pd.Series) -> None:
    """Replenishment due, unpaid order, campus address, birthday soon."""
    # Replenishment: a consumable's cycle ends within N days (dormancy starts once it has ended).
    remaining = frame["cycle_days"] - frame["days_since_last_paid"]
    due = buyers & frame["cycle_usage_days"].notna() & (remaining >= 1) & (remaining <= rules.replenish_within_days)
    tags.add(due, "replenish_due", lambda m:
             frame["cycle_quantity"][m].fillna(1).astype("int64").astype(str) + " 件 × "
             + frame["cycle_usage_days"][m].fillna(0).astype("int64").astype(str) + " 天，还剩 "
             + remaining[m].fillna(0).astype("int64").astype(str) + " 天用完（上次购买 " + since[m] + " 天前）")

    # 催付: an unpaid order at or above ¥X.
    unpaid = frame["max_unpaid_fen"]
    tags.add(unpaid >= rules.unpaid_min_yuan * 100, "unpaid", lambda m:
             "未付款订单 ¥" + yuan_text(unpaid[m]) + "（≥ ¥" + str(rules.unpaid_min_yuan) + "）")

    # Campus address (seed 001).
    address = c["address"].fillna("").astype(str)
    pattern = "(" + "|".join(re.escape(w) for w in rules.campus_words) + ")"
    word = address.str.extract(pattern, expand=False)
    tags.add(word.notna(), "campus", lambda m: "收货地址含「" + word[m] + "」")

    # Birthday within N days.
    birthday = pd.to_datetime(c["birthday"], errors="coerce")
    key = birthday.dt.month * 100 + birthday.dt.day
    ahead = key.map(birthday_offsets(today, rules.birthday_within_days))
    tags.add(ahead.notna(), "birthday_soon", lambda m:
             "生日 " + birthday[m].dt.month.astype("int64").astype(str) + " 月 "
             + birthday[m].dt.day.astype("int64").astype(str) + " 日，"
             + np.where(ahead[m] == 0, "就是今天", "还有 " + ahead[m].astype("int64").astype(str) + " 天"))


def _spend_tags(tags: _Tags, frame: pd.DataFrame, rules: TagRules, main: pd.Series, share: pd.Series,
                totals: pd.DataFrame, buyers: pd.Series, high_value_min_fen: int | None) -> None:
    """High value, price band, category affinity."""
    # High value: top X % of spend, cut-off measured over all buyers by the full retag.
    if high_value_min_fen is None:
        high_value_min_fen = top_share_cut(frame.loc[buyers, "total_spent_fen"], rules.high_value_top_percent)
    top_pct = f"{rules.high_value_top_percent:g}"
    tags.add(buyers & (frame["total_spent_fen"] >= max(high_value_min_fen, 1)), "high_value", lambda m:
             "累计消费 ¥" + yuan_text(frame["total_spent_fen"][m]) + "，位列前 " + top_pct + "%（≥ ¥"
             + yuan_text(pd.Series([high_value_min_fen])).iloc[0] + "）")

    # Price band by the average paid price of one item.
    avg = (totals["spend_fen"] / totals["quantity"].where(totals["quantity"] > 0)).round()
    low, high = rules.price_band_low_yuan * 100, rules.price_band_high_yuan * 100
    bands = pd.Series(np.select([avg < low, avg >= high], ["price:low", "price:high"], default="price:mid"),
                      index=frame.index)
    tags.add(avg.notna(), bands, "平均单件 ¥" + yuan_text(avg.fillna(0)))

    # Category affinity: where most of the money went.
    pct = (share / totals["spend_fen"].where(totals["spend_fen"] > 0) * 100).round()
    tags.add(main.notna() & pct.notna(), "affinity:" + main.fillna(""),
             main.fillna("").replace(CATEGORY_LABELS_ZH) + " 占消费 " + pct.fillna(0).astype("int64").astype(str) + "%")


def _contact_tags(tags: _Tags, frame: pd.DataFrame, c: pd.DataFrame, facts: Facts, today: dt.date,
                  tz: ZoneInfo, rules: TagRules) -> None:
    """Region, new follower, engaged."""
    # Region from the address (or the province column).
    address = c["address"].fillna("").astype(str)
    region = region_of(c["address"], c["province"])
    tags.add(region.notna(), "region:" + region.fillna(""),
             "地址：" + np.where(address.str.len() > 0, address.str[:12], region.fillna("")))

    # New follower: first active binding within N days.
    followed = facts.followed.set_index("customer_id")["first_followed_at"].reindex(c.index)
    follow_days = _days_since(followed, today, tz)
    tags.add(follow_days <= rules.new_follower_days, "new_follower", lambda m:
             follow_days[m].astype("int64").astype(str) + " 天前添加为好友")

    # Engaged: replied within N days.
    reply_days = frame["days_since_reply"]
    tags.add(reply_days <= rules.engaged_days, "engaged", lambda m:
             reply_days[m].astype("int64").astype(str) + " 天前回复过消息")


# The two entry points -------------------------------------------------------------------------

def _stats(session: Session) -> dict:
    row = session.get(Setting, STATS_KEY)
    return dict(row.value) if row is not None else {}


def retag_customers(session: Session, customer_ids: Sequence[int], now: dt.datetime | None = None,
                    tz: ZoneInfo = DEFAULT_TZ, rules: TagRules | None = None) -> TagResult:
    """Recompute a few customers' derived columns and automatic tags, in the caller's transaction."""
    ids = sorted({int(i) for i in customer_ids})
    # Both settings rows in one round trip; the reads below then come from the identity map.
    session.scalars(select(Setting).where(Setting.key.in_([SETTING_KEY, STATS_KEY]))).all()
    rules = rules or load_rules(session)
    session.flush()
    facts = load_facts(session, ids)
    cut = _stats(session).get("high_value_min_fen")
    result = compute_few(facts, rules, now or utcnow(), tz,
                         high_value_min_fen=cut if cut is not None else _spend_cut(session, rules))
    write_few(session, result, ids)
    return result


def _spend_cut(session: Session, rules: TagRules) -> int:
    """The top-X % spend cut-off straight from the customers table (before any full retag)."""
    buyers = session.scalar(select(func.count()).where(Customer.total_spent_fen > 0)) or 0
    if buyers == 0:
        return NO_CUT_YET
    rank = max(1, int(np.floor(buyers * rules.high_value_top_percent / 100)))
    return session.scalar(select(Customer.total_spent_fen).where(Customer.total_spent_fen > 0)
                          .order_by(Customer.total_spent_fen.desc()).offset(rank - 1).limit(1))


def retag_all(session: Session, now: dt.datetime | None = None, tz: ZoneInfo = DEFAULT_TZ,
              rules: TagRules | None = None, progress: Progress | None = None) -> TagResult:
    """Recompute every customer, set-based; also records the high-value cut-off for events."""
    rules = rules or load_rules(session)
    facts = load_facts(session, None, progress)
    result = compute_tags(facts, rules, now or utcnow(), tz)
    if progress:
        progress("computed")
    cut = top_share_cut(result.derived.loc[result.derived["paid_orders"] > 0, "total_spent_fen"],
                        rules.high_value_top_percent)
    row = session.get(Setting, STATS_KEY)
    value = {"high_value_min_fen": cut, "customers": int(len(result.derived)), "computed_at": utcnow().isoformat()}
    if row is None:
        session.add(Setting(key=STATS_KEY, value=value))
    else:
        row.value = value
    session.flush()
    write_bulk(session, result, progress)
    # The bulk write went around the ORM: loaded customers and their tags are stale now.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, (Customer, CustomerTag)):
            session.expire(obj)
    return result


RETAG_STEPS = ("customers", "orders", "last purchases", "categories", "followers", "computed",
               "tags written", "customers written")

__all__ = ["retag_customers", "retag_all", "compute_tags", "top_share_cut", "region_of", "Progress", "RETAG_STEPS"]
