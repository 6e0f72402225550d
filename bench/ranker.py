"""Ranker figures: the backtest table on the public CDNOW log, training and scoring speed.

    .venv/bin/python bench/ranker.py                       # CDNOW table + 1M orders / 100k customers
    .venv/bin/python bench/ranker.py --orders 10000000 --customers 1000000
    .venv/bin/python bench/ranker.py --skip-backtest --orders 200000

Speed runs use the synthetic log (assistant.synthetic); "train" is a full ``fit`` (four stacked
windows, a BG/NBD fit per window); "score" is features + probabilities + reasons for everyone.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from assistant.backtest import backtest, beats, format_table, load_cdnow, summarise  # noqa: E402
from assistant.ranker import PropensityRanker  # noqa: E402
from assistant.synthetic import transaction_log  # noqa: E402

CDNOW_CUTOFFS = ("1997-09-30", "1997-12-31", "1998-03-31", "1998-05-31")


def synthetic_with_orders(n_orders: int, seed: int = 0) -> pd.DataFrame:
    """A synthetic log of about ``n_orders`` rows (≈ 6–7 orders per customer)."""
    n_customers = max(200, int(n_orders / 6.5))
    tx = transaction_log(n_customers, seed=seed)
    while len(tx) < n_orders * 0.9:
        n_customers = int(n_customers * n_orders / max(len(tx), 1))
        tx = transaction_log(n_customers, seed=seed)
    return tx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders in the training log")
    parser.add_argument("--customers", type=int, default=100_000, help="customers to score")
    parser.add_argument("--skip-backtest", action="store_true")
    parser.add_argument("--model", default="logistic", choices=("logistic", "hgb"))
    args = parser.parse_args()

    if not args.skip_backtest:
        tx = load_cdnow()
        print(f"CDNOW master log: {len(tx)} transactions, {tx['customer_id'].nunique()} customers, "
              f"{tx['date'].min():%Y-%m-%d} – {tx['date'].max():%Y-%m-%d}; cutoffs {', '.join(CDNOW_CUTOFFS)}")
        started = time.perf_counter()
        results = backtest(tx, CDNOW_CUTOFFS, (30, 90), ranker_params={"model": args.model})
        summary = summarise(results)
        print(format_table(summary))
        print(f"ranker beats BG/NBD on AP and lift@5% at both horizons: {beats(summary)} "
              f"({time.perf_counter() - started:.1f}s)\n")

    tx = synthetic_with_orders(args.orders)
    cutoff = tx["date"].max() - pd.Timedelta(days=1)
    print(f"train: {len(tx):,} orders, {tx['customer_id'].nunique():,} customers")
    started = time.perf_counter()
    ranker = PropensityRanker(horizon_days=30, model=args.model).fit(tx, cutoff)
    print(f"  fit {time.perf_counter() - started:.1f}s ({ranker.n_train_:,} training rows, target < 120 s at 10M orders)")

    score_tx = tx if tx["customer_id"].nunique() >= args.customers else synthetic_with_orders(int(args.customers * 6.5), seed=1)
    keep = np.sort(score_tx["customer_id"].unique())[:args.customers]
    score_tx = score_tx[score_tx["customer_id"].isin(keep)]
    started = time.perf_counter()
    F = ranker.features(score_tx, cutoff)
    t_features = time.perf_counter() - started
    p = ranker.predict_proba_features(F)
    t_predict = time.perf_counter() - started - t_features
    reasons, actions = ranker.explain(F, p)
    total = time.perf_counter() - started
    print(f"score: {len(F):,} customers in {total:.1f}s (features {t_features:.1f}s, "
          f"probabilities {t_predict:.1f}s, reasons {total - t_features - t_predict:.1f}s; target < 20 s at 1M)")


if __name__ == "__main__":
    main()
