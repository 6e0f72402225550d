"""The commission arithmetic: attributed orders and the rules in force → each share's sales and ledger lines.

Plain Python and pandas; the rule kinds are described in ``assistant.commission_rules``. Amounts
are integer fen, rounded half up once per ledger line. What the customer paid is spread over the
order's lines by line value (largest remainder, exact). When an order is split, each clerk's
part of every line is ``line × share_bp / 10000`` rounded down, the primary clerk taking the
remainder, so parts add up to the line exactly. Tiers are marginal: an order earns
R(before + its sales) − R(before), so a clerk's month totals R(month sales) whatever the order in
which orders arrive.

``compute`` works over whole columns; ``compute_plain`` does the same one order at a time for the
handful of orders of one event (a test holds the two equal on random brands).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assistant.commission_rules import RuleSpec
from models.money import yuan

_INT64_SAFE = 2**62
SMALL_BATCH = 50  # orders; below this, plain Python beats pandas' fixed costs


def round_half_up_div(num: np.ndarray, den: int | np.ndarray) -> np.ndarray:
    """num / den rounded half up, in integers (num ≥ 0, den > 0)."""
    return (2 * num + den) // (2 * den)


def tier_total(cumulative: np.ndarray, tiers: tuple[tuple[int, int], ...]) -> np.ndarray:
    """R(x): commission on month-to-date sales x under marginal tiers, rounded to fen."""
    num = np.zeros_like(cumulative, dtype=np.int64)
    for i, (start, rate) in enumerate(tiers):
        end = tiers[i + 1][0] if i + 1 < len(tiers) else None
        span = cumulative - start
        if end is not None:
            span = np.minimum(span, end - start)
        num += np.maximum(span, 0) * rate
    return round_half_up_div(num, 10_000)


def _effective(rule: RuleSpec, paid_at: pd.Series) -> np.ndarray:
    mask = (paid_at >= pd.Timestamp(rule.effective_from)).to_numpy(copy=True)
    if rule.effective_to is not None:
        mask = mask & (paid_at < pd.Timestamp(rule.effective_to)).to_numpy()
    return mask


def _matches(rule: RuleSpec, lines: pd.DataFrame) -> np.ndarray:
    if rule.sku:
        return (lines["sku"] == rule.sku).to_numpy()
    if rule.category:
        return (lines["category"] == rule.category).to_numpy()
    return np.ones(len(lines), dtype=bool)


@dataclass
class Commission:
    """What ``compute`` found: each share's sales and the ledger lines to book."""

    shares: pd.DataFrame   # order_id, clerk_id, sales_fen, commissionable_fen
    entries: pd.DataFrame  # order_id, clerk_id, rule_id, kind, amount_fen, base_fen, explanation


def order_lines(orders: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Each order's amount spread over its lines by line value (largest remainder, exact).

    What the customer paid (after discounts) is what commission is on. An order with no lines is
    one line of no sku or category. Returns order_id, line, sku, category, paid_at, base_fen.
    """
    lines = lines[lines["order_id"].isin(orders["order_id"])]
    bare = orders.loc[~orders["order_id"].isin(lines["order_id"]), ["order_id", "amount_fen"]]
    lines = pd.concat([
        lines[["order_id", "sku", "category", "value_fen"]],
        pd.DataFrame({"order_id": bare["order_id"].to_numpy(), "sku": None, "category": None,
                      "value_fen": bare["amount_fen"].to_numpy()}),
    ], ignore_index=True)
    lines = lines.merge(orders[["order_id", "paid_at", "amount_fen"]], on="order_id", how="inner")
    lines = lines.sort_values(["order_id"], kind="stable").reset_index(drop=True)
    value = lines["value_fen"].to_numpy(dtype=np.int64).clip(min=0)
    order_key = lines["order_id"].to_numpy(dtype=np.int64)
    total = pd.Series(value).groupby(order_key).transform("sum").to_numpy()
    value = np.where(total == 0, 1, value)  # free lines: spread evenly
    total = pd.Series(value).groupby(order_key).transform("sum").to_numpy()
    amount = lines["amount_fen"].to_numpy(dtype=np.int64)
    if len(amount) and int(amount.max()) * int(value.max()) >= _INT64_SAFE:
        raise ValueError("order amounts too large to spread exactly in 64-bit integers")
    exact = amount * value
    base = exact // total
    left = amount - pd.Series(base).groupby(order_key).transform("sum").to_numpy()
    rem = exact % total
    rank = pd.DataFrame({"o": order_key, "r": -rem}).groupby("o")["r"].rank(method="first").to_numpy() - 1
    base = base + (rank < left)
    return pd.DataFrame({"order_id": order_key, "line": np.arange(len(lines)), "sku": lines["sku"].to_numpy(),
                         "category": lines["category"].to_numpy(), "paid_at": lines["paid_at"],
                         "base_fen": base.astype(np.int64)})


def _split_parts(totals: np.ndarray, share_bp: np.ndarray, primary: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Each share's part of ``totals`` (one per row, rows of a ``key`` sharing one total)."""
    part = totals * share_bp // 10_000
    others = pd.Series(np.where(primary, 0, part)).groupby(key).transform("sum").to_numpy()
    return np.where(primary, totals - others, part)


def compute(shares: pd.DataFrame, orders: pd.DataFrame, lines: pd.DataFrame, rules: list[RuleSpec],
            month_to_date: pd.DataFrame | None = None) -> Commission:
    """The commission of attributed orders.

    ``shares``: order_id, clerk_id, share_bp, primary (from ``attribution.attribute_frame``).
    ``orders``: order_id, paid_at (UTC), period (YYYY-MM paid in), amount_fen.
    ``lines``: order_id, sku, category, value_fen (price × quantity).
    ``month_to_date``: clerk_id, period, commissionable_fen already attributed before these orders
    (for tiers); orders here count in (paid_at, order_id) order after those.

    A handful of orders (one order event) goes through ``compute_plain``, the same arithmetic
    one order at a time: pandas costs ~0.1 s of fixed overhead that a clerk waiting for "你刚赚了"
    should not pay. A test holds the two equal on random brands.
    """
    if len(orders) <= SMALL_BATCH:
        return compute_plain(shares, orders, lines, rules, month_to_date)
    ol = order_lines(orders, lines)
    paid_at = ol["paid_at"]
    excluded = np.zeros(len(ol), dtype=bool)
    for rule in rules:
        if rule.kind == "exclusion":
            excluded |= _effective(rule, paid_at) & _matches(rule, ol)
    percent_rule = np.full(len(ol), -1, dtype=np.int64)
    rates: dict[int, int] = {}
    for rule in sorted((r for r in rules if r.kind == "percent"), key=lambda r: (r.specificity, r.priority, r.id)):
        percent_rule[_effective(rule, paid_at) & _matches(rule, ol) & ~excluded] = rule.id
        rates[rule.id] = int(rule.rate_bp or 0)
    ol["excluded"] = excluded
    ol["percent_rule"] = percent_rule

    # Every line, once per clerk the order counts for.
    parts = ol.merge(shares[["order_id", "clerk_id", "share_bp", "primary"]], on="order_id", how="inner")
    parts["part"] = _split_parts(parts["base_fen"].to_numpy(), parts["share_bp"].to_numpy(dtype=np.int64),
                                 parts["primary"].to_numpy(dtype=bool), parts["line"].to_numpy())
    parts["commissionable"] = np.where(parts["excluded"].to_numpy(), 0, parts["part"].to_numpy())
    per_share = (parts.groupby(["order_id", "clerk_id"], sort=False)
                 .agg(sales_fen=("part", "sum"), commissionable_fen=("commissionable", "sum"))
                 .reset_index())
    per_share = per_share.merge(shares[["order_id", "clerk_id", "share_bp", "primary"]],
                                on=["order_id", "clerk_id"])

    entries = [_percent_entries(parts, rates), _fixed_entries(ol, per_share, orders, rules),
               _tier_entries(per_share, orders, rules, month_to_date)]
    entries_df = pd.concat([e for e in entries if len(e)], ignore_index=True) if any(len(e) for e in entries) \
        else _empty_entries()
    entries_df = entries_df[entries_df["amount_fen"] != 0].reset_index(drop=True)
    return Commission(shares=per_share[["order_id", "clerk_id", "sales_fen", "commissionable_fen"]],
                      entries=entries_df)


def _empty_entries() -> pd.DataFrame:
    return pd.DataFrame({"order_id": pd.Series(dtype=np.int64), "clerk_id": pd.Series(dtype=np.int64),
                         "rule_id": pd.Series(dtype=np.int64), "kind": pd.Series(dtype=object),
                         "amount_fen": pd.Series(dtype=np.int64), "base_fen": pd.Series(dtype=np.int64),
                         "explanation": pd.Series(dtype=object)})


def _percent_entries(parts: pd.DataFrame, rates: dict[int, int]) -> pd.DataFrame:
    matched = parts[parts["percent_rule"] >= 0]
    if matched.empty:
        return _empty_entries()
    g = (matched.groupby(["order_id", "clerk_id", "percent_rule"], sort=False)["part"].sum()
         .reset_index().rename(columns={"percent_rule": "rule_id", "part": "base_fen"}))
    rate = g["rule_id"].map(rates).to_numpy(dtype=np.int64)
    g["amount_fen"] = round_half_up_div(g["base_fen"].to_numpy(dtype=np.int64) * rate, 10_000)
    g["kind"] = "percent"
    g["explanation"] = None
    return g


def _fixed_entries(ol: pd.DataFrame, per_share: pd.DataFrame, orders: pd.DataFrame,
                   rules: list[RuleSpec]) -> pd.DataFrame:
    out = []
    for rule in (r for r in rules if r.kind == "fixed"):
        hit = _effective(rule, ol["paid_at"]) & _matches(rule, ol) & ~ol["excluded"].to_numpy()
        if not hit.any():
            continue
        order_ids = ol["order_id"].to_numpy()
        offset = int(order_ids.min())
        order_hit = np.zeros(int(order_ids.max()) - offset + 1, dtype=bool)
        order_hit[order_ids[hit] - offset] = True
        pos = per_share["order_id"].to_numpy() - offset
        inside = (pos >= 0) & (pos < len(order_hit))
        s = per_share[inside & order_hit[np.where(inside, pos, 0)]]
        amount = _split_parts(np.full(len(s), int(rule.amount_fen or 0), dtype=np.int64),
                              s["share_bp"].to_numpy(dtype=np.int64), s["primary"].to_numpy(dtype=bool),
                              s["order_id"].to_numpy())
        out.append(pd.DataFrame({"order_id": s["order_id"].to_numpy(), "clerk_id": s["clerk_id"].to_numpy(),
                                 "rule_id": rule.id, "base_fen": s["commissionable_fen"].to_numpy(),
                                 "amount_fen": amount, "kind": "fixed", "explanation": None}))
    return pd.concat(out, ignore_index=True) if out else _empty_entries()


def _tier_entries(per_share: pd.DataFrame, orders: pd.DataFrame, rules: list[RuleSpec],
                  month_to_date: pd.DataFrame | None) -> pd.DataFrame:
    tier_rules = sorted((r for r in rules if r.kind == "tier"), key=lambda r: (r.priority, r.id))
    if not tier_rules or per_share.empty:
        return _empty_entries()
    o = orders[["order_id", "paid_at", "period"]].copy()
    rule_of = np.full(len(o), -1, dtype=np.int64)
    for rule in tier_rules:  # ascending, so the highest priority (then newest) is written last
        rule_of[_effective(rule, o["paid_at"])] = rule.id
    o["rule_id"] = rule_of
    s = per_share.merge(o, on="order_id")
    s = s.sort_values(["clerk_id", "period", "paid_at", "order_id"], kind="stable").reset_index(drop=True)
    base = s["commissionable_fen"].to_numpy(dtype=np.int64)
    within = s.groupby(["clerk_id", "period"], sort=False)["commissionable_fen"].cumsum().to_numpy() - base
    prior = np.zeros(len(s), dtype=np.int64)
    if month_to_date is not None and len(month_to_date):
        prior = (s[["clerk_id", "period"]].merge(month_to_date, on=["clerk_id", "period"], how="left")
                 ["commissionable_fen"].fillna(0).to_numpy(dtype=np.int64))
    before = prior + within
    amount = np.zeros(len(s), dtype=np.int64)
    rule_ids = s["rule_id"].to_numpy()
    for rule in tier_rules:
        m = rule_ids == rule.id
        amount[m] = tier_total(before[m] + base[m], rule.tiers) - tier_total(before[m], rule.tiers)
    keep = rule_ids >= 0
    out = pd.DataFrame({"order_id": s["order_id"].to_numpy()[keep], "clerk_id": s["clerk_id"].to_numpy()[keep],
                        "rule_id": rule_ids[keep], "base_fen": base[keep], "amount_fen": amount[keep],
                        "kind": "tier", "before": before[keep]})
    out = out[out["amount_fen"] != 0]
    # Why this rate: the month-to-date sales the order started from (not derivable later).
    before = out.pop("before")
    out["explanation"] = "mtd:" + (before // 100).astype(str) + "." + (before % 100).astype(str).str.zfill(2)
    return out


def reversals(earned: pd.DataFrame) -> pd.DataFrame:
    """Reversal lines still to book, proportional to the refunded part of each order.

    ``earned``: order_id, clerk_id, rule_id, earned_fen, reversed_fen (≤ 0, booked so far),
    amount_fen, refund_fen. The reversal an order should carry is earned × refund / amount
    (rounded half up; a full refund reverses exactly what was earned); the line to book is that
    minus what is already reversed. Returns the rows with ``delta_fen`` ≠ 0.
    """
    e = earned.copy()
    amount = e["amount_fen"].to_numpy(dtype=np.int64)
    refund = np.minimum(e["refund_fen"].to_numpy(dtype=np.int64), amount)
    earned_fen = e["earned_fen"].to_numpy(dtype=np.int64)
    safe = np.where(amount > 0, amount, 1)
    target = np.where(amount > 0, round_half_up_div(earned_fen * refund, safe), np.where(refund > 0, earned_fen, 0))
    e["target_fen"] = -target
    e["delta_fen"] = e["target_fen"] - e["reversed_fen"].to_numpy(dtype=np.int64)
    return e[e["delta_fen"] != 0].reset_index(drop=True)


def _in_effect(rule: RuleSpec, when: dt.datetime) -> bool:
    return rule.effective_from <= when and (rule.effective_to is None or when < rule.effective_to)


def _fits(rule: RuleSpec, sku: Any, category: Any) -> bool:
    return sku == rule.sku if rule.sku else category == rule.category if rule.category else True


def _tier_total_one(x: int, tiers: tuple[tuple[int, int], ...]) -> int:
    return int(tier_total(np.array([x], dtype=np.int64), tiers)[0])


def compute_plain(shares: pd.DataFrame, orders: pd.DataFrame, lines: pd.DataFrame, rules: list[RuleSpec],
                  month_to_date: pd.DataFrame | None = None) -> Commission:
    """``compute`` one order at a time in plain Python (same inputs, same result)."""
    order_rows = orders.to_dict("records")
    by_order_lines: dict[int, list[tuple[Any, Any, int]]] = {int(o["order_id"]): [] for o in order_rows}
    for r in lines[["order_id", "sku", "category", "value_fen"]].itertuples(index=False):
        if int(r.order_id) in by_order_lines:
            by_order_lines[int(r.order_id)].append((r.sku, r.category, int(r.value_fen)))
    share_rows: dict[int, list[tuple[int, int, bool]]] = {}
    for r in shares[["order_id", "clerk_id", "share_bp", "primary"]].itertuples(index=False):
        share_rows.setdefault(int(r.order_id), []).append((int(r.clerk_id), int(r.share_bp), bool(r.primary)))
    mtd: dict[tuple[int, str], int] = {}
    if month_to_date is not None:
        for r in month_to_date.itertuples(index=False):
            mtd[(int(r.clerk_id), r.period)] = int(r.commissionable_fen)
    share_out: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    tier_queue: list[tuple[int, str, Any, int, int, RuleSpec]] = []
    for o in order_rows:
        oid = int(o["order_id"])
        if oid in share_rows:
            _plain_order(o, by_order_lines[oid], share_rows[oid], rules, share_out, entries, tier_queue)
    _plain_tiers(tier_queue, mtd, entries)
    entries = [e for e in entries if e["amount_fen"] != 0]
    entries_df = pd.DataFrame(entries, columns=list(_empty_entries().columns)) if entries else _empty_entries()
    shares_df = pd.DataFrame(share_out, columns=["order_id", "clerk_id", "sales_fen", "commissionable_fen"])
    return Commission(shares=shares_df, entries=entries_df)


def _spread(amount: int, ls: list[tuple[Any, Any, int]]) -> list[int]:
    """``amount`` over the lines by value, largest remainder first (as ``order_lines`` does)."""
    values = [max(v, 0) for _, _, v in ls]
    if sum(values) == 0:
        values = [1] * len(ls)
    total = sum(values)
    base = [amount * v // total for v in values]
    rem = [amount * v % total for v in values]
    for i in sorted(range(len(ls)), key=lambda i: -rem[i])[:amount - sum(base)]:
        base[i] += 1
    return base


def _plain_order(o: dict[str, Any], ls: list[tuple[Any, Any, int]], sh: list[tuple[int, int, bool]],
                 rules: list[RuleSpec], share_out: list[dict[str, Any]], entries: list[dict[str, Any]],
                 tier_queue: list[tuple[int, str, Any, int, int, RuleSpec]]) -> None:
    """One order's shares and its percent and fixed lines; its tier lines wait in ``tier_queue``
    (they depend on the clerk's earlier orders of the month)."""
    oid, amount = int(o["order_id"]), int(o["amount_fen"])
    paid = pd.Timestamp(o["paid_at"]).to_pydatetime()
    ls = ls or [(None, None, amount)]
    base = _spread(amount, ls)
    percent_rules = [r for r in rules if r.kind == "percent"]
    excluded = [any(r.kind == "exclusion" and _in_effect(r, paid) and _fits(r, sku, cat) for r in rules)
                for sku, cat, _ in ls]
    best = [None if ex else max((r for r in percent_rules if _in_effect(r, paid) and _fits(r, sku, cat)),
                                key=lambda r: (r.specificity, r.priority, r.id), default=None)
            for (sku, cat, _), ex in zip(ls, excluded)]
    tier = max((r for r in rules if r.kind == "tier" and _in_effect(r, paid)),
               key=lambda r: (r.priority, r.id), default=None)
    for clerk, bp, primary in sh:
        parts = [b - sum(b * obp // 10_000 for _, obp, op in sh if not op) if primary else b * bp // 10_000
                 for b in base]
        commissionable = sum(p for p, ex in zip(parts, excluded) if not ex)
        share_out.append({"order_id": oid, "clerk_id": clerk, "sales_fen": sum(parts),
                          "commissionable_fen": commissionable})
        per_rule: dict[int, int] = {}
        for p, r in zip(parts, best):
            if r is not None:
                per_rule[r.id] = per_rule.get(r.id, 0) + p
        for rule_id, b in per_rule.items():
            rate = next(int(r.rate_bp or 0) for r in percent_rules if r.id == rule_id)
            entries.append({"order_id": oid, "clerk_id": clerk, "rule_id": rule_id, "kind": "percent",
                            "amount_fen": (2 * b * rate + 10_000) // 20_000, "base_fen": b, "explanation": None})
        for r in rules:
            if r.kind == "fixed" and _in_effect(r, paid) and any(
                    _fits(r, sku, cat) and not ex for (sku, cat, _), ex in zip(ls, excluded)):
                fixed = int(r.amount_fen or 0)
                others = sum(fixed * obp // 10_000 for _, obp, op in sh if not op)
                entries.append({"order_id": oid, "clerk_id": clerk, "rule_id": r.id, "kind": "fixed",
                                "amount_fen": fixed - others if primary else fixed * bp // 10_000,
                                "base_fen": commissionable, "explanation": None})
        if tier is not None:
            tier_queue.append((clerk, o["period"], paid, oid, commissionable, tier))


def _plain_tiers(tier_queue: list[tuple[int, str, Any, int, int, RuleSpec]], mtd: dict[tuple[int, str], int],
                 entries: list[dict[str, Any]]) -> None:
    """The tier lines, each clerk's orders of a month in (paid_at, order_id) order."""
    for clerk, period, _, oid, b, tier in sorted(tier_queue, key=lambda q: (q[0], q[1], q[2], q[3])):
        before = mtd.get((clerk, period), 0)
        mtd[(clerk, period)] = before + b
        amount = _tier_total_one(before + b, tier.tiers) - _tier_total_one(before, tier.tiers)
        entries.append({"order_id": oid, "clerk_id": clerk, "rule_id": tier.id, "kind": "tier",
                        "amount_fen": amount, "base_fen": b, "explanation": "mtd:" + yuan(before)})
