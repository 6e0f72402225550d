"""A synthetic retail transaction log for tests and benchmarks, vectorised so 10M orders take seconds.

Each customer starts on a random day, buys one product line repeatedly — consumables at about
their product cycle (usage_days × quantity, with noise), durables at a personal rhythm — and
after each purchase stops for good with a personal probability. That is the replenishment and
dormancy behaviour the ranker should learn (seed 000), with none of it written into the model.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

# category (keys of assistant.categories), usage days per unit (NaN = durable), unit price in yuan
CATALOGUE = (
    ("skincare", 30.0, 268.0),
    ("masks", 10.0, 99.0),
    ("snacks", 7.0, 39.0),
    ("apparel", np.nan, 399.0),
    ("appliances", np.nan, 1299.0),
)


def transaction_log(n_customers: int = 2000, days: int = 540, seed: int = 0,
                    start: str = "2025-01-01", max_orders: int = 80) -> pd.DataFrame:
    """``customer_id, date, quantity, amount, sku, category, usage_days`` sorted by customer and date."""
    rng = np.random.default_rng(seed)
    n_cat = len(CATALOGUE)
    cat = rng.choice(n_cat, n_customers, p=[0.35, 0.2, 0.15, 0.2, 0.1])
    usage = np.array([c[1] for c in CATALOGUE])[cat]
    price = np.array([c[2] for c in CATALOGUE])[cat]
    qty = rng.choice([1, 2, 3], n_customers, p=[0.6, 0.3, 0.1])
    rhythm = np.where(np.isnan(usage), rng.gamma(2.0, 45.0, n_customers), usage * qty)
    churn = rng.beta(1.0, 6.0, n_customers)
    first = rng.integers(0, int(days * 0.7), n_customers).astype(float)

    ids, when = [np.arange(n_customers)], [first]
    current, alive = first.copy(), np.ones(n_customers, bool)
    for _ in range(max_orders - 1):
        alive &= rng.random(n_customers) >= churn
        gap = rhythm * rng.lognormal(0.0, 0.25, n_customers) + rng.integers(0, 4, n_customers)
        current = current + gap
        alive &= current < days
        if not alive.any():
            break
        ids.append(np.flatnonzero(alive))
        when.append(current[alive])
    cid = np.concatenate(ids)
    day = np.concatenate(when).astype(int)
    order = np.lexsort((day, cid))
    cid, day = cid[order], day[order]
    q = qty[cid]
    return pd.DataFrame({
        "customer_id": cid + 1,
        "date": pd.Timestamp(start) + pd.to_timedelta(day, unit="D"),
        "quantity": q,
        "amount": price[cid] * q,
        "sku": np.array([f"SKU-{c[0]}" for c in CATALOGUE])[cat[cid]],
        "category": np.array([c[0] for c in CATALOGUE])[cat[cid]],
        "usage_days": usage[cid],
    })
