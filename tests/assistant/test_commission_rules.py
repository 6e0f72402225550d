"""Commission arithmetic: each rule type, effective dates, splits, refunds, validation."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from assistant import commission_compute as cc
from assistant import commission_rules as cr

UTC = dt.timezone.utc
NOV = dt.datetime(2026, 11, 1, tzinfo=UTC)
PAID = pd.Timestamp("2026-11-11 10:00", tz="UTC")


def rule(id, kind, **kw):
    kw.setdefault("effective_from", NOV)
    return cr.RuleSpec(id=id, name=f"r{id}", kind=kind, **kw)


def orders(*rows):
    """rows: (order_id, amount_fen[, paid_at])."""
    return pd.DataFrame({"order_id": [r[0] for r in rows], "amount_fen": [r[1] for r in rows],
                         "paid_at": [r[2] if len(r) > 2 else PAID for r in rows],
                         "period": "2026-11"})


def lines(*rows):
    """rows: (order_id, sku, category, value_fen)."""
    return pd.DataFrame(rows, columns=["order_id", "sku", "category", "value_fen"])


def whole(order_ids, clerk=1):
    return pd.DataFrame({"order_id": order_ids, "clerk_id": clerk, "share_bp": 10000, "primary": True})


def by_rule(result):
    return result.entries.groupby("rule_id")["amount_fen"].sum().to_dict()


def test_percent_by_category_and_the_more_specific_sku_rule_wins():
    rules = [rule(1, "percent", rate_bp=300), rule(2, "percent", category="skincare", rate_bp=500),
             rule(3, "percent", sku="HERO", rate_bp=800)]
    res = cc.compute(whole([1]), orders((1, 60000)),
                     lines((1, "HERO", "skincare", 10000), (1, "CREAM", "skincare", 20000), (1, "TEE", "apparel", 30000)),
                     rules)
    assert by_rule(res) == {1: 900, 2: 1000, 3: 800}  # 3% of 300, 5% of 200, 8% of 100 yuan


def test_fixed_amount_per_order_only_when_a_line_matches():
    rules = [rule(1, "fixed", amount_fen=500), rule(2, "fixed", category="apparel", amount_fen=300)]
    res = cc.compute(whole([1, 2]), orders((1, 10000), (2, 10000)),
                     lines((1, "A", "skincare", 10000), (2, "T", "apparel", 10000)), rules)
    got = res.entries.groupby(["order_id", "rule_id"])["amount_fen"].sum().to_dict()
    assert got == {(1, 1): 500, (2, 1): 500, (2, 2): 300}


def test_tiers_are_marginal_and_the_month_total_does_not_depend_on_arrival_order():
    tiers = rule(1, "tier", tiers=((0, 100), (1_000_000, 300), (3_000_000, 500)))  # 1% / 3% from ¥10k / 5% from ¥30k
    amounts = [800_000, 700_000, 1_300_000, 900_000]
    o = orders(*[(i + 1, a, PAID + pd.Timedelta(hours=i)) for i, a in enumerate(amounts)])
    all_at_once = cc.compute(whole(o["order_id"].tolist()), o, lines(), [tiers]).entries["amount_fen"].sum()
    total = sum(amounts)  # 3,700,000: 1% of 1M + 3% of 2M + 5% of 0.7M
    assert all_at_once == 10_000 + 60_000 + 35_000
    # Same orders one at a time, newest first, carrying month-to-date like the live path does.
    mtd, one_by_one = 0, 0
    for i in reversed(range(len(amounts))):
        res = cc.compute(whole([i + 1]), o.iloc[[i]], lines(), [tiers],
                         pd.DataFrame({"clerk_id": [1], "period": ["2026-11"], "commissionable_fen": [mtd]}))
        one_by_one += int(res.entries["amount_fen"].sum())
        mtd += amounts[i]
    assert one_by_one == all_at_once
    assert cc.tier_total(np.array([total]), tiers.tiers)[0] == all_at_once


def test_exclusions_earn_nothing_and_do_not_count_for_tiers():
    rules = [rule(1, "percent", rate_bp=1000), rule(2, "exclusion", category="clearance"),
             rule(3, "tier", tiers=((0, 0), (10_000, 1000)))]
    res = cc.compute(whole([1]), orders((1, 30000)),
                     lines((1, "OLD", "clearance", 20000), (1, "NEW", "skincare", 10000)), rules)
    assert by_rule(res) == {1: 1000}  # 10% of the ¥100 non-clearance line; tier threshold ¥100 not passed
    assert res.shares[["sales_fen", "commissionable_fen"]].iloc[0].tolist() == [30000, 10000]


def test_a_rule_applies_only_to_orders_paid_while_it_is_effective():
    change = dt.datetime(2026, 11, 15, tzinfo=UTC)
    rules = [rule(1, "percent", rate_bp=300, effective_to=change),
             rule(2, "percent", rate_bp=500, effective_from=change)]
    o = orders((1, 10000, pd.Timestamp(change) - pd.Timedelta(seconds=1)), (2, 10000, pd.Timestamp(change)))
    res = cc.compute(whole([1, 2]), o, lines(), rules)
    assert res.entries.set_index("order_id")[["rule_id", "amount_fen"]].to_dict("index") == {
        1: {"rule_id": 1, "amount_fen": 300}, 2: {"rule_id": 2, "amount_fen": 500}}


def test_discounted_amount_is_spread_over_lines_exactly():
    res = cc.compute(whole([1]), orders((1, 10001)),
                     lines((1, "A", "x", 3333), (1, "B", "y", 3333), (1, "C", "z", 3334)),
                     [rule(1, "percent", category="x", rate_bp=10000)])
    ol = cc.order_lines(orders((1, 10001)), lines((1, "A", "x", 3333), (1, "B", "y", 3333), (1, "C", "z", 3334)))
    assert ol["base_fen"].sum() == 10001
    assert by_rule(res)[1] == ol.loc[ol["sku"] == "A", "base_fen"].iloc[0]


def test_split_parts_add_up_to_the_whole_in_fen():
    shares = pd.DataFrame({"order_id": [1, 1], "clerk_id": [1, 2], "share_bp": [3333, 6667], "primary": [True, False]})
    res = cc.compute(shares, orders((1, 10001)), lines(), [rule(1, "percent", rate_bp=10000),
                                                           rule(2, "fixed", amount_fen=101)])
    assert res.shares["sales_fen"].sum() == 10001
    fixed = res.entries[res.entries["rule_id"] == 2].set_index("clerk_id")["amount_fen"].to_dict()
    assert fixed == {1: 101 - 101 * 6667 // 10000, 2: 101 * 6667 // 10000}


def test_partial_then_full_refund_reverses_proportionally_then_exactly():
    earned = pd.DataFrame({"order_id": [1], "clerk_id": [1], "rule_id": [1], "earned_fen": [1280],
                           "reversed_fen": [0], "amount_fen": [30000], "refund_fen": [10000]})
    first = cc.reversals(earned)
    assert first["delta_fen"].tolist() == [-427]  # 1280 / 3 = 426.67 → 427
    full = earned.assign(reversed_fen=-427, refund_fen=30000)
    assert cc.reversals(full)["delta_fen"].tolist() == [-853]  # what is left, to the fen
    assert cc.reversals(full.assign(reversed_fen=-1280)).empty  # replay: nothing more


@pytest.mark.parametrize("payload, field", [
    ({"name": "x", "kind": "percent", "rate_bp": 10001}, "rate_bp"),
    ({"name": "x", "kind": "percent", "rate_bp": 300, "sku": "A", "category": "b"}, "sku"),
    ({"name": "x", "kind": "fixed", "amount": "5.001"}, "amount"),
    ({"name": "x", "kind": "fixed", "amount": "5.00", "rate_bp": 3}, "rate_bp"),
    ({"name": "x", "kind": "tier", "tiers": [{"from": "100.00", "rate_bp": 100}]}, "tiers[0].from"),
    ({"name": "x", "kind": "tier", "tiers": [{"from": "0", "rate_bp": 100}, {"from": "0", "rate_bp": 2}]}, "tiers[1].from"),
    ({"name": "x", "kind": "exclusion"}, "category"),
    ({"name": "", "kind": "percent", "rate_bp": 3}, "name"),
    ({"name": "x", "kind": "bonus"}, "kind"),
    ({"name": "x", "kind": "percent", "rate_bp": 3, "effective_from": "2026-12-01T00:00:00"}, "effective_from"),
    ({"name": "x", "kind": "percent", "rate_bp": 3, "effective_from": "2026-12-01T00:00:00+08:00",
      "effective_to": "2026-11-01T00:00:00+08:00"}, "effective_to"),
])
def test_rule_validation_names_the_field(payload, field):
    _, errors = cr.validate_rule(payload, NOV)
    assert field in errors


def test_valid_rule_is_normalised_to_fen_and_utc():
    values, errors = cr.validate_rule({"name": "阶梯", "kind": "tier", "tiers": [
        {"from": "0", "rate_bp": 100}, {"from": "10000.00", "rate_bp": 300}],
        "effective_from": "2026-12-01T00:00:00+08:00"}, NOV)
    assert errors == {}
    assert values["tiers"] == [{"from_fen": 0, "rate_bp": 100}, {"from_fen": 1_000_000, "rate_bp": 300}]
    assert values["effective_from"] == dt.datetime(2026, 11, 30, 16, tzinfo=UTC)


@pytest.mark.parametrize("seed", range(6))
def test_plain_and_vectorised_arithmetic_agree_on_random_brands(seed):
    rng = np.random.default_rng(seed)
    n = 60
    o = pd.DataFrame({"order_id": np.arange(1, n + 1), "amount_fen": rng.integers(0, 50_000, n),
                      "paid_at": PAID + pd.to_timedelta(rng.integers(0, 40 * 86400, n), unit="s")})
    o["period"] = np.where(o["paid_at"] < pd.Timestamp("2026-12-01", tz="UTC"), "2026-11", "2026-12")
    skus = np.array(["A", "B", "C", "D", "E"])
    cats = {"A": "skincare", "B": "skincare", "C": "apparel", "D": "clearance", "E": "snacks"}
    k = int(rng.integers(40, 120))
    pick = skus[rng.integers(0, 5, k)]
    ln = pd.DataFrame({"order_id": rng.integers(1, n + 1, k), "sku": pick, "category": [cats[x] for x in pick],
                       "value_fen": rng.integers(0, 30_000, k)})
    split = rng.random(n) < 0.3
    rows = []
    for i, oid in enumerate(o["order_id"]):
        if rng.random() < 0.1:
            continue  # nobody
        first = int(rng.integers(1, 4))
        if split[i]:
            bp = int(rng.integers(1, 10_000))
            rows += [(oid, first, bp, True), (oid, first + 3, 10_000 - bp, False)]
        else:
            rows.append((oid, first, 10_000, True))
    shares = pd.DataFrame(rows, columns=["order_id", "clerk_id", "share_bp", "primary"])
    change = dt.datetime(2026, 11, 25, tzinfo=UTC)
    rules = [rule(1, "percent", rate_bp=300, effective_to=change), rule(2, "percent", rate_bp=350, effective_from=change),
             rule(3, "percent", category="skincare", rate_bp=500), rule(4, "percent", sku="A", rate_bp=800, priority=5),
             rule(5, "fixed", amount_fen=199), rule(6, "fixed", category="apparel", amount_fen=77),
             rule(7, "exclusion", category="clearance"),
             rule(8, "tier", tiers=((0, 0), (20_000, 150), (80_000, 330))),
             rule(9, "tier", tiers=((0, 10), (50_000, 90)), effective_from=change, priority=200)]
    mtd = pd.DataFrame({"clerk_id": [1, 2], "period": ["2026-11", "2026-11"], "commissionable_fen": [15_000, 90_000]})
    plain = cc.compute_plain(shares, o, ln, rules, mtd)
    cr_small, cc.SMALL_BATCH = cc.SMALL_BATCH, 0
    try:
        vector = cc.compute(shares, o, ln, rules, mtd)
    finally:
        cc.SMALL_BATCH = cr_small

    def norm(df, keys):
        return sorted(tuple(None if (not isinstance(v, str) and pd.isna(v)) else v for v in r)
                      for r in df[keys].astype(object).itertuples(index=False))

    assert norm(plain.shares, ["order_id", "clerk_id", "sales_fen", "commissionable_fen"]) == \
        norm(vector.shares, ["order_id", "clerk_id", "sales_fen", "commissionable_fen"])
    keys = ["order_id", "clerk_id", "rule_id", "kind", "amount_fen", "base_fen", "explanation"]
    assert norm(plain.entries, keys) == norm(vector.entries, keys)
    assert len(plain.entries) > 50
