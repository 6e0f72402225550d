"""Automatic tags: every rule over whole columns, for one customer or for all of them.

``retag_customers(session, ids)`` runs inside the transaction of the event that changed them
(an order recorded, a message received); ``retag_all(session)`` is the nightly / after-settings
recomputation. Both load facts with a handful of SQL aggregations (never a query per customer),
compute every tag with pandas, and replace the customers' automatic tags. Manual tags (the
clerk's own) are never touched; when a rule would set a tag the clerk already set by hand, the
manual one stays.

Each tag carries a zh-CN reason a clerk can read ("2 件 × 10 天，上次购买 19 天前").
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.orm import Session

from assistant.categories import CATEGORIES, category_label
from assistant.lifecycle import lifecycle_stages, purchase_cycles, stage_reasons, yuan_text
from assistant.tag_rules import SETTING_KEY, STATS_KEY, TagRules, load_rules
from models import (Customer, CustomerTag, FollowerBinding, Order, OrderItem, Product, Setting,
                    Stage, Tag, TagSource, utcnow)
from models.commerce import PAID_STATUSES

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
# Before any customer has spent (and before the first full retag) nobody is "top X %".
NO_CUT_YET = 2**62
Progress = Callable[[str], None]

# Tag names are stable identifiers (segments and the API use them); labels are for people.
FIXED_TAGS: dict[str, tuple[str, str, str]] = {  # name: (group, zh, en)
    "stage:prospect": ("stage", "潜客", "Prospect"),
    "stage:new": ("stage", "新客", "New"),
    "stage:repeat": ("stage", "老客", "Repeat"),
    "stage:dormant": ("stage", "休眠流失", "Dormant"),
    "stage:fan": ("stage", "粉丝", "Fan"),
    "rfm:active": ("rfm", "活跃客户", "Active"),
    "rfm:sleeping": ("rfm", "沉睡客户", "Sleeping"),
    "rfm:lost": ("rfm", "流失客户", "Lost"),
    "replenish_due": ("replenish", "该补货了", "Replenishment due"),
    "unpaid": ("unpaid", "待催付", "Unpaid order"),
    "campus": ("address", "校园地址", "Campus address"),
    "birthday_soon": ("birthday", "近期生日", "Birthday soon"),
    "high_value": ("value", "高价值", "High value"),
    "price:low": ("price_band", "平价", "Budget"),
    "price:mid": ("price_band", "中端", "Mid-range"),
    "price:high": ("price_band", "高端", "Premium"),
    "new_follower": ("follower", "新好友", "New follower"),
    "engaged": ("engagement", "近期互动", "Engaged"),
}
# How the catalogue's category keys read to a clerk (the vocabulary in assistant.categories).
CATEGORY_LABELS_ZH = {key: c.zh for key, c in CATEGORIES.items()}


# Open-ended families: the suffix is data (a category, a province).
FAMILY_TAGS: dict[str, tuple[str, str, str]] = {
    "affinity:": ("affinity", "偏好 ", "Likes "),
    "region:": ("region", "地区 ", "Region "),
}

PROVINCES = ("北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江",
             "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州",
             "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门")
_LONG_PROVINCES = {p for p in PROVINCES if len(p) == 3}


def tag_meta(name: str) -> tuple[str, str, str]:
    """(group, label_zh, label_en) of an automatic tag name."""
    if name in FIXED_TAGS:
        return FIXED_TAGS[name]
    for prefix, (group, zh, en) in FAMILY_TAGS.items():
        if name.startswith(prefix):
            suffix = name[len(prefix):]
            return group, zh + (category_label(suffix) if group == "affinity" else suffix), en + suffix
    raise KeyError(name)


def paid_order_clause():
    """A paid order: paid or later, and not refunded in full (partial refunds still count)."""
    return and_(Order.status.in_(sorted(PAID_STATUSES)), Order.refund_amount_fen < Order.amount_fen)


# Loading facts --------------------------------------------------------------------------------

CUSTOMER_COLUMNS = ["id", "birthday", "address", "province", "last_inbound_at"]
ORDER_COLUMNS = ["customer_id", "paid_orders", "spent_fen", "first_paid_at", "last_paid_at", "max_unpaid_fen"]
LAST_ITEM_COLUMNS = ["customer_id", "quantity", "usage_days", "category"]
CATEGORY_COLUMNS = ["customer_id", "category", "spend_fen", "quantity"]
FOLLOWED_COLUMNS = ["customer_id", "first_followed_at"]


@dataclass
class Facts:
    """The rows the rules read; as DataFrames for the columnar path, raw for the row-wise one."""

    customer_rows: list   # id, birthday, address, province, last_inbound_at
    order_rows: list      # customer_id, paid_orders, spent_fen, first/last paid, max_unpaid_fen
    last_item_rows: list  # items of each customer's last paid order
    category_rows: list   # (customer_id, category) → spend_fen, quantity
    followed_rows: list   # customer_id → first_followed_at (active bindings)

    @cached_property
    def customers(self) -> pd.DataFrame:
        return _frame(self.customer_rows, CUSTOMER_COLUMNS)

    @cached_property
    def orders(self) -> pd.DataFrame:
        return _frame(self.order_rows, ORDER_COLUMNS)

    @cached_property
    def last_items(self) -> pd.DataFrame:
        return _frame(self.last_item_rows, LAST_ITEM_COLUMNS)

    @cached_property
    def categories(self) -> pd.DataFrame:
        return _frame(self.category_rows, CATEGORY_COLUMNS)

    @cached_property
    def followed(self) -> pd.DataFrame:
        return _frame(self.followed_rows, FOLLOWED_COLUMNS)


def _frame(rows: Sequence, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=columns)


def _scoped(stmt, column, customer_ids: Sequence[int] | None):
    return stmt if customer_ids is None else stmt.where(column.in_(list(customer_ids)))


def load_facts(session: Session, customer_ids: Sequence[int] | None = None,
               progress: Progress | None = None) -> Facts:
    """Everything the rules need, in five set-based queries (all customers when ids is None)."""
    step = progress or (lambda _name: None)
    paid = paid_order_clause()
    spend = Order.amount_fen - Order.refund_amount_fen
    customers = session.execute(_scoped(select(
        Customer.id, Customer.birthday, Customer.address, Customer.province, Customer.last_inbound_at),
        Customer.id, customer_ids)).all()
    step("customers")

    orders = session.execute(_scoped(select(
        Order.customer_id,
        func.count().filter(paid),
        func.coalesce(func.sum(spend).filter(paid), 0),
        func.min(Order.paid_at).filter(paid),
        func.max(Order.paid_at).filter(paid),
        func.max(Order.amount_fen).filter(Order.status == "created"),
    ).group_by(Order.customer_id), Order.customer_id, customer_ids)).all()
    step("orders")

    last = _scoped(select(Order.customer_id, func.max(Order.paid_at).label("paid_at"))
                   .where(paid).group_by(Order.customer_id), Order.customer_id, customer_ids).subquery()
    last_items = session.execute(
        select(Order.customer_id, OrderItem.quantity, Product.usage_days, Product.category)
        .join(last, and_(Order.customer_id == last.c.customer_id, Order.paid_at == last.c.paid_at))
        .join(OrderItem, OrderItem.order_id == Order.id).join(Product, Product.id == OrderItem.product_id)
        .where(paid)).all()
    step("last purchases")

    categories = session.execute(_scoped(
        select(Order.customer_id, Product.category, func.sum(OrderItem.quantity * OrderItem.price_fen),
               func.sum(OrderItem.quantity))
        .join(OrderItem, OrderItem.order_id == Order.id).join(Product, Product.id == OrderItem.product_id)
        .where(paid).group_by(Order.customer_id, Product.category), Order.customer_id, customer_ids)).all()
    step("categories")

    followed = session.execute(_scoped(
        select(FollowerBinding.customer_id, func.min(FollowerBinding.since))
        .where(FollowerBinding.ended_at.is_(None)).group_by(FollowerBinding.customer_id),
        FollowerBinding.customer_id, customer_ids)).all()
    step("followers")
    return Facts(customers, orders, last_items, categories, followed)


# Computing tags -------------------------------------------------------------------------------

def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True)


def _days_since(when: pd.Series, today: dt.date, tz: ZoneInfo) -> pd.Series:
    """Whole calendar days (brand timezone) from ``when`` to today; NaN when missing."""
    local_days = _utc(when).dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    return (pd.Timestamp(today) - local_days).dt.days.astype("float64")


def birthday_offsets(today: dt.date, within_days: int) -> dict[int, int]:
    """month*100+day → days until that birthday, for the next ``within_days`` days.

    A 29 February birthday is celebrated on 28 February in other years.
    """
    offsets: dict[int, int] = {}
    for n in range(within_days + 1):
        day = today + dt.timedelta(days=n)
        offsets.setdefault(day.month * 100 + day.day, n)
        if day.month == 2 and day.day == 28 and not _is_leap(day.year):
            offsets.setdefault(229, n)
    return offsets


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def region_of(address: pd.Series, province: pd.Series) -> pd.Series:
    """Province short name from the province column, else from the start of the address."""
    def lookup(text: pd.Series) -> pd.Series:
        text = text.fillna("").astype(str).str.strip()
        three, two = text.str[:3], text.str[:2]
        known2 = set(PROVINCES) - _LONG_PROVINCES
        return pd.Series(np.where(three.isin(_LONG_PROVINCES), three,
                                  np.where(two.isin(known2), two, None)), index=text.index, dtype=object)

    from_column = lookup(province)
    return from_column.where(from_column.notna(), lookup(address))


def top_share_cut(spend: pd.Series, top_percent: float) -> int:
    """The spend of the k-th biggest buyer, k = top_percent of buyers (at least one)."""
    if spend.empty:
        return NO_CUT_YET
    k = max(1, int(np.floor(len(spend) * top_percent / 100)))
    return int(np.sort(spend.to_numpy())[::-1][k - 1])


@dataclass
class TagResult:
    derived: pd.DataFrame  # id → stage, paid_orders, total_spent_fen, first_paid_at, last_paid_at
    tags: pd.DataFrame     # customer_id, name, reason


def compute_tags(facts: Facts, rules: TagRules, now: dt.datetime, tz: ZoneInfo = DEFAULT_TZ,
                 high_value_min_fen: int | None = None) -> TagResult:
    """Apply every rule to the facts; pure (no database)."""
    today = now.astimezone(tz).date()
    c = facts.customers.set_index("id")
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

    parts = [pd.DataFrame({"customer_id": frame.index, "name": "stage:" + frame["stage"],
                           "reason": frame["stage_reason"].to_numpy()})]

    def add(mask: pd.Series, name, reason) -> None:
        """Tag the customers in ``mask``. A sparse rule passes ``reason`` as a function of the
        mask, so its text is only built for the customers who get the tag."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        if callable(reason):
            texts = np.asarray(reason(mask), dtype=object)
        else:
            reason = pd.Series(reason, index=frame.index) if not isinstance(reason, pd.Series) else reason
            texts = reason[mask].to_numpy()
        names = name[mask] if isinstance(name, pd.Series) else name
        parts.append(pd.DataFrame({"customer_id": frame.index[mask], "name": names, "reason": texts}))

    buyers = frame["paid_orders"] > 0
    since = frame["days_since_last_paid"].fillna(0).astype("int64").astype(str)

    # RFM band by the thresholds of the customer's main category (seed 003).
    cats = facts.categories
    if not cats.empty:
        cats = cats.assign(spend_fen=cats["spend_fen"].astype("int64"), quantity=cats["quantity"].astype("int64"),
                           category=cats["category"].fillna(""))
        top = cats.sort_values(["customer_id", "spend_fen", "category"], kind="stable") \
            .drop_duplicates("customer_id", keep="last").set_index("customer_id")
        main = top["category"].reindex(c.index)
        share = top["spend_fen"].reindex(c.index)
        totals = cats.groupby("customer_id")[["spend_fen", "quantity"]].sum().reindex(c.index)
    else:
        main = pd.Series(None, index=c.index, dtype=object)
        totals = pd.DataFrame({"spend_fen": np.nan, "quantity": np.nan}, index=c.index)
        share = pd.Series(np.nan, index=c.index)
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
    add(buyers, "rfm:" + pd.Series(band, index=frame.index),
        main_label + "：上次购买 " + since + " 天前（" + pd.Series(band_rule, index=frame.index)
        + "），已付款 " + frame["paid_orders"].astype(str) + " 单，¥" + yuan_text(frame["total_spent_fen"]))

    # Replenishment: a consumable's cycle ends within N days (dormancy starts once it has ended).
    remaining = frame["cycle_days"] - frame["days_since_last_paid"]
    due = buyers & frame["cycle_usage_days"].notna() & (remaining >= 1) & (remaining <= rules.replenish_within_days)
    add(due, "replenish_due", lambda m:
        frame["cycle_quantity"][m].fillna(1).astype("int64").astype(str) + " 件 × "
        + frame["cycle_usage_days"][m].fillna(0).astype("int64").astype(str) + " 天，还剩 "
        + remaining[m].fillna(0).astype("int64").astype(str) + " 天用完（上次购买 " + since[m] + " 天前）")

    # 催付: an unpaid order at or above ¥X.
    unpaid = frame["max_unpaid_fen"]
    add(unpaid >= rules.unpaid_min_yuan * 100, "unpaid", lambda m:
        "未付款订单 ¥" + yuan_text(unpaid[m]) + "（≥ ¥" + str(rules.unpaid_min_yuan) + "）")

    # Campus address (seed 001).
    address = c["address"].fillna("").astype(str)
    pattern = "(" + "|".join(re.escape(w) for w in rules.campus_words) + ")"
    word = address.str.extract(pattern, expand=False)
    add(word.notna(), "campus", lambda m: "收货地址含「" + word[m] + "」")

    # Birthday within N days.
    birthday = pd.to_datetime(c["birthday"], errors="coerce")
    key = birthday.dt.month * 100 + birthday.dt.day
    ahead = key.map(birthday_offsets(today, rules.birthday_within_days))
    add(ahead.notna(), "birthday_soon", lambda m:
        "生日 " + birthday[m].dt.month.astype("int64").astype(str) + " 月 "
        + birthday[m].dt.day.astype("int64").astype(str) + " 日，"
        + np.where(ahead[m] == 0, "就是今天", "还有 " + ahead[m].astype("int64").astype(str) + " 天"))

    # High value: top X % of spend, cut-off measured over all buyers by the full retag.
    if high_value_min_fen is None:
        high_value_min_fen = top_share_cut(frame.loc[buyers, "total_spent_fen"], rules.high_value_top_percent)
    top_pct = f"{rules.high_value_top_percent:g}"
    add(buyers & (frame["total_spent_fen"] >= max(high_value_min_fen, 1)), "high_value", lambda m:
        "累计消费 ¥" + yuan_text(frame["total_spent_fen"][m]) + "，位列前 " + top_pct + "%（≥ ¥"
        + yuan_text(pd.Series([high_value_min_fen])).iloc[0] + "）")

    # Price band by the average paid price of one item.
    avg = (totals["spend_fen"] / totals["quantity"].where(totals["quantity"] > 0)).round()
    low, high = rules.price_band_low_yuan * 100, rules.price_band_high_yuan * 100
    bands = pd.Series(np.select([avg < low, avg >= high], ["price:low", "price:high"], default="price:mid"),
                      index=frame.index)
    add(avg.notna(), bands, "平均单件 ¥" + yuan_text(avg.fillna(0)))

    # Category affinity: where most of the money went.
    pct = (share / totals["spend_fen"].where(totals["spend_fen"] > 0) * 100).round()
    add(main.notna() & pct.notna(), "affinity:" + main.fillna(""),
        main.fillna("").replace(CATEGORY_LABELS_ZH) + " 占消费 " + pct.fillna(0).astype("int64").astype(str) + "%")

    # Region from the address (or the province column).
    region = region_of(c["address"], c["province"])
    add(region.notna(), "region:" + region.fillna(""),
        "地址：" + np.where(address.str.len() > 0, address.str[:12], region.fillna("")))

    # New follower: first active binding within N days.
    followed = facts.followed.set_index("customer_id")["first_followed_at"].reindex(c.index)
    follow_days = _days_since(followed, today, tz)
    add(follow_days <= rules.new_follower_days, "new_follower", lambda m:
        follow_days[m].astype("int64").astype(str) + " 天前添加为好友")

    # Engaged: replied within N days.
    reply_days = frame["days_since_reply"]
    add(reply_days <= rules.engaged_days, "engaged", lambda m:
        reply_days[m].astype("int64").astype(str) + " 天前回复过消息")

    tags = pd.concat(parts, ignore_index=True)
    derived = frame[["stage", "paid_orders", "total_spent_fen", "first_paid_at", "last_paid_at"]]
    return TagResult(derived=derived, tags=tags)


# Writing --------------------------------------------------------------------------------------

def ensure_tags(session: Session, names: Sequence[str]) -> dict[str, int]:
    """Tag ids by name, creating the automatic tags that do not exist yet (one insert)."""
    wanted = sorted(set(names))
    existing = dict(session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(wanted))).all()) if len(wanted) < 900 \
        else dict(session.execute(select(Tag.name, Tag.id)).all())
    missing = [n for n in wanted if n not in existing]
    if missing:
        rows = []
        for n in missing:
            group, zh, en = tag_meta(n)
            rows.append({"name": n, "source": TagSource.auto, "group": group, "label_zh": zh, "label_en": en})
        session.execute(insert(Tag), rows)
        existing.update(session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(missing))).all())
    return {n: existing[n] for n in wanted}


def _rows_to_write(session: Session, result: TagResult, customer_ids: Sequence[int] | None) -> pd.DataFrame:
    tags = result.tags
    ids = ensure_tags(session, tags["name"].unique().tolist())
    tags = tags.assign(tag_id=tags["name"].map(ids).astype("int64"))
    manual = _frame(session.execute(_scoped(
        select(CustomerTag.customer_id, CustomerTag.tag_id).where(CustomerTag.source == TagSource.manual),
        CustomerTag.customer_id, customer_ids)).all(), ["customer_id", "tag_id"])
    if not manual.empty:
        keys = pd.MultiIndex.from_frame(tags[["customer_id", "tag_id"]])
        taken = pd.MultiIndex.from_frame(manual.astype("int64"))
        tags = tags[~keys.isin(taken)]
    return tags


def write_few(session: Session, result: TagResult, customer_ids: Sequence[int]) -> None:
    """Replace the automatic tags of a few customers through the ORM (inside the event's
    transaction, so loaded objects stay in step)."""
    rows = list(result.tags.itertuples(index=False))
    ids = ensure_tags(session, [r.name for r in rows])
    manual = set(session.execute(select(CustomerTag.customer_id, CustomerTag.tag_id).where(
        CustomerTag.customer_id.in_(list(customer_ids)), CustomerTag.source == TagSource.manual)).all())
    manual = {(int(a), int(b)) for a, b in manual}
    session.execute(delete(CustomerTag).where(CustomerTag.customer_id.in_(list(customer_ids)),
                                              CustomerTag.source == TagSource.auto))
    now = utcnow()
    session.add_all(CustomerTag(customer_id=int(r.customer_id), tag_id=ids[r.name], source=TagSource.auto,
                                reason=r.reason[:255], created_at=now)
                    for r in rows if (int(r.customer_id), ids[r.name]) not in manual)
    # One query loads them all; the loop below then finds each in the identity map.
    session.scalars(select(Customer).where(Customer.id.in_(list(customer_ids)))).all()
    for cid, stage, paid, spent, first_paid, last_paid in result.derived.itertuples():
        customer = session.get(Customer, int(cid))
        customer.stage = Stage(stage)
        customer.paid_orders = int(paid)
        customer.total_spent_fen = int(spent)
        customer.first_paid_at = None if pd.isna(first_paid) else pd.Timestamp(first_paid).to_pydatetime()
        customer.last_paid_at = None if pd.isna(last_paid) else pd.Timestamp(last_paid).to_pydatetime()
        session.expire(customer, ["tags"])
    session.flush()


def _sqlite_time(series: pd.Series) -> list:
    # Same text form SQLAlchemy's SQLite DateTime writes, so comparisons in SQL stay right.
    text = series.dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    return [None if pd.isna(v) else v for v in text]


def write_bulk(session: Session, result: TagResult, progress: Progress | None = None,
               batch: int = 50_000) -> None:
    """Replace every customer's automatic tags and derived columns, set-based."""
    step = progress or (lambda _name: None)
    tags = _rows_to_write(session, result, None)
    conn = session.connection()
    dialect = conn.dialect.name
    session.execute(delete(CustomerTag).where(CustomerTag.source == TagSource.auto))
    now = utcnow()
    derived = result.derived
    if dialect == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            with cur.copy("COPY customer_tags (customer_id, tag_id, source, reason, created_at) FROM STDIN") as copy:
                for r in zip(tags["customer_id"].tolist(), tags["tag_id"].tolist(), tags["reason"].str.slice(0, 255).tolist()):
                    copy.write_row((r[0], r[1], "auto", r[2], now))
            step("tags written")
            cur.execute("CREATE TEMP TABLE retag_derived (id bigint, stage varchar(16), paid_orders int, "
                        "total_spent_fen bigint, first_paid_at timestamptz, last_paid_at timestamptz) ON COMMIT DROP")
            with cur.copy("COPY retag_derived FROM STDIN") as copy:
                for row in zip(derived.index.tolist(), derived["stage"].tolist(), derived["paid_orders"].tolist(),
                               derived["total_spent_fen"].tolist(), _py_times(derived["first_paid_at"]),
                               _py_times(derived["last_paid_at"])):
                    copy.write_row(row)
            cur.execute("UPDATE customers c SET stage = d.stage, paid_orders = d.paid_orders, "
                        "total_spent_fen = d.total_spent_fen, first_paid_at = d.first_paid_at, "
                        "last_paid_at = d.last_paid_at FROM retag_derived d WHERE c.id = d.id AND "
                        "(c.stage IS DISTINCT FROM d.stage OR c.paid_orders <> d.paid_orders OR "
                        "c.total_spent_fen <> d.total_spent_fen OR c.first_paid_at IS DISTINCT FROM d.first_paid_at "
                        "OR c.last_paid_at IS DISTINCT FROM d.last_paid_at)")
        step("customers written")
        return
    raw = conn.connection.driver_connection
    cur = raw.cursor()
    created = now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = list(zip(tags["customer_id"].tolist(), tags["tag_id"].tolist(), tags["reason"].str.slice(0, 255).tolist()))
    for start in range(0, len(rows), batch):
        cur.executemany("INSERT INTO customer_tags (customer_id, tag_id, source, reason, created_at) "
                        f"VALUES (?, ?, 'auto', ?, '{created}')", rows[start:start + batch])
    step("tags written")
    updates = list(zip(derived["stage"].tolist(), derived["paid_orders"].tolist(),
                       derived["total_spent_fen"].tolist(), _sqlite_time(derived["first_paid_at"]),
                       _sqlite_time(derived["last_paid_at"]), derived.index.tolist()))
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS retag_derived (stage TEXT, paid_orders INT, total_spent_fen INT, "
                "first_paid_at TEXT, last_paid_at TEXT, id INTEGER PRIMARY KEY)")
    cur.execute("DELETE FROM retag_derived")
    cur.executemany("INSERT INTO retag_derived VALUES (?, ?, ?, ?, ?, ?)", updates)
    cur.execute("UPDATE customers SET stage = d.stage, paid_orders = d.paid_orders, "
                "total_spent_fen = d.total_spent_fen, first_paid_at = d.first_paid_at, "
                "last_paid_at = d.last_paid_at FROM retag_derived d WHERE customers.id = d.id AND "
                "(customers.stage IS NOT d.stage OR customers.paid_orders <> d.paid_orders OR "
                "customers.total_spent_fen <> d.total_spent_fen OR customers.first_paid_at IS NOT d.first_paid_at "
                "OR customers.last_paid_at IS NOT d.last_paid_at)")
    cur.execute("DELETE FROM retag_derived")
    cur.close()
    step("customers written")


def _py_times(series: pd.Series) -> list:
    return [None if pd.isna(v) else v.to_pydatetime() for v in series]


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
    from assistant.tags_few import compute_few

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

__all__ = ["retag_customers", "retag_all", "compute_tags", "load_facts", "TagResult", "Facts",
           "FIXED_TAGS", "tag_meta", "paid_order_clause", "birthday_offsets", "RETAG_STEPS"]
