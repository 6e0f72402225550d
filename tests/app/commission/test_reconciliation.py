"""Reconciliation: for a demo-like brand, the ledger equals the rules applied to the attributed
orders minus refunds, exactly, in fen — recomputed here by a plain, independent reference.

The brand is the demo seeder's (``app.demo``, when it is there) and a generated one with
handovers, split orders, in-store sales, chats and refunds. History goes through the batch command, then a few
live refunds go through the event path, and both are checked against the reference.
"""
from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest

from models.base import utcnow
from sqlalchemy import select

from app.commission import attribution
from models import (CommissionEntry, CommissionRule, Conversation, Customer, Direction, FollowerBinding, Message,
                    MessageStatus, Order, OrderItem, Product, Role, Setting, Staff)
from models.commerce import PAID_STATUSES
from tests import factories as f

UTC = dt.timezone.utc
TZ = ZoneInfo("Asia/Shanghai")
CONFIG = {"order": ["in_store", "split", "owner", "last_touch"], "last_touch_days": 7,
          "split": {"between": ["owner", "last_touch"], "first_share_bp": 6000}}


def _seed_brand(db, source: str = "demo") -> None:
    try:
        from app.demo import generate_demo
    except ImportError:
        generate_demo = None
    if source == "demo" and generate_demo is not None:
        generate_demo(db, customers=150, seed=7)
        return
    rng = random.Random(7)
    now = utcnow().replace(microsecond=0)
    with db.transaction() as s:
        store = f.store(s)
        clerks = [f.staff(s, Role.clerk, store) for _ in range(4)]
        products = [f.product(s, category=c, price_fen=rng.randrange(500, 50000))
                    for c in ("skincare", "apparel", "snacks", "appliances") for _ in range(3)]
        for _ in range(60):
            c = f.customer(s)
            start = now - dt.timedelta(days=400)
            first = rng.choice(clerks)
            handover = start + dt.timedelta(days=rng.randrange(50, 350)) if rng.random() < 0.3 else None
            f.follow(s, c, first, since=start, ended_at=handover)
            if handover:
                f.follow(s, c, rng.choice([k for k in clerks if k is not first]), since=handover, channel="sms")
            conv = Conversation(customer_id=c.id, clerk_id=first.id, unread_count=0)
            s.add(conv)
            s.flush()
            for _ in range(rng.randrange(0, 6)):
                s.add(Message(conversation_id=conv.id, direction=Direction.outbound, channel="loopback",
                              body="hi", sender_id=rng.choice(clerks).id, status=MessageStatus.sent,
                              created_at=start + dt.timedelta(days=rng.randrange(0, 399))))
            for _ in range(rng.randrange(1, 6)):
                items = [(rng.choice(products), rng.randrange(1, 3)) for _ in range(rng.randrange(1, 4))]
                paid = start + dt.timedelta(days=rng.randrange(0, 399), minutes=rng.randrange(0, 1440))
                status = rng.choice(["paid", "completed", "completed", "refunded", "cancelled", "created"])
                o = f.order(s, c, items, status=status, paid_at=paid,
                            clerk_id=rng.choice(clerks).id if rng.random() < 0.3 else None)
                o.amount_fen = max(0, o.amount_fen - rng.randrange(0, 500))  # a discount
                if status == "refunded":
                    o.refund_amount_fen = o.amount_fen
                elif status == "completed" and rng.random() < 0.2:
                    o.refund_amount_fen = rng.randrange(0, o.amount_fen + 1)


def _rules(s, start: dt.datetime) -> None:
    sku = s.scalar(select(Product.sku).where(Product.category == "skincare").order_by(Product.id))
    mid = start + dt.timedelta(days=500)
    s.add_all([
        CommissionRule(name="全场 3%", kind="percent", rate_bp=300, effective_from=start, effective_to=mid),
        CommissionRule(name="全场 2.5%", kind="percent", rate_bp=250, effective_from=mid),
        CommissionRule(name="护肤 5%", kind="percent", category="skincare", rate_bp=500, effective_from=start),
        CommissionRule(name="爆品 8%", kind="percent", sku=sku, rate_bp=800, effective_from=start),
        CommissionRule(name="每单 2 元", kind="fixed", amount_fen=200, effective_from=start),
        CommissionRule(name="服饰单 1 元", kind="fixed", category="apparel", amount_fen=100, effective_from=start),
        CommissionRule(name="零食不计", kind="exclusion", category="snacks", effective_from=start),
        CommissionRule(name="月度阶梯", kind="tier", effective_from=start,
                       tiers=[{"from_fen": 0, "rate_bp": 0}, {"from_fen": 300_000, "rate_bp": 100},
                              {"from_fen": 1_000_000, "rate_bp": 200}]),
    ])
    s.add(Setting(key="attribution", value=CONFIG))


# --- The reference: the rules written out plainly, one order at a time ----------------------

def _half_up(num: int, den: int) -> int:
    return (2 * num + den) // (2 * den)


def _tier_total(x: int, tiers: list[dict]) -> int:
    num = 0
    for i, t in enumerate(tiers):
        end = tiers[i + 1]["from_fen"] if i + 1 < len(tiers) else None
        span = x - t["from_fen"] if end is None else min(x, end) - t["from_fen"]
        num += max(span, 0) * t["rate_bp"]
    return _half_up(num, 10_000)


def _effective(rule, when):
    return rule.effective_from <= when and (rule.effective_to is None or when < rule.effective_to)


def _matches(rule, sku, category):
    return sku == rule.sku if rule.sku else category == rule.category if rule.category else True


def reference(s) -> dict[int, int]:
    """Each clerk's commission: what the rules give the attributed orders, minus refunds."""
    rules = list(s.scalars(select(CommissionRule)))
    bindings = defaultdict(list)
    for b in s.scalars(select(FollowerBinding).where(FollowerBinding.is_owner.is_(True))):
        bindings[b.customer_id].append(b)
    touches = defaultdict(list)
    for cust, sender, at in s.execute(select(Conversation.customer_id, Message.sender_id, Message.created_at)
                                      .join(Conversation, Conversation.id == Message.conversation_id)
                                      .where(Message.direction == Direction.outbound,
                                             Message.sender_id.is_not(None))):
        touches[cust].append((at, sender))
    items = defaultdict(list)
    for oid, sku, cat, price, qty in s.execute(
            select(OrderItem.order_id, Product.sku, Product.category, OrderItem.price_fen, OrderItem.quantity)
            .join(Product, Product.id == OrderItem.product_id).order_by(OrderItem.id)):
        items[oid].append((sku, cat, price * qty))
    orders = list(s.scalars(select(Order).where(Order.paid_at.is_not(None),
                                                Order.status.in_(sorted(PAID_STATUSES)))
                            .order_by(Order.paid_at, Order.id)))
    totals: dict[int, int] = defaultdict(int)
    month_sales: dict[tuple[int, str], int] = defaultdict(int)
    for o in orders:
        paid = o.paid_at
        owner = next((b.clerk_id for b in sorted(bindings[o.customer_id], key=lambda b: b.since, reverse=True)
                      if b.since <= paid), None)
        owner_binding = next((b for b in sorted(bindings[o.customer_id], key=lambda b: b.since, reverse=True)
                              if b.since <= paid), None)
        if owner_binding is not None and owner_binding.ended_at is not None and owner_binding.ended_at <= paid:
            owner = None
        recent = [(at, who) for at, who in touches[o.customer_id]
                  if at <= paid and paid - at <= dt.timedelta(days=CONFIG["last_touch_days"])]
        last_touch = max(recent, key=lambda x: x[0])[1] if recent else None
        cands = {"in_store": o.clerk_id, "owner": owner, "last_touch": last_touch}
        shares = []
        for rule in CONFIG["order"]:
            if rule == "split":
                a, b = cands["owner"], cands["last_touch"]
                if a is not None and b is not None and a != b:
                    shares = [(a, 6000, True), (b, 4000, False)]
                    break
            elif cands[rule] is not None:
                shares = [(cands[rule], 10000, True)]
                break
        if not shares:
            continue
        lines = items[o.id] or [(None, None, o.amount_fen)]
        total_value = sum(v for _, _, v in lines)
        if total_value == 0:
            lines = [(sku, cat, 1) for sku, cat, _ in lines]
            total_value = len(lines)
        bases = [o.amount_fen * v // total_value for _, _, v in lines]
        rems = [o.amount_fen * v % total_value for _, _, v in lines]
        left = o.amount_fen - sum(bases)
        for i in sorted(range(len(lines)), key=lambda i: -rems[i])[:left]:
            bases[i] += 1
        excluded = [any(r.kind == "exclusion" and _effective(r, paid) and _matches(r, sku, cat) for r in rules)
                    for sku, cat, _ in lines]
        percent = []
        for (sku, cat, _), ex in zip(lines, excluded):
            fits = [r for r in rules if r.kind == "percent" and not ex and _effective(r, paid) and _matches(r, sku, cat)]
            best = max(fits, key=lambda r: (2 if r.sku else 1 if r.category else 0, r.priority, r.id), default=None)
            percent.append(best)
        refund = o.refund_amount_fen
        if o.status.value in ("cancelled", "refunded") and refund == 0:
            refund = o.amount_fen
        refund = min(refund, o.amount_fen)
        month = paid.astimezone(TZ).strftime("%Y-%m")
        tier = max((r for r in rules if r.kind == "tier" and _effective(r, paid)),
                   key=lambda r: (r.priority, r.id), default=None)
        others = {i: sum(b * bp // 10000 for _, bp, primary in shares if not primary) for i, b in enumerate(bases)}
        for clerk, bp, primary in shares:
            parts = [b - others[i] if primary else b * bp // 10000 for i, b in enumerate(bases)]
            commissionable = sum(p for p, ex in zip(parts, excluded) if not ex)
            earned: dict[int, int] = defaultdict(int)
            per_rule_base: dict[int, int] = defaultdict(int)
            for p, r in zip(parts, percent):
                if r is not None:
                    per_rule_base[r.id] += p
            for rid, base in per_rule_base.items():
                rate = next(r.rate_bp for r in rules if r.id == rid)
                earned[rid] += _half_up(base * rate, 10_000)
            for r in rules:
                if r.kind == "fixed" and _effective(r, paid) and any(
                        _matches(r, sku, cat) and not ex for (sku, cat, _), ex in zip(lines, excluded)):
                    other = sum(r.amount_fen * b // 10000 for _, b, pr in shares if not pr)
                    earned[r.id] += r.amount_fen - other if primary else r.amount_fen * bp // 10000
            if tier is not None:
                before = month_sales[(clerk, month)]
                earned[tier.id] += _tier_total(before + commissionable, tier.tiers) - _tier_total(before, tier.tiers)
            month_sales[(clerk, month)] += commissionable
            for amount in earned.values():
                reversed_ = _half_up(amount * refund, o.amount_fen) if o.amount_fen else (amount if refund else 0)
                totals[clerk] += amount - reversed_
    return dict(totals)


def _ledger_by_clerk(s) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for clerk, amount in s.execute(select(CommissionEntry.clerk_id, CommissionEntry.amount_fen)):
        totals[clerk] += amount
    return {k: v for k, v in totals.items() if v}


@pytest.mark.parametrize("source", ["demo", "generated"])
def test_ledger_reconciles_with_the_rules_to_the_fen(app, db, source):
    _seed_brand(db, source)
    with db.transaction() as s:
        start = min(s.scalars(select(Order.created_at))) - dt.timedelta(days=1)
        _rules(s, start)
    with app.app_context():
        first = attribution.attribute_history(db, chunk_size=250)  # several chunks: tiers carry over
        again = attribution.attribute_history(db, chunk_size=250)
    assert first["attributed"] > 0 and first["earned"] > 0 and first["reversed"] > 0
    assert again["attributed"] == again["earned"] == again["reversed"] == 0
    with db.Session() as s:
        assert _ledger_by_clerk(s) == {k: v for k, v in reference(s).items() if v}

    # Live refunds on top of history: half of five attributed orders, through the event path.
    with db.transaction() as s:
        victims = list(s.scalars(select(Order).where(Order.status == "completed", Order.refund_amount_fen == 0,
                                                     Order.amount_fen > 1).order_by(Order.id).limit(5)))
        for o in victims:
            o.refund_amount_fen = o.amount_fen // 2
        ids = [o.id for o in victims]
    with app.app_context(), db.transaction() as s:
        attribution.process_orders(s, ids)
    with db.Session() as s:
        assert _ledger_by_clerk(s) == {k: v for k, v in reference(s).items() if v}


def test_batch_command_reports_and_is_idempotent(app, db):
    _seed_brand(db)
    with db.transaction() as s:
        _rules(s, min(s.scalars(select(Order.created_at))) - dt.timedelta(days=1))
    runner = app.test_cli_runner()
    future = runner.invoke(args=["commission", "attribute", "--since", "2999-01-01"])
    assert future.exit_code == 0 and "done: 0 orders" in future.output, future.output
    first = runner.invoke(args=["commission", "attribute", "--chunk", "400"])
    assert first.exit_code == 0, first.output
    assert "done:" in first.output
    second = runner.invoke(args=["commission", "attribute"])
    assert "0 attributions, 0 earned, 0 reversed" in second.output
    with db.Session() as s:
        assert s.scalar(select(CommissionEntry.id).limit(1)) is not None


def test_default_rules_are_added_once(app, db):
    runner = app.test_cli_runner()
    assert "4 commission rules added" in runner.invoke(args=["commission", "default-rules"]).output
    assert "nothing added" in runner.invoke(args=["commission", "default-rules"]).output
