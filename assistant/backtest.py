"""Rolling-cutoff backtest of the ranker against the baselines a CRM team would otherwise use.

At each cutoff every method ranks the customers known then, using only rows up to the cutoff; the
truth is who bought in the horizon after it. Methods measured in the same run:

- ``ranker``: ``PropensityRanker`` trained on windows before the cutoff;
- ``recency``: most recent buyers first;
- ``rfm``: the sum of R, F and M quintile scores (1–5 each), the classic RFM grid — heavily tied;
- ``bgnbd``: BG/NBD expected purchases in the horizon.

Metrics: ROC-AUC, average precision, and precision@K / lift@K for K = 1 %, 5 %, 10 % of the
customers, where ties at the K boundary count at their expected value under random tie-breaking
(a method that scores everyone the same gets exactly the base rate, never a lucky order).
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from assistant import features as feat
from assistant.ranker import PropensityRanker

K_FRACTIONS = (0.01, 0.05, 0.10)
METHODS = ("ranker", "recency", "rfm", "bgnbd")


def precision_at_k(y: np.ndarray, score: np.ndarray, k: int) -> float:
    """Expected precision of the top ``k`` when tied scores are ordered at random."""
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    if k <= 0 or len(y) == 0:
        return float("nan")
    k = min(k, len(y))
    boundary = np.partition(-score, k - 1)[k - 1] * -1  # the k-th highest score
    above = score > boundary
    tied = score == boundary
    n_above = int(above.sum())
    expected = y[above].sum() + (k - n_above) * y[tied].mean()
    return float(expected / k)


def evaluate(y: np.ndarray, score: np.ndarray, fractions: Iterable[float] = K_FRACTIONS) -> dict[str, float]:
    """AUC, AP, precision@K and lift@K for one ranking."""
    y = np.asarray(y)
    base = float(y.mean())
    out = {"n": int(len(y)), "base_rate": base}
    both = 0 < y.sum() < len(y)
    out["auc"] = float(roc_auc_score(y, score)) if both else float("nan")
    out["ap"] = float(average_precision_score(y, score)) if both else float("nan")
    for frac in fractions:
        k = max(1, math.ceil(frac * len(y)))
        p = precision_at_k(y, score, k)
        tag = f"{frac * 100:g}%"
        out[f"p@{tag}"] = p
        out[f"lift@{tag}"] = p / base if base > 0 else float("nan")
    return out


def rfm_quintile_score(F: pd.DataFrame) -> np.ndarray:
    """R + F + M quintile scores (5 = best), ranks split into five equal bands."""
    def quintile(values: pd.Series, higher_is_better: bool) -> np.ndarray:
        ranks = values.rank(method="average", ascending=higher_is_better, pct=True)
        return np.ceil(ranks.to_numpy() * 5).clip(1, 5)

    return (quintile(F["recency_days"], higher_is_better=False)
            + quintile(F["frequency"], higher_is_better=True)
            + quintile(F["monetary_total"], higher_is_better=True))


def baseline_scores(F: pd.DataFrame) -> dict[str, np.ndarray]:
    """The baselines' scores for feature rows (buyers only)."""
    return {
        "recency": -F["recency_days"].to_numpy(),
        "rfm": rfm_quintile_score(F),
        "bgnbd": F["bg_expected"].to_numpy(),
    }


def backtest(transactions: pd.DataFrame, cutoffs: Iterable, horizons: Iterable[int] = (30, 90),
             ranker_params: dict | None = None, log=None, **signals) -> pd.DataFrame:
    """One row per (horizon, cutoff, method) with the metrics; cutoffs whose horizon runs past the
    end of the log are skipped."""
    tx = feat.prepare_transactions(transactions)
    end = tx["date"].max()
    rows = []
    for horizon in horizons:
        for cutoff in cutoffs:
            c = feat.cutoff_day(cutoff)
            if c + horizon * feat.DAY > end:
                continue
            started = time.perf_counter()
            ranker = PropensityRanker(horizon_days=horizon, **(ranker_params or {})).fit(tx, c, **signals)
            F = ranker.features(tx, c, **signals)
            buyers = F["frequency"].to_numpy() > 0  # baselines rank buyers; so does the comparison
            F = F[buyers]
            if F.empty:
                continue
            y = feat.labels(tx, c, horizon, F.index).to_numpy()
            scores = {"ranker": ranker.predict_proba_features(F)} | baseline_scores(F)
            for method in METHODS:
                rows.append({"horizon": horizon, "cutoff": pd.Timestamp(c).date().isoformat(), "method": method,
                             "fallback": bool(ranker.fallback_) if method == "ranker" else False}
                            | evaluate(y, scores[method]))
            if log:
                log(f"horizon {horizon} cutoff {pd.Timestamp(c).date()}: {len(F)} customers, "
                    f"base rate {y.mean():.3f}, {time.perf_counter() - started:.1f}s")
    return pd.DataFrame(rows)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Metrics averaged over the rolling cutoffs, per horizon and method."""
    metrics = [c for c in results.columns if c in ("auc", "ap") or c.startswith(("p@", "lift@"))]
    summary = results.groupby(["horizon", "method"], sort=False)[metrics].mean()
    summary["cutoffs"] = results.groupby(["horizon", "method"], sort=False).size()
    return summary.reset_index()


def beats(summary: pd.DataFrame, challenger: str = "ranker", incumbent: str = "bgnbd",
          metrics: tuple[str, ...] = ("ap", "lift@5%")) -> bool:
    """True when ``challenger`` beats ``incumbent`` on every metric at every horizon."""
    s = summary.set_index(["horizon", "method"])
    for horizon in summary["horizon"].unique():
        for m in metrics:
            if not s.loc[(horizon, challenger), m] > s.loc[(horizon, incumbent), m]:
                return False
    return True


def format_table(summary: pd.DataFrame) -> str:
    """The summary as a fixed-width text table."""
    cols = ["horizon", "method", "auc", "ap", "p@1%", "lift@1%", "p@5%", "lift@5%", "p@10%", "lift@10%", "cutoffs"]
    cols = [c for c in cols if c in summary.columns]
    lines = [" ".join(f"{c:>9}" for c in cols)]
    for _, row in summary[cols].iterrows():
        cells = []
        for c in cols:
            v = row[c]
            cells.append(f"{v:>9}" if isinstance(v, str) or c in ("horizon", "cutoffs") else f"{v:>9.3f}")
        lines.append(" ".join(cells))
    return "\n".join(lines)


def load_cdnow() -> pd.DataFrame:
    """The CDNOW master log (23,570 customers, Jan 1997 – Jun 1998) shipped by the ``lifetimes`` wheel.

    The file is located through the installed distribution's metadata, without importing the
    package (its import pulls in autograd, which the data does not need).
    """
    from importlib import metadata

    path = metadata.distribution("lifetimes").locate_file("lifetimes/datasets/CDNOW_master.txt")
    raw = pd.read_csv(path, sep=r"\s+", header=None, skiprows=1, names=["customer_id", "date", "quantity", "amount"],
                      dtype={"customer_id": int, "date": str, "quantity": int, "amount": float})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw
