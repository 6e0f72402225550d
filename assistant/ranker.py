"""The propensity ranker: P(a customer buys within the horizon), with the reasons behind it.

A scikit-learn estimator over a plain transaction log (see ``assistant.features`` for the
columns), so it can be trained and evaluated on any shop's data — the demo brand, a public log —
with no Flask, database or network::

    ranker = PropensityRanker(horizon_days=30).fit(transactions, cutoff)
    p = ranker.score(transactions, cutoff)   # Series customer_id -> P(buys in (cutoff, cutoff+30d])

Training stacks several past windows inside the history: at each training cutoff
``cutoff - horizon - k·step`` features come from rows up to that cutoff and the label from the
horizon after it, which still lies at or before ``cutoff``. Nothing after ``cutoff`` is read.

When the history is too thin to learn from (few customers or few repeat buyers), ``fallback_`` is
set and a transparent points rule ranks instead; every reason list then says so.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from assistant import features as feat
from assistant.bgnbd import BGNBD
from assistant.lifecycle import is_repeat
from assistant.reasons import RECENT_BUYER_DAYS

SIGNALS = ("messages", "followers", "customers", "unpaid")

# Feature groups merged into the stories a clerk hears; each is explained as one unit.
REASON_GROUPS: dict[str, tuple[str, ...]] = {
    "unpaid": ("unpaid",),
    "cycle": ("cycle",),
    "birthday": ("birthday",),
    "recency": ("recency", "timing"),
    "loyalty": ("frequency", "monetary", "trend", "category", "bgnbd"),
    "engagement": ("engagement", "follower"),
}
# Suggested action for the reason that moved the score most (催付 补货 生日关怀 唤醒 新品推荐).
ACTIONS = ("payment", "replenish", "birthday", "winback", "new_arrival")
_MIN_EFFECT = 0.02  # log-odds; smaller pushes are noise, not a reason worth reading


def _signed_log(x):
    return np.sign(x) * np.log1p(np.abs(x))


class PropensityRanker(BaseEstimator):
    """Rank customers by the probability they buy within ``horizon_days`` after a cutoff.

    Parameters: ``horizon_days``; ``n_windows`` past windows stacked for training, ``window_step_days``
    apart (default: the horizon); ``model`` ``"hgb"`` (gradient-boosted trees) or ``"logistic"``;
    ``min_customers``/``min_positives`` below which the rule fallback ranks; ``max_train_rows``
    subsamples very large stacks.

    Learned: ``model_`` (None in fallback), ``model_features_`` (the columns it uses), ``bgnbd_`` (fitted at the cutoff), ``categories_``,
    ``feature_names_``, ``baseline_`` (a typical customer's features, for explanations),
    ``base_rate_``, ``fallback_``, ``n_train_``, ``cutoff_``.
    """

    def __init__(self, horizon_days: int = 30, n_windows: int = 4, window_step_days: int | None = None,
                 model: str = "logistic", max_iter: int = 150, learning_rate: float = 0.06,
                 max_leaf_nodes: int = 31, min_samples_leaf: int = 80,
                 min_customers: int = 200, min_positives: int = 20, min_history_days: int = 60,
                 max_train_rows: int = 1_500_000, random_state: int = 0) -> None:
        self.horizon_days = horizon_days
        self.n_windows = n_windows
        self.window_step_days = window_step_days
        self.model = model
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.min_customers = min_customers
        self.min_positives = min_positives
        self.min_history_days = min_history_days
        self.max_train_rows = max_train_rows
        self.random_state = random_state

    # -- training -------------------------------------------------------------------------------
    def fit(self, transactions: pd.DataFrame, cutoff, **signals: pd.DataFrame | None) -> PropensityRanker:
        """Learn from windows before ``cutoff``; returns self."""
        _check_signals(signals)
        tx = feat.prepare_transactions(transactions)
        c = feat.cutoff_day(cutoff)
        tx = tx[tx["date"].to_numpy() <= c]
        tx.attrs["prepared"] = True
        self.cutoff_ = pd.Timestamp(c)
        self.categories_ = feat.top_categories(tx, c)
        self.feature_names_ = list(feat.BASE_FEATURES) + [f"share_{i}" for i in range(len(self.categories_))]
        self.bgnbd_ = self._fit_bgnbd(tx, c)

        frames, ys = [], []
        step = self.window_step_days or self.horizon_days
        first = tx["date"].min() if len(tx) else c
        for k in range(self.n_windows):
            window = c - (self.horizon_days + k * step) * feat.DAY
            if len(tx) == 0 or window < first + self.min_history_days * feat.DAY:
                break
            X = feat.build_features(tx, window, horizon_days=self.horizon_days,
                                    bgnbd=self._fit_bgnbd(tx, window), categories=self.categories_, **signals)
            frames.append(X)
            ys.append(feat.labels(tx, window, self.horizon_days, X.index))
        X_train = pd.concat(frames) if frames else pd.DataFrame(columns=self.feature_names_ + list(feat.FACT_COLUMNS))
        y = pd.concat(ys).to_numpy() if ys else np.zeros(0, int)
        self.n_train_ = len(y)
        self.base_rate_ = float(y.mean()) if len(y) else 0.0
        positives = int(y.sum())
        self.fallback_ = (len(y) < self.min_customers or positives < self.min_positives
                          or len(y) - positives < self.min_positives)
        self.model_ = None
        summary = feat.rfm_summary(feat.purchase_days(tx, c), c)
        self.typical_order_value_ = float(summary["monetary_avg"].median()) if len(summary) else 0.0
        self.high_value_threshold_ = float(summary["monetary_total"].quantile(0.75)) if len(summary) else np.inf
        if self.fallback_:
            self.baseline_ = pd.Series(dtype=float)  # the rules explain themselves
            return self
        if len(y) > self.max_train_rows:
            keep = np.random.default_rng(self.random_state).choice(len(y), self.max_train_rows, replace=False)
            X_train, y = X_train.iloc[keep], y[keep]
        # Signals a shop does not have (no birthdays, no chat) are all-missing columns: leave them out.
        self.model_features_ = [c for c in self.feature_names_ if X_train[c].nunique(dropna=True) >= 2]
        Xm = X_train[self.model_features_]
        with threadpool_limits(limits=1, user_api="blas"):  # ~30 columns: threads only contend
            self.model_ = self._make_model().fit(Xm.to_numpy(), y)
        self.baseline_ = Xm.median()
        return self

    def _fit_bgnbd(self, tx: pd.DataFrame, cutoff) -> BGNBD:
        days = feat.purchase_days(tx, cutoff)
        if days["customer_id"].nunique() < 20:
            return BGNBD()  # too few customers to estimate; neutral prior parameters
        return feat.fit_bgnbd(days, cutoff, self.random_state)

    def _make_model(self):
        if self.model == "hgb":
            return HistGradientBoostingClassifier(
                max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=self.min_samples_leaf, l2_regularization=1.0, early_stopping=False, random_state=self.random_state)
        if self.model == "logistic":
            return make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                                 FunctionTransformer(_signed_log), StandardScaler(),
                                 LogisticRegression(C=0.5, max_iter=1000))
        raise ValueError(f"model must be 'hgb' or 'logistic', not {self.model!r}")

    # -- scoring --------------------------------------------------------------------------------
    def features(self, transactions: pd.DataFrame, cutoff, **signals: pd.DataFrame | None) -> pd.DataFrame:
        """Feature rows (plus the facts reasons quote) for every customer known at ``cutoff``."""
        _check_signals(signals)
        return feat.build_features(transactions, cutoff, horizon_days=self.horizon_days, bgnbd=self.bgnbd_,
                                   categories=self.categories_, **signals)

    def predict_proba_features(self, F: pd.DataFrame) -> np.ndarray:
        """P(buys within the horizon) for feature rows from ``features``."""
        if self.fallback_:
            return rule_scores(F)
        return self.model_.predict_proba(F[self.model_features_].to_numpy())[:, 1]

    def score(self, transactions: pd.DataFrame, cutoff, **signals: pd.DataFrame | None) -> pd.Series:
        """Series customer_id → P(buys in (cutoff, cutoff + horizon])."""
        F = self.features(transactions, cutoff, **signals)
        return pd.Series(self.predict_proba_features(F), index=F.index, name="propensity")

    def expected_order_value(self, F: pd.DataFrame) -> np.ndarray:
        """The customer's average order (the typical one before a first purchase); an unpaid order
        is what is at stake when it is larger."""
        usual = F["monetary_avg"].fillna(self.typical_order_value_).to_numpy()
        return np.maximum(usual, F["unpaid_amount"].fillna(0.0).to_numpy())

    # -- explanations ---------------------------------------------------------------------------
    def contributions(self, F: pd.DataFrame, p: np.ndarray | None = None) -> pd.DataFrame:
        """Per customer and reason group: how much that group moved the log-odds.

        Each group's features are swapped for a typical customer's values and the model is asked
        again; the drop in log-odds is what that group contributed. Model-agnostic and exact for
        the question a clerk asks ("what about this customer makes them likely now?").
        """
        if self.fallback_:
            return rule_contributions(F)
        p = self.predict_proba_features(F) if p is None else p
        base_logit = _logit(p)
        names = self.model_features_
        X = F[names].to_numpy(copy=True)
        out = {}
        for group, parts in REASON_GROUPS.items():
            members = {c for part in parts for c in feat.FEATURE_GROUPS[part]}
            cols = [i for i, name in enumerate(names)
                    if name in members or (group == "loyalty" and name.startswith("share_"))]
            if not cols:
                out[group] = np.zeros(len(F))
                continue
            swapped = X.copy()
            swapped[:, cols] = self.baseline_.iloc[cols].to_numpy()
            out[group] = base_logit - _logit(self.model_.predict_proba(swapped)[:, 1])
        return pd.DataFrame(out, index=F.index)

    def explain(self, F: pd.DataFrame, p: np.ndarray | None = None, n: int = 3) -> tuple[list[list[dict]], list[str]]:
        """Reasons (the ``n`` that raised the score most, with the facts to say them) and an action."""
        contrib = self.contributions(F, p)
        return reasons_and_actions(F, contrib, n=n, fallback=self.fallback_,
                                   high_value=self.high_value_threshold_)

    def feature_importance(self, F: pd.DataFrame, p: np.ndarray | None = None) -> dict[str, float]:
        """Mean absolute contribution per reason group — what head office sees on the model page."""
        contrib = self.contributions(F, p)
        return {g: round(float(v), 4) for g, v in contrib.abs().mean().items()}


# -- the rule fallback -------------------------------------------------------------------------
# Points, each a fact a clerk can check; the sum (capped) stands in for a probability.
RULES: tuple[tuple[str, float], ...] = (
    ("unpaid", 0.35),      # an order left unpaid in the last 30 days
    ("cycle", 0.30),       # product cycle at 80–150 %: running out now
    ("recency", 0.20),     # a repeat buyer at or past their usual interval
    ("engagement", 0.15),  # replied within the last week
    ("birthday", 0.15),    # birthday within a week
    ("loyalty", 0.10),     # bought within the last 30 days
)


def _rules_fired(F: pd.DataFrame) -> pd.DataFrame:
    ipt = F["ipt_mean"].to_numpy()
    rec = F["recency_days"].to_numpy()
    with np.errstate(invalid="ignore"):
        fired = {
            "unpaid": F["unpaid_amount"].to_numpy() > 0,
            "cycle": (F["cycle_position"].to_numpy() >= 0.8) & (F["cycle_position"].to_numpy() <= 1.5),
            "recency": is_repeat(F["frequency"].to_numpy()) & (rec >= 0.8 * ipt) & (rec <= 2.0 * ipt),
            "engagement": F["days_since_inbound"].to_numpy() <= 7,
            "birthday": F["days_to_birthday"].to_numpy() <= 7,
            "loyalty": rec <= 30,
        }
    return pd.DataFrame(fired, index=F.index)


def rule_scores(F: pd.DataFrame) -> np.ndarray:
    """The fallback's transparent score: 0.02 plus the points of each rule that holds, at most 0.95."""
    fired = _rules_fired(F)
    points = sum(fired[name].to_numpy() * weight for name, weight in RULES)
    return np.minimum(0.02 + points, 0.95)


def rule_contributions(F: pd.DataFrame) -> pd.DataFrame:
    fired = _rules_fired(F)
    return pd.DataFrame({name: fired[name].to_numpy() * weight for name, weight in RULES}, index=F.index)


# -- reasons in a clerk's words -----------------------------------------------------------------
def reasons_and_actions(F: pd.DataFrame, contrib: pd.DataFrame, *, n: int = 3, fallback: bool = False,
                        high_value: float = np.inf) -> tuple[list[list[dict]], list[str]]:
    """For each customer: reasons ``{"code", "params", "effect"}`` (strongest first) and an action.

    A reason is given for a group that raised the customer's log-odds by at least ``_MIN_EFFECT``
    and has a fact to quote; at most ``n``. When no group clearly pushed, the strongest group with a
    fact still speaks, so no card is left without a why. Vectorised per group: a million customers
    take seconds, not minutes.
    """
    N = len(F)
    cols = {c: F[c].to_numpy(dtype=float) for c in _FACTS_QUOTED}
    groups = list(contrib.columns)
    values = contrib.to_numpy()
    whole = {k: np.rint(np.nan_to_num(v)).astype(np.int64).tolist() for k, v in cols.items()}
    described = [_describe_group(g, cols, whole, high_value) for g in groups]
    ok = np.column_stack([d[0] for d in described]) if groups else np.zeros((N, 0), bool)
    order = np.argsort(-values, axis=1, kind="stable")
    sorted_ok = np.take_along_axis(ok, order, axis=1)
    chosen = sorted_ok & (np.take_along_axis(values, order, axis=1) >= _MIN_EFFECT)
    chosen &= np.cumsum(chosen, axis=1) <= n
    nothing = ~chosen.any(axis=1)
    chosen[nothing] = sorted_ok[nothing] & (np.cumsum(sorted_ok[nothing], axis=1) == 1)
    all_reasons: list[list[dict]] = [[] for _ in range(N)]
    first_action: list[str | None] = [None] * N
    rows, ranks = np.nonzero(chosen)  # row-major: each customer's reasons in rank order
    picked = order[rows, ranks]
    effects = np.round(values[rows, picked], 3).tolist()
    for i, j, effect in zip(rows.tolist(), picked.tolist(), effects):
        reason, action = described[j][1](i)
        all_reasons[i].append({"code": reason["code"], "params": reason["params"], "effect": effect})
        if first_action[i] is None:
            first_action[i] = action
    unpaid = cols["unpaid_amount"] > 0  # an unpaid order is always the first thing to chase
    dormant = cols["recency_days"] >= 90
    actions = ["payment" if unpaid[i] else (first_action[i] or ("winback" if dormant[i] else "new_arrival"))
               for i in range(N)]
    if fallback:
        for reasons in all_reasons:
            reasons.append({"code": "fallback", "params": {}, "effect": 0.0})
    return all_reasons, actions


_FACTS_QUOTED = ("unpaid_amount", "cycle_position", "cycle_quantity", "cycle_usage_days", "cycle_days_since",
                 "cycle_span_days", "days_to_birthday", "recency_days", "monetary_total", "frequency", "ipt_mean",
                 "spend_trend", "spend_prev_180", "spend_180", "days_since_inbound", "follower_age_days")


def _describe_group(group: str, c: dict[str, np.ndarray], whole: dict[str, list[int]],
                    high_value: float) -> tuple[np.ndarray, Callable[[int], tuple[dict, str | None]]]:
    """For one group: which customers have a fact to quote, and how to say it for customer ``i``.

    The sentence is built only for the reasons actually shown (a few per customer), from ``whole``:
    the facts as Python ints, converted once (numpy scalars are slow to round one at a time).
    """
    w = whole
    with np.errstate(invalid="ignore"):
        if group == "unpaid":
            return c["unpaid_amount"] > 0, lambda i: (
                {"code": "unpaid", "params": {"amount": str(w["unpaid_amount"][i])}}, "payment")
        if group == "cycle":
            overdue = (c["cycle_position"] > 1.2).tolist()

            def cycle(i: int) -> tuple[dict, str | None]:
                # gap: how many days before the customer's last purchase this one was (0: it is
                # the last), so a card never calls it "上次购买" beside a newer purchase.
                params = {"quantity": w["cycle_quantity"][i], "usage_days": w["cycle_usage_days"][i],
                          "days": w["cycle_days_since"][i],
                          "gap": max(w["cycle_days_since"][i] - w["recency_days"][i], 0)}
                if overdue[i]:
                    over = w["cycle_days_since"][i] - w["cycle_span_days"][i]
                    return {"code": "cycle_overdue", "params": params | {"over": over}}, "replenish"
                return {"code": "cycle_due", "params": params}, "replenish"

            return c["cycle_position"] >= 0.6, cycle
        if group == "birthday":
            return c["days_to_birthday"] <= 30, lambda i: (
                {"code": "birthday", "params": {"days": w["days_to_birthday"][i]}}, "birthday")
        if group == "recency":
            rec = c["recency_days"]
            vip = ((c["monetary_total"] >= high_value) & (rec >= 60)).tolist()
            habit = (is_repeat(c["frequency"]) & (rec >= 0.7 * c["ipt_mean"])).tolist()
            recent = (rec <= RECENT_BUYER_DAYS).tolist()

            def recency(i: int) -> tuple[dict, str | None]:
                days = w["recency_days"][i]
                if vip[i]:
                    return {"code": "dormant_vip", "params": {"days": days}}, "winback"
                if habit[i]:
                    return {"code": "due_by_habit", "params": {"every": w["ipt_mean"][i], "days": days}}, None
                if recent[i]:
                    return {"code": "recent_buyer", "params": {"days": days}}, None
                return {"code": "lapsed", "params": {"days": days}}, "winback"

            return ~np.isnan(rec), recency
        if group == "loyalty":
            rising = ((c["spend_trend"] > 0.3) & (c["spend_prev_180"] > 0)).tolist()
            repeat = is_repeat(c["frequency"]).tolist()

            def loyalty(i: int) -> tuple[dict, str | None]:
                if rising[i]:
                    return {"code": "spend_rising", "params": {"amount": str(w["spend_180"][i])}}, None
                params = {"orders": w["frequency"][i], "amount": str(w["monetary_total"][i])}
                return {"code": "loyal" if repeat[i] else "bought_once", "params": params}, None

            return c["frequency"] >= 1, loyalty
        if group == "engagement":
            replied = c["days_since_inbound"] <= 30
            replied_list = replied.tolist()

            def engagement(i: int) -> tuple[dict, str | None]:
                if replied_list[i]:
                    return {"code": "replied", "params": {"days": w["days_since_inbound"][i]}}, None
                return {"code": "new_follower", "params": {"days": w["follower_age_days"][i]}}, None

            return replied | (c["follower_age_days"] <= 30), engagement
    return np.zeros(len(next(iter(c.values()))), bool), lambda i: ({"code": group, "params": {}}, None)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p) - np.log1p(-p)


def _check_signals(signals: dict) -> None:
    unknown = set(signals) - set(SIGNALS)
    if unknown:
        raise TypeError(f"unknown signal tables: {', '.join(sorted(unknown))} (known: {', '.join(SIGNALS)})")
