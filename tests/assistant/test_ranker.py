"""The propensity ranker on plain DataFrames: leakage, training windows, reasons, fallback."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assistant import features as feat
from assistant.ranker import PropensityRanker
from assistant.synthetic import transaction_log

CUTOFF = pd.Timestamp("2026-04-01")


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return transaction_log(1200, seed=7)


@pytest.fixture(scope="module")
def fitted(log) -> PropensityRanker:
    return PropensityRanker(horizon_days=30, n_windows=3, model="logistic").fit(log, CUTOFF)


def test_scores_are_probabilities_for_every_buyer_known_at_the_cutoff(log, fitted):
    p = fitted.score(log, CUTOFF)
    known = log.loc[log["date"] <= CUTOFF, "customer_id"].unique()
    assert set(p.index) == set(known)
    assert ((p >= 0) & (p <= 1)).all()
    assert not fitted.fallback_ and fitted.n_train_ > len(known)  # stacked windows


def test_rows_after_the_cutoff_never_change_training_or_scores(log, fitted):
    past = log[log["date"] <= CUTOFF]
    # A wildly different future: every customer buys huge amounts the day after the cutoff.
    future = log[log["date"] > CUTOFF].assign(amount=1e6, quantity=99)
    flood = pd.DataFrame({"customer_id": past["customer_id"].unique(), "date": CUTOFF + pd.Timedelta(days=1),
                          "quantity": 5, "amount": 9999.0, "sku": "X", "category": "masks", "usage_days": 1.0})
    variants = [past, pd.concat([past, future, flood])]
    scores = [PropensityRanker(horizon_days=30, n_windows=3, model="logistic").fit(v, CUTOFF).score(v, CUTOFF)
              for v in variants]
    pd.testing.assert_series_equal(scores[0].sort_index(), scores[1].sort_index())
    pd.testing.assert_series_equal(scores[0].sort_index(), fitted.score(log, CUTOFF).sort_index())


def test_training_labels_come_from_windows_that_end_by_the_cutoff(log):
    ranker = PropensityRanker(horizon_days=30, n_windows=2, window_step_days=30, model="logistic")
    ranker.fit(log, CUTOFF)
    # The latest training window is cutoff-30d; its label horizon ends exactly at the cutoff.
    y = feat.labels(log, CUTOFF - pd.Timedelta(days=30), 30, pd.Index(log["customer_id"].unique()))
    assert y.sum() > 0 and ranker.cutoff_ == CUTOFF


def test_ranker_beats_a_coin_on_held_out_future(log, fitted):
    from sklearn.metrics import roc_auc_score

    p = fitted.score(log, CUTOFF)
    y = feat.labels(log, CUTOFF, 30, p.index)
    assert roc_auc_score(y, p) > 0.75


def test_signal_tables_are_optional_and_also_cut_at_the_cutoff(log):
    ids = log["customer_id"].unique()[:50]
    messages = pd.DataFrame({"customer_id": np.repeat(ids, 2), "direction": ["out", "in"] * 50,
                             "date": [CUTOFF - pd.Timedelta(days=3), CUTOFF - pd.Timedelta(days=2)] * 50})
    later = messages.assign(date=CUTOFF + pd.Timedelta(days=5))
    ranker = PropensityRanker(horizon_days=30, n_windows=2, model="logistic")
    F1 = ranker.fit(log, CUTOFF, messages=messages).features(log, CUTOFF, messages=messages)
    F2 = ranker.features(log, CUTOFF, messages=pd.concat([messages, later]))
    pd.testing.assert_frame_equal(F1, F2)
    assert F1.loc[ids[0], "days_since_inbound"] == 2 and F1.loc[ids[0], "response_rate"] == 1.0
    with pytest.raises(TypeError, match="unknown signal"):
        ranker.score(log, CUTOFF, emails=messages)


def test_cycle_position_is_days_since_over_usage_times_quantity():
    tx = pd.DataFrame({"customer_id": [1], "date": [pd.Timestamp("2026-03-14")], "quantity": [2],
                       "amount": [200.0], "category": ["masks"], "usage_days": [10.0]})
    F = feat.build_features(tx, "2026-04-01", horizon_days=30)
    assert F.loc[1, "cycle_days_since"] == 18
    assert F.loc[1, "cycle_position"] == pytest.approx(18 / 20)


def test_reasons_name_the_features_that_drove_the_score(log, fitted):
    F = fitted.features(log, CUTOFF)
    p = fitted.predict_proba_features(F)
    contrib = fitted.contributions(F, p)
    reasons, actions = fitted.explain(F, p)
    group_of = {"cycle_due": "cycle", "cycle_overdue": "cycle", "due_by_habit": "recency",
                "recent_buyer": "recency", "dormant_vip": "recency", "lapsed": "recency",
                "loyal": "loyalty", "bought_once": "loyalty", "spend_rising": "loyalty"}
    checked = 0
    for i in np.argsort(-p)[:200]:
        if not reasons[i]:
            continue
        first = reasons[i][0]
        strongest = contrib.iloc[i].idxmax()
        # The first reason speaks for the group that raised this customer's log-odds the most
        # (unless that group has no fact a clerk could check, then the next one).
        assert first["effect"] == pytest.approx(contrib.iloc[i][group_of[first["code"]]], abs=1e-3)
        assert first["effect"] <= contrib.iloc[i][strongest] + 1e-3
        checked += 1
    assert checked > 100
    # Customers in the middle of their product cycle (80–120 %) are told so and asked to replenish.
    due = np.flatnonzero((F["cycle_position"].between(0.8, 1.2)).to_numpy() & (p > 0.5))
    assert len(due) > 10
    cycle_pushed = [i for i in due if contrib.iloc[i]["cycle"] > 0.02
                    and contrib.iloc[i].rank(ascending=False)["cycle"] <= 3]
    assert len(cycle_pushed) > len(due) / 2
    for i in cycle_pushed:
        assert any(r["code"] == "cycle_due" for r in reasons[i])
    assert {actions[i] for i in cycle_pushed} >= {"replenish"}


def test_unpaid_order_and_birthday_become_reasons_in_the_fallback():
    tx = pd.DataFrame({"customer_id": [1, 2, 3], "date": pd.to_datetime(["2026-03-01"] * 3),
                       "quantity": [1, 1, 1], "amount": [100.0, 100.0, 100.0]})
    unpaid = pd.DataFrame({"customer_id": [2], "date": [pd.Timestamp("2026-03-30")], "amount": [268.0]})
    customers = pd.DataFrame({"customer_id": [1, 2, 3, 4],
                              "birthday": [None, None, pd.Timestamp("1990-04-04"), None]})
    ranker = PropensityRanker(horizon_days=30).fit(tx, CUTOFF, unpaid=unpaid, customers=customers)
    assert ranker.fallback_ and ranker.model_ is None
    F = ranker.features(tx, CUTOFF, unpaid=unpaid, customers=customers)
    p = pd.Series(ranker.predict_proba_features(F), index=F.index)
    assert p.idxmax() == 2 and p[3] > p[1]
    assert 4 in p.index  # a prospect with no purchase still gets a (low) score
    reasons, actions = ranker.explain(F)
    by_customer = dict(zip(F.index, zip(reasons, actions)))
    assert by_customer[2][0][0] == {"code": "unpaid", "params": {"amount": "268"}, "effect": 0.35}
    assert by_customer[2][1] == "payment"
    assert by_customer[3][0][0]["code"] == "birthday" and by_customer[3][0][0]["params"] == {"days": 3}
    assert all(r[-1]["code"] == "fallback" for r, _ in by_customer.values())


def test_fallback_engages_when_too_few_repeat_buyers(log):
    tiny = log[log["customer_id"] <= 15]
    ranker = PropensityRanker(horizon_days=30).fit(tiny, CUTOFF)
    assert ranker.fallback_
    p = ranker.score(tiny, CUTOFF)
    assert len(p) and ((p > 0) & (p < 1)).all()


def test_unknown_model_name_is_refused(log):
    with pytest.raises(ValueError, match="model must be"):
        PropensityRanker(model="forest", min_customers=1, min_positives=1).fit(log, CUTOFF)


def test_hgb_model_trains_and_explains(log):
    ranker = PropensityRanker(horizon_days=30, n_windows=2, model="hgb", max_iter=30).fit(log, CUTOFF)
    F = ranker.features(log, CUTOFF)
    imp = ranker.feature_importance(F)
    assert max(imp, key=imp.get) in {"cycle", "loyalty", "recency"}
