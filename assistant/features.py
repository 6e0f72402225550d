"""Per-customer features at a cutoff, from a plain transaction log and optional signal tables.

Everything here is a function of rows dated at or before the cutoff: the first thing each builder
does is drop later rows, so scoring a past cutoff can never see its own future (tests pin it).

Inputs (pandas DataFrames; only ``transactions`` is required):

- ``transactions``: ``customer_id, date, quantity, amount`` and optionally ``sku, category,
  usage_days`` (产品周期: days one unit lasts).
- ``messages``: ``customer_id, date, direction`` (``"in"`` from the customer, ``"out"`` to them).
- ``followers``: ``customer_id, since`` (when they became a clerk's 粉丝好友).
- ``customers``: ``customer_id`` and optionally ``birthday`` (date) and ``created_at``.
- ``unpaid``: ``customer_id, date, amount`` and optionally ``closed_date`` (paid or cancelled).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from assistant.bgnbd import BGNBD

DAY = np.timedelta64(1, "D")

# Features grouped by the story a clerk hears; the ranker explains a score group by group.
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "recency": ("recency_days", "tenure_days"),
    "frequency": ("frequency", "n_30", "n_90", "n_180", "n_365"),
    "monetary": ("monetary_total", "monetary_avg", "monetary_max"),
    "timing": ("ipt_mean", "ipt_std", "ipt_cv", "recency_over_ipt", "days_overdue"),
    "cycle": ("cycle_position", "cycle_days_since", "cycle_span_days"),
    "trend": ("spend_180", "spend_prev_180", "spend_trend"),
    "category": ("n_categories", "top_category_share"),
    "bgnbd": ("bg_p_alive", "bg_expected"),
    "engagement": ("msg_in_90", "msg_out_90", "days_since_inbound", "days_since_contact", "response_rate"),
    "birthday": ("days_to_birthday",),
    "follower": ("follower_age_days",),
    "unpaid": ("unpaid_amount",),
}
BASE_FEATURES: tuple[str, ...] = tuple(f for group in FEATURE_GROUPS.values() for f in group)
# Facts the reasons quote but the model never sees (they would only duplicate features).
FACT_COLUMNS = ("cycle_quantity", "cycle_usage_days", "last_amount")


def as_day(values: pd.Series) -> pd.Series:
    """Dates or datetimes (naive or tz-aware) to midnight-naive datetime64 days."""
    s = pd.to_datetime(values)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    return s.dt.floor("D").astype("datetime64[ns]")


def prepare_transactions(transactions: pd.DataFrame) -> pd.DataFrame:
    """Normalise column types once, so repeated feature builds over many cutoffs stay cheap."""
    tx = transactions.copy()
    missing = {"customer_id", "date", "quantity", "amount"} - set(tx.columns)
    if missing:
        raise ValueError(f"transactions lack columns: {', '.join(sorted(missing))}")
    tx["date"] = as_day(tx["date"])
    tx["quantity"] = pd.to_numeric(tx["quantity"]).astype(float)
    tx["amount"] = pd.to_numeric(tx["amount"]).astype(float)
    if "usage_days" in tx:
        tx["usage_days"] = pd.to_numeric(tx["usage_days"]).astype(float)
    tx.attrs["prepared"] = True
    return tx.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)


def cutoff_day(cutoff) -> np.datetime64:
    ts = pd.Timestamp(cutoff)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return np.datetime64(ts.floor("D"), "ns")


def purchase_days(tx: pd.DataFrame, cutoff) -> pd.DataFrame:
    """One row per customer and day with a purchase, up to the cutoff: ``customer_id, date, amount``."""
    c = cutoff_day(cutoff)
    seen = tx[tx["date"].to_numpy() <= c]
    return seen.groupby(["customer_id", "date"], sort=True, observed=True)["amount"].sum().reset_index()


def rfm_summary(days: pd.DataFrame, cutoff) -> pd.DataFrame:
    """frequency (purchase days), first/last purchase, recency, tenure and spend per customer."""
    c = cutoff_day(cutoff)
    g = days.groupby("customer_id", sort=True)
    out = pd.DataFrame({
        "frequency": g.size().astype(float),
        "first": g["date"].min(),
        "last": g["date"].max(),
        "monetary_total": g["amount"].sum(),
        "monetary_max": g["amount"].max(),
        "last_amount": g["amount"].last(),
    })
    out["recency_days"] = (c - out["last"].to_numpy()) / DAY
    out["tenure_days"] = (c - out["first"].to_numpy()) / DAY
    out["monetary_avg"] = out["monetary_total"] / out["frequency"]
    return out


def fit_bgnbd(days: pd.DataFrame, cutoff, random_state: int = 0) -> BGNBD:
    """A BG/NBD fitted on the purchase days up to the cutoff."""
    s = rfm_summary(days, cutoff)
    return BGNBD(random_state=random_state).fit(s["frequency"] - 1, s["tenure_days"] - s["recency_days"], s["tenure_days"])


def build_features(transactions: pd.DataFrame, cutoff, *, horizon_days: int, bgnbd: BGNBD | None = None,
                   categories: tuple[str, ...] = (), messages: pd.DataFrame | None = None,
                   followers: pd.DataFrame | None = None, customers: pd.DataFrame | None = None,
                   unpaid: pd.DataFrame | None = None) -> pd.DataFrame:
    """Feature rows indexed by customer_id for everyone known at the cutoff.

    ``bgnbd`` supplies the repeat-buying estimates (fitted on the cutoff's data when omitted);
    ``categories`` names the categories whose spend share becomes a feature.
    """
    tx = transactions if transactions.attrs.get("prepared") else prepare_transactions(transactions)
    c = cutoff_day(cutoff)
    tx = tx[tx["date"].to_numpy() <= c]
    days = tx.groupby(["customer_id", "date"], sort=True, observed=True)["amount"].sum().reset_index()
    f = rfm_summary(days, c)

    age = (c - days["date"].to_numpy()) / DAY
    cid = days["customer_id"].to_numpy()
    for window in (30, 90, 180, 365):
        f[f"n_{window}"] = _count_by(cid, age < window, f.index)
    f["spend_180"] = _sum_by(cid, days["amount"].to_numpy() * (age < 180), f.index)
    f["spend_prev_180"] = _sum_by(cid, days["amount"].to_numpy() * ((age >= 180) & (age < 360)), f.index)
    f["spend_trend"] = (f["spend_180"] - f["spend_prev_180"]) / (f["spend_180"] + f["spend_prev_180"] + 1.0)

    gap = np.full(len(days), np.nan)
    gap[1:] = np.diff(days["date"].to_numpy()) / DAY
    gap[np.r_[True, cid[1:] != cid[:-1]][:len(days)]] = np.nan  # a customer's first day has no gap
    gaps = pd.Series(gap)
    gap_stats = gaps.groupby(cid).agg(["mean", "std"])
    f["ipt_mean"] = gap_stats["mean"].reindex(f.index)
    f["ipt_std"] = gap_stats["std"].reindex(f.index)
    f["ipt_cv"] = f["ipt_std"] / f["ipt_mean"]
    f["recency_over_ipt"] = f["recency_days"] / f["ipt_mean"]
    f["days_overdue"] = f["recency_days"] - f["ipt_mean"]

    _cycle_features(tx, c, f)
    _category_features(tx, f, categories)

    model = bgnbd
    if model is None:  # fit here only when there are enough customers to estimate four parameters
        model = BGNBD() if len(f) < 20 else BGNBD().fit(f["frequency"] - 1, f["tenure_days"] - f["recency_days"], f["tenure_days"])
    x, t_x, T = f["frequency"] - 1, f["tenure_days"] - f["recency_days"], f["tenure_days"]
    f["bg_p_alive"] = model.p_alive(x, t_x, T)
    f["bg_expected"] = model.expected_purchases(horizon_days, x, t_x, T)

    f = _with_population(f, c, messages, followers, customers, unpaid)
    _engagement_features(messages, c, f)
    _birthday_features(customers, c, f)
    _follower_features(followers, c, f)
    _unpaid_features(unpaid, c, f)
    f["frequency"] = f["frequency"].fillna(0.0)
    for col in ("n_30", "n_90", "n_180", "n_365", "monetary_total", "spend_180", "spend_prev_180"):
        f[col] = f[col].fillna(0.0)
    cols = list(BASE_FEATURES) + [f"share_{i}" for i in range(len(categories))] + list(FACT_COLUMNS)
    return f.reindex(columns=cols).astype(float)


def labels(transactions: pd.DataFrame, cutoff, horizon_days: int, index: pd.Index) -> pd.Series:
    """1 for customers in ``index`` who buy in (cutoff, cutoff + horizon], else 0."""
    tx = transactions if transactions.attrs.get("prepared") else prepare_transactions(transactions)
    c = cutoff_day(cutoff)
    d = tx["date"].to_numpy()
    buyers = pd.unique(tx.loc[(d > c) & (d <= c + horizon_days * DAY), "customer_id"])
    return pd.Series(index.isin(buyers).astype(int), index=index)


def top_categories(transactions: pd.DataFrame, cutoff, n: int = 5) -> tuple[str, ...]:
    """The ``n`` categories with the most spend up to the cutoff."""
    if "category" not in transactions:
        return ()
    tx = transactions if transactions.attrs.get("prepared") else prepare_transactions(transactions)
    seen = tx[tx["date"].to_numpy() <= cutoff_day(cutoff)]
    return tuple(seen.groupby("category", observed=True)["amount"].sum().nlargest(n).index.astype(str))


def _count_by(keys: np.ndarray, mask: np.ndarray, index: pd.Index) -> np.ndarray:
    return pd.Series(mask.astype(float)).groupby(keys).sum().reindex(index, fill_value=0.0).to_numpy()


def _sum_by(keys: np.ndarray, values: np.ndarray, index: pd.Index) -> np.ndarray:
    return pd.Series(values).groupby(keys).sum().reindex(index, fill_value=0.0).to_numpy()


def _cycle_features(tx: pd.DataFrame, c: np.datetime64, f: pd.DataFrame) -> None:
    """Product-cycle position (seed 000): days since the purchase ÷ (usage_days × quantity).

    Per customer and consumable category, the latest purchase sets the cycle; the category whose
    position is nearest to "just running out" (1.0) speaks for the customer.
    """
    for col in ("cycle_position", "cycle_days_since", "cycle_span_days", "cycle_quantity", "cycle_usage_days"):
        f[col] = np.nan
    if "usage_days" not in tx:
        return
    key = "category" if "category" in tx else ("sku" if "sku" in tx else None)
    con = tx[tx["usage_days"].to_numpy() > 0]
    if con.empty:
        return
    groups = ["customer_id", "date"] + ([key] if key else [])
    per_day = con.groupby(groups, sort=True, observed=True).agg(
        quantity=("quantity", "sum"), usage_days=("usage_days", "max")).reset_index()
    last = per_day.groupby(["customer_id"] + ([key] if key else []), observed=True).tail(1).copy()
    last["days_since"] = (c - last["date"].to_numpy()) / DAY
    last["span"] = last["usage_days"] * last["quantity"].clip(lower=1)
    last["position"] = last["days_since"] / last["span"]
    last["distance"] = (last["position"] - 1.0).abs()
    best = last.sort_values(["customer_id", "distance"], kind="stable").groupby("customer_id").head(1)
    best = best.set_index("customer_id")
    f["cycle_position"] = best["position"].reindex(f.index)
    f["cycle_days_since"] = best["days_since"].reindex(f.index)
    f["cycle_span_days"] = best["span"].reindex(f.index)
    f["cycle_quantity"] = best["quantity"].reindex(f.index)
    f["cycle_usage_days"] = best["usage_days"].reindex(f.index)


def _category_features(tx: pd.DataFrame, f: pd.DataFrame, categories: tuple[str, ...]) -> None:
    f["n_categories"] = np.nan
    f["top_category_share"] = np.nan
    if "category" not in tx or tx.empty:
        for i in range(len(categories)):
            f[f"share_{i}"] = np.nan
        return
    spend = tx.groupby(["customer_id", "category"], observed=True)["amount"].sum()
    total = spend.groupby(level=0).sum()
    f["n_categories"] = spend.groupby(level=0).size().reindex(f.index).astype(float)
    f["top_category_share"] = (spend.groupby(level=0).max() / total.where(total > 0)).reindex(f.index)
    wide = spend.unstack(fill_value=0.0) if categories else None
    for i, cat in enumerate(categories):
        col = wide[cat] if wide is not None and cat in wide else pd.Series(0.0, index=total.index)
        f[f"share_{i}"] = (col / total.where(total > 0)).reindex(f.index)


def _with_population(f: pd.DataFrame, c, messages, followers, customers, unpaid) -> pd.DataFrame:
    """Add customers known at the cutoff without a purchase yet (prospects: followers, askers…)."""
    ids = [f.index.to_numpy()]
    if customers is not None and len(customers):
        known = customers
        if "created_at" in customers:
            known = customers[as_day(customers["created_at"]).to_numpy() <= c]
        ids.append(known["customer_id"].to_numpy())
    for table, col in ((followers, "since"), (messages, "date"), (unpaid, "date")):
        if table is not None and len(table):
            ids.append(table.loc[as_day(table[col]).to_numpy() <= c, "customer_id"].to_numpy())
    everyone = pd.Index(pd.unique(np.concatenate(ids)), name="customer_id")
    return f.reindex(everyone)


def _engagement_features(messages: pd.DataFrame | None, c, f: pd.DataFrame) -> None:
    for col in FEATURE_GROUPS["engagement"]:
        f[col] = np.nan
    if messages is None or messages.empty:
        return
    m = messages.assign(date=as_day(messages["date"]))
    m = m[m["date"].to_numpy() <= c]
    age = (c - m["date"].to_numpy()) / DAY
    inbound = (m["direction"] == "in").to_numpy()
    cid = m["customer_id"].to_numpy()
    f["msg_in_90"] = _count_by(cid, inbound & (age < 90), f.index)
    f["msg_out_90"] = _count_by(cid, ~inbound & (age < 90), f.index)
    last_in = pd.Series(np.where(inbound, age, np.nan)).groupby(cid).min()
    last_out = pd.Series(np.where(~inbound, age, np.nan)).groupby(cid).min()
    f["days_since_inbound"] = last_in.reindex(f.index)
    f["days_since_contact"] = last_out.reindex(f.index)
    n_in = _count_by(cid, inbound & (age < 180), f.index)
    n_out = _count_by(cid, ~inbound & (age < 180), f.index)
    f["response_rate"] = np.where(n_out > 0, np.minimum(n_in / np.maximum(n_out, 1), 1.0), np.nan)


def _birthday_features(customers: pd.DataFrame | None, c, f: pd.DataFrame) -> None:
    f["days_to_birthday"] = np.nan
    if customers is None or "birthday" not in customers or customers.empty:
        return
    b = customers.dropna(subset=["birthday"]).drop_duplicates("customer_id").set_index("customer_id")["birthday"]
    b = pd.to_datetime(b)
    today = pd.Timestamp(c)
    # Birthdays on 29 February are celebrated on the 28th in other years.
    day = np.where((b.dt.month == 2) & (b.dt.day == 29), 28, b.dt.day)
    this_year = pd.to_datetime({"year": today.year, "month": b.dt.month, "day": day})
    next_year = pd.to_datetime({"year": today.year + 1, "month": b.dt.month, "day": day})
    until = (this_year - today).dt.days
    until = until.where(until >= 0, (next_year - today).dt.days)
    f["days_to_birthday"] = pd.Series(until.to_numpy(float), index=b.index).reindex(f.index)


def _follower_features(followers: pd.DataFrame | None, c, f: pd.DataFrame) -> None:
    f["follower_age_days"] = np.nan
    if followers is None or followers.empty:
        return
    since = as_day(followers["since"])
    seen = followers.assign(since=since)[since.to_numpy() <= c]
    first = seen.groupby("customer_id")["since"].min()
    f["follower_age_days"] = pd.Series(((c - first.to_numpy()) / DAY).astype(float), index=first.index).reindex(f.index)


def _unpaid_features(unpaid: pd.DataFrame | None, c, f: pd.DataFrame) -> None:
    """Amount of orders placed in the last 30 days and still unpaid at the cutoff (催付)."""
    f["unpaid_amount"] = 0.0
    if unpaid is None or unpaid.empty:
        return
    created = as_day(unpaid["date"]).to_numpy()
    open_at_cutoff = (created <= c) & ((c - created) / DAY < 30)
    if "closed_date" in unpaid:
        closed = as_day(unpaid["closed_date"]).to_numpy()
        open_at_cutoff &= pd.isna(closed) | (closed > c)
    amounts = unpaid.loc[open_at_cutoff].groupby("customer_id")["amount"].sum()
    f["unpaid_amount"] = amounts.reindex(f.index, fill_value=0.0).astype(float)
