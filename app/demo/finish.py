"""After the demo rows are loaded: what head office would have set up, so every screen has data.

- commission rules and the attribution of the order history (the 业绩 screen);
- seed 001's selections saved as segments (the segment list, tasks and campaigns start from them);
- one open care task, split to the clerks who own those customers (the 任务 screen);
- the propensity model trained on the history (with its backtest) and every customer scored
  (the 今日 screen).

Each step goes through the same actions the application uses, so the demo shows real output.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask
from sqlalchemy import select

from app.db import Database
from assistant.lifecycle import REPEAT_MIN_PAID_ORDERS
from models import Role, Segment, Staff, Store

SCHOOL_WORDS = ["学校", "大学", "学院", "中学", "初中", "高中", "小学"]


def seed_segments(now: dt.datetime) -> list[tuple[str, str, dict]]:
    """Seed 001's selections, dated around the demo's own last Double-11 and Qixi."""
    year = now.year if (now.month, now.day) >= (11, 12) else now.year - 1
    d1111 = f"{year}-11-11"
    # Qixi (七夕) falls on different solar days; 2025-08-29 and 2026-08-19 are the recent ones.
    qixi = {2025: "2025-08-29", 2026: "2026-08-19"}.get(year, f"{year}-08-19")
    twice = {"field": "paid_orders", "op": ">=", "value": REPEAT_MIN_PAID_ORDERS}  # 老客
    return [
        ("复购两次以上", "买过 2 次及以上的老客", twice),
        ("复购两次以上（排除双十一买过的）", "买过 2 次及以上，且 11 月 10–11 日没有购买",
         {"all": [twice, {"not": {"field": "paid_between", "op": "during", "value": [f"{year}-11-10", d1111]}}]}),
        ("双十一首购新客", "第一次购买发生在双十一当天",
         {"field": "first_paid_at", "op": "during", "value": [d1111, d1111]}),
        ("七夕单笔超过 500 元", "七夕当天有一笔超过 ¥500 的订单",
         {"field": "order_amount", "op": ">", "value": 500, "during": [qixi, qixi]}),
        ("收货地址含学校", "地址包含 学校/大学/学院/中学…",
         {"field": "address", "op": "contains_any", "value": SCHOOL_WORDS}),
        ("未付款订单超过 100 元（催付）", "有未付款订单且金额超过 ¥100",
         {"field": "unpaid_order_amount", "op": ">", "value": 100}),
        ("休眠高价值老客", "买过 2 次及以上、已休眠且累计消费 ≥ ¥1,000",
         {"all": [{"field": "stage", "op": "in", "value": ["dormant"]}, twice,
                  {"field": "total_spent", "op": ">=", "value": 1000}]}),
    ]


def finish_demo(app: Flask, database: Database, now: dt.datetime,
                say: Callable[[str], None] = print) -> None:
    from app.care.actions import create_care_task
    from app.commission.attribution import attribute_history
    from app.commission.rules import seed_default_rules
    from app.coupons.actions import create_template

    with app.app_context():
        with database.transaction() as s:
            rules = seed_default_rules(s)
        totals = attribute_history(database)
        say(f"  commission: {len(rules)} rules, {totals['attributed']:,} orders attributed, "
            f"{totals['earned']:,} earned lines")

        with database.transaction() as s:
            hq = s.scalar(select(Staff).where(Staff.username == "hq", Staff.role == Role.hq))
            segments = {}
            for name, description, filter_ in seed_segments(now):
                seg = Segment(name=name, description=description, filter=filter_, created_by=hq.id)
                s.add(seg)
                s.flush()
                segments[name] = seg.id
            say(f"  segments: {len(segments)} saved")
        with database.transaction() as s:
            # Seed 004's story: the task comes with products (each customer's own page) and a coupon.
            coupon = create_template(s, {"name": "老客回店礼", "kind": "amount_off", "value": "30.00",
                                         "threshold": "299.00", "valid_days": 14}, hq.id)
            task, per_clerk = create_care_task(s, s.get(Staff, hq.id), {
                "title": "休眠高价值老客唤醒",
                "goal": "联系沉睡超过一个周期、累计消费过千的老客，推荐他们常买品类的新品",
                "segment_id": segments["休眠高价值老客"], "scenario": "休眠唤醒",
                "template": "{{ customer_name }}您好，我是{{ clerk_name }}，好久不见！店里到了几款新品，想着您可能会喜欢，"
                            "给您挑了几样放在专属页面里，还有一张满 299 减 30 的回店礼券～",
                "product_skus": _best_sellers(s, 3), "coupon_template_id": coupon.id,
                "deadline": now + dt.timedelta(days=5), "fallback": "mass_send"}, now=now)
            say(f"  care task: {sum(per_clerk.values()):,} targets for {len(per_clerk)} clerks, "
                f"{len(task.product_skus or [])} products and a coupon")

        with database.transaction() as s:
            set_for = _monthly_targets(s, s.get(Staff, hq.id), now)
            say(f"  targets: {set_for} clerks and stores have this month's target (the 业绩 screen, HQ 业绩目标, the assistant's gap plan)")

        _train_and_score(app, database, now, say)


def _monthly_targets(s, hq: Staff, now: dt.datetime) -> int:
    """Each clerk's target for this month: a tenth above last month's sales, in whole hundreds,
    set through the action head office's page uses."""
    from app.config import brand_timezone
    from app.targets.actions import set_targets, validate
    from app.targets.progress import net_sales

    local = now.astimezone(brand_timezone()).date()
    period = local.strftime("%Y-%m")
    last = (local.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    sold = net_sales(s, last)
    clerks = s.scalars(select(Staff).where(Staff.role == Role.clerk, Staff.active.is_(True))).all()
    amounts = {c.id: max(3000, -(-sold.get(c.id, 0) * 11 // 10 // 10000) * 100) for c in clerks}
    entries = [{"clerk": c.username, "amount": f"{amounts[c.id]}.00"} for c in clerks]
    per_store: dict[int, int] = {}
    for c in clerks:  # a store's target: its clerks' together
        if c.store_id is not None:
            per_store[c.store_id] = per_store.get(c.store_id, 0) + amounts[c.id]
    stores = {st.id: st.external_id for st in s.scalars(select(Store).where(Store.id.in_(per_store)))}
    entries += [{"store": stores[sid], "amount": f"{amount}.00"} for sid, amount in per_store.items()]
    _, wanted = validate(s, hq, {"period": period, "targets": entries})
    return set_targets(s, hq, period, wanted, now)


def _best_sellers(s, n: int) -> list[str]:
    """The brand's most-bought products: what a task's page would show first."""
    from sqlalchemy import func

    from models import OrderItem, Product

    rows = s.execute(select(Product.sku).join(OrderItem, OrderItem.product_id == Product.id)
                     .group_by(Product.sku).order_by(func.sum(OrderItem.quantity).desc(), Product.sku).limit(n))
    return [sku for (sku,) in rows]


def _train_and_score(app: Flask, database: Database, now: dt.datetime,
                     say: Callable[[str], None]) -> None:
    """Train (with its backtest) and score, as ``flask model train`` and ``flask model score`` do."""
    from app.model import service

    with database.transaction() as s:
        version = service.train(s, app, now=now, promote=True)
        ap = service.ranker_ap(version.metrics)
    scored = service.score_all(app, now=now)
    say(f"  model: {version.name} (AP@30d {ap:.3f}), {scored:,} customers scored")
