"""Sales attribution (业绩归属): which clerk, or clerks, an order counts for.

Plain Python and pandas, no Flask and no database. Three facts about an order name a candidate
clerk each:

- ``in_store``: the clerk recorded on an in-store sale (``Order.clerk_id``);
- ``owner``: the customer's owner clerk (exclusive binding) *at the moment the order was paid* —
  a customer handed over on the 10th counts for the new clerk from the 10th on;
- ``link``: the clerk whose personal page (专属商品页) the order names in ``ref`` — the link was
  the customer's own and they clicked a product on it within N days before payment;
- ``last_touch``: the clerk who last messaged the customer within N days before payment.

The brand orders these rules (``config["order"]``); the first rule that names a clerk wins. The
default precedence is in-store clerk > shared link > owner > last touch: the clerk who rang up
the sale was there; a link click is direct evidence of whose work sold it, stronger than a
standing binding; the owner beats a message that merely came last. The
``split`` rule, when placed in the order, shares an order between the clerks two rules name, when
both name someone and they differ (e.g. owner 50 % / last touch 50 %).

``attribute`` decides one order and is the definition; ``attribute_frame`` does the same over a
whole DataFrame for the batch and event paths (a test holds them equal on every combination).
"""
from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

CANDIDATE_RULES = ("in_store", "link", "owner", "last_touch")
RULES = (*CANDIDATE_RULES, "split")
FULL_SHARE_BP = 10_000
MAX_LAST_TOUCH_DAYS = 90
SMALL_BATCH = 50

DEFAULT_CONFIG: dict[str, Any] = {
    "order": ["in_store", "link", "owner", "last_touch"],
    "last_touch_days": 7,
    "split": {"between": ["owner", "last_touch"], "first_share_bp": 5000},
}


@dataclass(frozen=True)
class Share:
    """One clerk's part of an order. ``primary`` takes rounding remainders (one per order)."""

    clerk_id: int
    rule: str
    share_bp: int
    primary: bool


def validate_config(value: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Normalise an attribution config; return it with ``{path: reason}`` for what is wrong."""
    errors: dict[str, str] = {}
    if not isinstance(value, dict):
        return copy.deepcopy(DEFAULT_CONFIG), {"": "must be an object"}
    unknown = set(value) - set(DEFAULT_CONFIG)
    for key in sorted(unknown):
        errors[key] = "unknown setting"
    config = copy.deepcopy(DEFAULT_CONFIG)

    order = value.get("order", config["order"])
    if not isinstance(order, list) or not order:
        errors["order"] = f"a non-empty list of rules from {', '.join(RULES)}"
    else:
        for i, rule in enumerate(order):
            if rule not in RULES:
                errors[f"order[{i}]"] = f"unknown rule; one of {', '.join(RULES)}"
            elif order.index(rule) != i:
                errors[f"order[{i}]"] = "listed twice"
        config["order"] = list(order)

    days = value.get("last_touch_days", config["last_touch_days"])
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_LAST_TOUCH_DAYS:
        errors["last_touch_days"] = f"a whole number of days from 1 to {MAX_LAST_TOUCH_DAYS}"
    else:
        config["last_touch_days"] = days

    split = value.get("split", config["split"])
    if not isinstance(split, dict):
        errors["split"] = "must be an object"
    else:
        for key in sorted(set(split) - {"between", "first_share_bp"}):
            errors[f"split.{key}"] = "unknown setting"
        between = split.get("between", config["split"]["between"])
        if (not isinstance(between, list) or len(between) != 2
                or any(r not in CANDIDATE_RULES for r in between) or between[0] == between[1]):
            errors["split.between"] = f"two different rules from {', '.join(CANDIDATE_RULES)}"
        else:
            config["split"]["between"] = list(between)
        share = split.get("first_share_bp", config["split"]["first_share_bp"])
        if isinstance(share, bool) or not isinstance(share, int) or not 0 < share < FULL_SHARE_BP:
            errors["split.first_share_bp"] = "basis points strictly between 0 and 10000"
        else:
            config["split"]["first_share_bp"] = share
    return config, errors


def attribute(candidates: dict[str, int | None], config: dict[str, Any]) -> list[Share]:
    """The shares of one order, given the clerk each candidate rule names (or None)."""
    for rule in config["order"]:
        if rule == "split":
            first, second = config["split"]["between"]
            a, b = candidates.get(first), candidates.get(second)
            if a is not None and b is not None and a != b:
                bp = config["split"]["first_share_bp"]
                return [Share(a, "split", bp, True), Share(b, "split", FULL_SHARE_BP - bp, False)]
            continue
        clerk = candidates.get(rule)
        if clerk is not None:
            return [Share(clerk, rule, FULL_SHARE_BP, True)]
    return []


def attribute_frame(candidates: pd.DataFrame, config: dict[str, Any]) -> pd.DataFrame:
    """``attribute`` over rows of ``order_id`` + one column per candidate rule (NaN: nobody).

    Returns one row per share: order_id, clerk_id, rule, share_bp, primary.
    """
    n = len(candidates)
    decided = np.zeros(n, dtype=bool)
    order_ids = candidates["order_id"].to_numpy(dtype=np.int64)
    col = {r: candidates[r].to_numpy(dtype=float) if r in candidates else np.full(n, np.nan)
           for r in CANDIDATE_RULES}
    parts = []

    def take(mask: np.ndarray, clerks: np.ndarray, rule: str, bp: int, primary: bool) -> None:
        parts.append(pd.DataFrame({
            "order_id": order_ids[mask], "clerk_id": clerks[mask].astype(np.int64),
            "rule": rule, "share_bp": np.int64(bp), "primary": primary}))

    for rule in config["order"]:
        if rule == "split":
            first, second = config["split"]["between"]
            a, b = col[first], col[second]
            mask = ~decided & ~np.isnan(a) & ~np.isnan(b) & (a != b)
            bp = config["split"]["first_share_bp"]
            take(mask, a, "split", bp, True)
            take(mask, b, "split", FULL_SHARE_BP - bp, False)
        else:
            mask = ~decided & ~np.isnan(col[rule])
            take(mask, col[rule], rule, FULL_SHARE_BP, True)
        decided |= mask
    if not parts:
        return pd.DataFrame({"order_id": pd.Series(dtype=np.int64), "clerk_id": pd.Series(dtype=np.int64),
                             "rule": pd.Series(dtype=object), "share_bp": pd.Series(dtype=np.int64),
                             "primary": pd.Series(dtype=bool)})
    return pd.concat(parts, ignore_index=True)


def owners_at(orders: pd.DataFrame, bindings: pd.DataFrame) -> pd.DataFrame:
    """The owner clerk of each order's customer at ``paid_at``, and since when.

    ``orders``: order_id, customer_id, paid_at. ``bindings`` (owner bindings only): customer_id,
    clerk_id, since, ended_at (NaT while active). Owner bindings of one customer do not overlap,
    so the latest one started by the payment is the candidate; it counts if it had not ended.
    Returns order_id, owner, owner_since.
    """
    left = orders[["order_id", "customer_id", "paid_at"]].sort_values("paid_at", kind="stable")
    if bindings.empty:
        return pd.DataFrame({"order_id": left["order_id"].to_numpy(), "owner": np.nan,
                             "owner_since": pd.NaT})
    right = bindings[["customer_id", "clerk_id", "since", "ended_at"]].sort_values("since", kind="stable")
    merged = pd.merge_asof(left, right, left_on="paid_at", right_on="since", by="customer_id",
                           direction="backward", allow_exact_matches=True)
    alive = merged["clerk_id"].notna() & (merged["ended_at"].isna() | (merged["ended_at"] > merged["paid_at"]))
    return pd.DataFrame({"order_id": merged["order_id"].to_numpy(),
                         "owner": merged["clerk_id"].where(alive).to_numpy(dtype=float),
                         "owner_since": merged["since"].where(alive).array})


def last_touches(orders: pd.DataFrame, touches: pd.DataFrame, days: int) -> pd.DataFrame:
    """The clerk who last messaged each order's customer within ``days`` before ``paid_at``.

    ``touches``: customer_id, clerk_id, sent_at (outbound messages a clerk sent). Returns
    order_id, last_touch, last_touch_at.
    """
    left = orders[["order_id", "customer_id", "paid_at"]].sort_values("paid_at", kind="stable")
    if touches.empty:
        return pd.DataFrame({"order_id": left["order_id"].to_numpy(), "last_touch": np.nan,
                             "last_touch_at": pd.NaT})
    right = touches[["customer_id", "clerk_id", "sent_at"]].sort_values("sent_at", kind="stable")
    merged = pd.merge_asof(left, right, left_on="paid_at", right_on="sent_at", by="customer_id",
                           direction="backward", allow_exact_matches=True,
                           tolerance=pd.Timedelta(days=days))
    return pd.DataFrame({"order_id": merged["order_id"].to_numpy(),
                         "last_touch": merged["clerk_id"].to_numpy(dtype=float),
                         "last_touch_at": merged["sent_at"].array})


def candidates_frame(orders: pd.DataFrame, bindings: pd.DataFrame, touches: pd.DataFrame,
                     days: int) -> pd.DataFrame:
    """order_id with in_store, owner, last_touch (and owner_since, last_touch_at) per order.

    ``orders``: order_id, customer_id, paid_at, clerk_id (the in-store clerk, NaN if none).
    A handful of orders (one event) is looked up in plain Python; pandas' merges cost more.
    """
    if len(orders) <= SMALL_BATCH:
        return candidates_plain(orders, bindings, touches, days)
    out = orders[["order_id"]].copy()
    out["in_store"] = orders["clerk_id"].to_numpy(dtype=float)
    out = out.merge(owners_at(orders, bindings), on="order_id", how="left")
    return out.merge(last_touches(orders, touches, days), on="order_id", how="left")


def candidates_plain(orders: pd.DataFrame, bindings: pd.DataFrame, touches: pd.DataFrame,
                     days: int) -> pd.DataFrame:
    """``candidates_frame`` one order at a time (same result)."""
    owner_rows: dict[int, list[tuple[Any, int, Any]]] = {}
    for b in bindings[["customer_id", "clerk_id", "since", "ended_at"]].itertuples(index=False):
        owner_rows.setdefault(int(b.customer_id), []).append((b.since, int(b.clerk_id), b.ended_at))
    touch_rows: dict[int, list[tuple[Any, int]]] = {}
    for m in touches[["customer_id", "clerk_id", "sent_at"]].itertuples(index=False):
        touch_rows.setdefault(int(m.customer_id), []).append((m.sent_at, int(m.clerk_id)))
    window = pd.Timedelta(days=days)
    rows = []
    for o in orders[["order_id", "customer_id", "paid_at", "clerk_id"]].itertuples(index=False):
        paid = o.paid_at
        started = [b for b in owner_rows.get(int(o.customer_id), []) if b[0] <= paid]
        latest = max(started, key=lambda b: b[0]) if started else None
        alive = latest is not None and (pd.isna(latest[2]) or latest[2] > paid)
        recent = [m for m in touch_rows.get(int(o.customer_id), []) if m[0] <= paid and paid - m[0] <= window]
        last = max(recent, key=lambda m: m[0]) if recent else None
        rows.append({"order_id": int(o.order_id), "in_store": np.nan if pd.isna(o.clerk_id) else float(o.clerk_id),
                     "owner": float(latest[1]) if alive else np.nan,
                     "owner_since": latest[0] if alive else pd.NaT,
                     "last_touch": float(last[1]) if last else np.nan,
                     "last_touch_at": last[0] if last else pd.NaT})
    out = pd.DataFrame(rows, columns=["order_id", "in_store", "owner", "owner_since", "last_touch", "last_touch_at"])
    for c in ("owner_since", "last_touch_at"):
        out[c] = pd.to_datetime(out[c], utc=True)
    return out


def link_candidates(orders: pd.DataFrame, clicks: pd.DataFrame, days: int) -> pd.DataFrame:
    """The clerk whose personal link each order came through, and when it was clicked.

    ``clicks``: order_id, customer_id (the link's customer), clerk_id (the link's clerk),
    clicked_at — every click on the link an order's ``ref`` names. It counts when the link was the
    buyer's own (a forwarded or guessed reference credits nobody) and the click came before the
    payment, at most ``days`` earlier; the latest such click decides. Returns order_id, link, link_at.
    """
    empty = pd.DataFrame({"order_id": pd.Series(dtype=np.int64), "link": pd.Series(dtype=float),
                          "link_at": pd.Series(dtype="datetime64[us, UTC]")})
    if clicks.empty or orders.empty:
        return empty
    merged = clicks.merge(orders[["order_id", "customer_id", "paid_at"]], on="order_id", suffixes=("_link", ""))
    ok = ((merged["customer_id_link"] == merged["customer_id"]) & (merged["clicked_at"] <= merged["paid_at"])
          & (merged["paid_at"] - merged["clicked_at"] <= pd.Timedelta(days=days)))
    merged = merged[ok].sort_values("clicked_at", kind="stable")
    if merged.empty:
        return empty
    latest = merged.groupby("order_id", sort=False).tail(1)
    return pd.DataFrame({"order_id": latest["order_id"].to_numpy(dtype=np.int64),
                         "link": latest["clerk_id"].to_numpy(dtype=float),
                         "link_at": latest["clicked_at"].array})


def with_links(cands: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """``cands`` with the ``link`` rule's clerk (NaN: none) and click time per order."""
    out = cands.drop(columns=[c for c in ("link", "link_at") if c in cands]).merge(links, on="order_id", how="left")
    out["link"] = out["link"].astype(float)
    out["link_at"] = pd.to_datetime(out["link_at"], utc=True)
    return out


def month_of(times: pd.Series, timezone: str) -> pd.Series:
    """YYYY-MM of each UTC time, in the brand's timezone (a month closes on local midnight)."""
    local = times.dt.tz_convert(timezone)
    codes = (local.dt.year * 100 + local.dt.month).to_numpy()
    # Format each distinct month once, not each of millions of rows.
    uniques, inverse = np.unique(codes, return_inverse=True)
    labels = np.array([f"{c // 100:04d}-{c % 100:02d}" for c in uniques], dtype=object)
    return pd.Series(labels[inverse], index=times.index)


def month_of_time(when: dt.datetime, timezone: str) -> str:
    from zoneinfo import ZoneInfo

    return when.astimezone(ZoneInfo(timezone)).strftime("%Y-%m")
