"""Train, evaluate, promote and apply the propensity ranker against the brand's database.

The estimator (``assistant.ranker``) knows nothing of the database; this module feeds it rows
(``app.model.data``), keeps model versions with their backtest metrics and joblib artifacts under
``instance/models/``, and writes ``CustomerScore`` rows that the Today list reads.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from flask import Flask, current_app
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from app.model.data import FEN_PER_YUAN, load_inputs
from assistant.backtest import backtest, beats, summarise
from assistant.ranker import PropensityRanker
from models import CustomerScore, FollowerBinding, ModelVersion, utcnow

TODAY_HORIZON = 30          # the Today list asks "who buys in the next 30 days"
BACKTEST_HORIZONS = (30, 90)
BACKTEST_CUTOFFS = 3        # rolling cutoffs per horizon, a month apart
_CACHE = "daogou.model.current"
Log = Callable[[str], Any]


def model_dir(app: Flask) -> Path:
    path = Path(app.config.get("INSTANCE_DIR", app.instance_path)) / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def rolling_cutoffs(now: dt.datetime, horizons: Iterable[int] = BACKTEST_HORIZONS, n: int = BACKTEST_CUTOFFS) -> list[pd.Timestamp]:
    """Cutoffs whose horizons end before ``now``, most recent first, a month apart."""
    latest = pd.Timestamp(now).tz_localize(None) if pd.Timestamp(now).tzinfo else pd.Timestamp(now)
    cutoffs = {latest - pd.Timedelta(days=h + 30 * k) for h in horizons for k in range(n)}
    return sorted(cutoffs)


def train(session: Session, app: Flask, now: dt.datetime | None = None, promote: bool | None = None,
          log: Log = lambda _msg: None) -> ModelVersion:
    """Backtest, fit the ranker on everything up to ``now``, store a version; promote if it wins.

    A new version replaces the current one when its ranker AP at the Today horizon beats the
    current version's (or the current one is a rule fallback, or there is none); ``promote``
    forces the decision either way.
    """
    now = now or utcnow()
    tx, signals = load_inputs(session)
    log(f"{len(tx)} order lines, {tx['customer_id'].nunique() if len(tx) else 0} buying customers")
    results = backtest(tx, rolling_cutoffs(now), BACKTEST_HORIZONS, log=log, **signals) if len(tx) else pd.DataFrame()
    summary = summarise(results) if len(results) else pd.DataFrame()
    ranker = PropensityRanker(horizon_days=TODAY_HORIZON, model="logistic").fit(tx, now, **signals)
    F = ranker.features(tx, now, **signals)
    p = ranker.predict_proba_features(F)
    metrics: dict[str, Any] = {
        "trained_at": now.isoformat(),
        "fallback": bool(ranker.fallback_),
        "n_train": int(ranker.n_train_),
        "n_customers": int(len(F)),
        "base_rate": ranker.base_rate_,
        "summary": _records(summary),
        "per_cutoff": _records(results),
        "beats_bgnbd": bool(beats(summary)) if len(summary) else False,
        "feature_importance": ranker.feature_importance(F, p) if len(F) else {},
    }
    version = ModelVersion(name=f"propensity-h{TODAY_HORIZON}-{now:%Y%m%d%H%M}",
                           params=ranker.get_params(), metrics=metrics)
    session.add(version)
    session.flush()
    path = model_dir(app) / f"propensity-{version.id}.joblib"
    joblib.dump(ranker, path)
    version.artifact_path = str(path)
    current = session.scalar(select(ModelVersion).where(ModelVersion.is_current.is_(True)))
    if promote is None:
        promote = _wins(metrics, current.metrics if current else None)
    if promote:
        session.execute(update(ModelVersion).where(ModelVersion.is_current.is_(True)).values(is_current=False))
        version.is_current = True
        version.promoted_at = utcnow()
    return version


def _wins(new: dict, old: dict | None) -> bool:
    if old is None or old.get("fallback"):
        return True
    if new.get("fallback"):
        return False
    return ranker_ap(new) > ranker_ap(old)


def ranker_ap(metrics: dict, horizon: int = TODAY_HORIZON) -> float:
    """The ranker's backtest AP at ``horizon`` (−inf when it was never measured)."""
    for row in metrics.get("summary", []):
        if row["horizon"] == horizon and row["method"] == "ranker" and row["ap"] is not None:
            return row["ap"]
    return -math.inf


def _records(frame: pd.DataFrame) -> list[dict]:
    """JSON-safe rows: NaN becomes null."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else (v.item() if hasattr(v, "item") else v))
             for k, v in row.items()} for row in frame.to_dict("records")]


def current_version(session: Session) -> ModelVersion | None:
    return session.scalar(select(ModelVersion).where(ModelVersion.is_current.is_(True)))


def load_ranker(app: Flask, version: ModelVersion) -> PropensityRanker:
    """The version's estimator, loaded once per process."""
    cached = app.extensions.get(_CACHE)
    if cached and cached[0] == version.artifact_path:
        return cached[1]
    ranker = joblib.load(version.artifact_path)
    app.extensions[_CACHE] = (version.artifact_path, ranker)
    return ranker


def score_rows(ranker: PropensityRanker, tx: pd.DataFrame, signals: dict, now: dt.datetime,
               version_id: int | None) -> list[dict]:
    """CustomerScore rows (as dicts) for everyone in the inputs."""
    F = ranker.features(tx, now, **signals)
    if F.empty:
        return []
    p = ranker.predict_proba_features(F)
    reasons, actions = ranker.explain(F, p)
    value_fen = np.rint(p * ranker.expected_order_value(F) * FEN_PER_YUAN).astype(np.int64)
    scored_at = utcnow()
    return [{"customer_id": int(cid), "model_version_id": version_id, "propensity": float(pi),
             "expected_value_fen": int(v), "reasons": r, "action": a, "scored_at": scored_at}
            for cid, pi, v, r, a in zip(F.index, p, value_fen, reasons, actions)]


def score_all(app: Flask, now: dt.datetime | None = None, chunk: int = 5000,
              progress: Callable[[Iterable], Iterable] = lambda it: it, log: Log = lambda _msg: None) -> int:
    """Score every customer with the current model in one transaction; returns how many."""
    now = now or utcnow()
    from app.db import chunks, get_db

    database = get_db(app)
    with database.transaction() as s:
        version = current_version(s)
        tx, signals = load_inputs(s)
        if version is None:
            log("no model version yet: scoring with a ranker fitted now (flask model train keeps one)")
            ranker, version_id = PropensityRanker(horizon_days=TODAY_HORIZON, model="logistic").fit(tx, now, **signals), None
        else:
            ranker, version_id = load_ranker(app, version), version.id
        if ranker.fallback_:
            log("too little history: the rule-based fallback ranks (reasons say so)")
        rows = score_rows(ranker, tx, signals, now, version_id)
        s.execute(delete(CustomerScore))
        batches = list(chunks(rows, chunk))
        for batch in progress(batches):
            s.execute(insert(CustomerScore), batch)
    return len(rows)


def rescore_customers(customer_ids: list[int]) -> None:
    """Job: re-score a few customers after an order or a message (their own rows only: cheap)."""
    from app.db import get_db

    app = current_app._get_current_object()
    with get_db(app).transaction() as s:
        version = current_version(s)
        if version is None:
            return  # nothing scored yet; the nightly batch will
        ranker = load_ranker(app, version)
        tx, signals = load_inputs(s, customer_ids)
        rows = score_rows(ranker, tx, signals, utcnow(), version.id)
        s.execute(delete(CustomerScore).where(CustomerScore.customer_id.in_(customer_ids)))
        if rows:
            s.execute(insert(CustomerScore), rows)
        _tell_owners(s, customer_ids)


def today_updated_payload(customer_ids: list[int]) -> dict[str, Any]:
    """The ``today.updated`` event: which of the clerk's followers were re-scored."""
    return {"customer_ids": sorted(customer_ids)}


def _tell_owners(session: Session, customer_ids: list[int]) -> None:
    """One ``today.updated`` per owning clerk, so an open 今日 screen reloads."""
    from app import realtime

    owners = session.execute(
        select(FollowerBinding.clerk_id, FollowerBinding.customer_id)
        .where(FollowerBinding.customer_id.in_(customer_ids), FollowerBinding.current_owner())).all()
    by_clerk: dict[int, list[int]] = {}
    for clerk_id, customer_id in owners:
        by_clerk.setdefault(clerk_id, []).append(customer_id)
    for clerk_id, ids in by_clerk.items():
        realtime.publish(session, f"clerk:{clerk_id}", realtime.TODAY_UPDATED, today_updated_payload(ids))


def nightly_score() -> None:
    """Job: re-score everyone with the current model (skipped until a model has been trained)."""
    from app.db import get_db

    app = current_app._get_current_object()
    with get_db(app).Session() as s:
        if current_version(s) is None:
            return
    score_all(app)
