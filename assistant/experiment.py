"""Holdout assignment and the uplift of a campaign over its holdout.

A campaign's ROI read off a raw window (seed 001: "33,962 SMS → 312 buyers, ¥45,743, ROI ≈ 1:27")
credits the campaign with purchases that would have happened anyway. Here a random, stable
share of the segment is held out; what the campaign earned is the *difference* between the
contacted group and the holdout, with a confidence interval.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

Z95 = 1.959963984540054


def holdout_bucket(campaign_id: int, customer_id: int) -> float:
    """A number in [0, 1) fixed for (campaign, customer): re-planning never reshuffles groups."""
    digest = hashlib.sha256(f"holdout:{campaign_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_holdout(campaign_id: int, customer_id: int, holdout_pct: int) -> bool:
    return holdout_bucket(campaign_id, customer_id) < holdout_pct / 100


@dataclass(frozen=True)
class GroupResult:
    customers: int
    buyers: int
    revenue_fen: int

    @property
    def conversion(self) -> float:
        return self.buyers / self.customers if self.customers else 0.0

    @property
    def revenue_per_customer_fen(self) -> float:
        return self.revenue_fen / self.customers if self.customers else 0.0


@dataclass(frozen=True)
class Uplift:
    conversion_diff: float  # treatment − holdout, absolute
    conversion_ci: tuple[float, float]  # 95 %
    incremental_buyers: float
    incremental_revenue_fen: int
    roi: float | None  # incremental revenue / cost; None when the campaign cost nothing
    raw_roi: float | None  # all treatment revenue / cost, the seed-001 way, for comparison


def uplift(treatment: GroupResult, holdout: GroupResult, cost_fen: int) -> Uplift:
    """Difference in conversion with a Wald 95 % interval, and revenue uplift scaled to treatment."""
    p1, p0 = treatment.conversion, holdout.conversion
    diff = p1 - p0
    if treatment.customers and holdout.customers:
        se = math.sqrt(p1 * (1 - p1) / treatment.customers + p0 * (1 - p0) / holdout.customers)
    else:
        se = float("nan")
    ci = (diff - Z95 * se, diff + Z95 * se)
    incremental_revenue = round(
        (treatment.revenue_per_customer_fen - holdout.revenue_per_customer_fen) * treatment.customers)
    return Uplift(
        conversion_diff=diff,
        conversion_ci=ci,
        incremental_buyers=diff * treatment.customers,
        incremental_revenue_fen=incremental_revenue,
        roi=incremental_revenue / cost_fen if cost_fen else None,
        raw_roi=treatment.revenue_fen / cost_fen if cost_fen else None,
    )
