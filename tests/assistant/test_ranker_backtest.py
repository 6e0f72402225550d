"""BG/NBD fitting, tie-fair precision@K and the rolling backtest."""
from __future__ import annotations

from importlib import metadata

import numpy as np
import pandas as pd
import pytest

from assistant.backtest import (METHODS, backtest, beats, evaluate, format_table, precision_at_k,
                                rfm_quintile_score, summarise)
from assistant.bgnbd import BGNBD
from assistant.synthetic import transaction_log


def test_bgnbd_recovers_the_published_cdnow_estimates():
    # Fader, Hardie & Lee (2005) report r=0.243, α=4.414 (weeks), a=0.793, b=2.426 on this sample.
    path = metadata.distribution("lifetimes").locate_file("lifetimes/datasets/cdnow_customers_summary.csv")
    d = pd.read_csv(path)
    m = BGNBD().fit(d["frequency"], d["recency"] * 7, d["T"] * 7)
    assert (m.r, m.alpha / 7, m.a, m.b) == pytest.approx((0.243, 4.414, 0.793, 2.426), rel=0.02)
    # The paper's customer: x=2, t_x=30.43, T=38.86 weeks → about 0.72 alive.
    alive = m.p_alive(np.array([2]), np.array([30.43 * 7]), np.array([38.86 * 7]))
    assert alive[0] == pytest.approx(0.726, abs=0.01)


def test_bgnbd_expects_more_from_frequent_recent_buyers():
    m = BGNBD(r=0.24, alpha=30.0, a=0.8, b=2.4)
    e = m.expected_purchases(30, np.array([0, 5, 5]), np.array([0, 200, 20]), np.array([210, 210, 210]))
    assert e[1] > e[0] and e[1] > e[2] > 0
    p = m.p_purchase(30, np.array([5]), np.array([200]), np.array([210]))
    assert 0 < p[0] < 1


def test_precision_at_k_counts_ties_at_their_expected_value():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    assert precision_at_k(y, np.zeros(10), 2) == pytest.approx(0.2)        # all tied: base rate
    assert precision_at_k(y, -np.arange(10.0), 2) == pytest.approx(0.5)    # strict order
    perfect = y.astype(float)
    assert precision_at_k(y, perfect, 2) == 1.0
    # 1 sure positive above, then 4 tied of which 1 positive, k=3: (1 + 2·¼)/3
    score = np.array([9, 5, 5, 5, 5, 0, 0, 0, 0, 0.0])
    y2 = np.array([1, 1, 0, 0, 0, 1, 0, 0, 0, 0])
    assert precision_at_k(y2, score, 3) == pytest.approx((1 + 2 * 0.25) / 3)


def test_evaluate_reports_lift_against_the_base_rate():
    y = np.array([1] * 10 + [0] * 90)
    m = evaluate(y, np.r_[np.ones(10), np.zeros(90)])
    assert m["auc"] == 1.0 and m["ap"] == 1.0 and m["lift@1%"] == pytest.approx(10.0)
    assert m["lift@10%"] == pytest.approx(10.0) and m["base_rate"] == 0.1


def test_rfm_scores_are_quintile_sums():
    F = pd.DataFrame({"recency_days": 9 - np.arange(10.0), "frequency": np.arange(10.0),
                      "monetary_total": np.arange(10.0)})
    s = rfm_quintile_score(F)
    assert list(s) == [3, 3, 6, 6, 9, 9, 12, 12, 15, 15]  # two customers per quintile


def test_backtest_measures_every_method_at_every_horizon_and_cutoff():
    tx = transaction_log(800, seed=3)
    results = backtest(tx, ["2026-01-15", "2026-03-01", "2026-06-30"], horizons=(30, 90),
                       ranker_params={"model": "logistic", "n_windows": 2})
    # 2026-06-30 + 90 days runs past the log's end (2026-06-24): skipped for both horizons.
    assert set(results["cutoff"]) == {"2026-01-15", "2026-03-01"}
    assert len(results) == 2 * 2 * len(METHODS)
    summary = summarise(results)
    assert set(summary["method"]) == set(METHODS) and (summary["cutoffs"] == 2).all()
    s = summary.set_index(["horizon", "method"])
    for h in (30, 90):
        assert s.loc[(h, "ranker"), "ap"] > s.loc[(h, "recency"), "ap"]
    assert isinstance(beats(summary), bool)
    assert "lift@5%" in format_table(summary)
