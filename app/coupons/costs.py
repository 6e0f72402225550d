"""What coupons cost a campaign or a care task: the discounts its coupons gave on redeemed orders.

The reports (``app.care.campaigns.campaign_report``, ``app.care.actions.progress``) call
``coupon_cost_fields`` with their revenue and send cost and add what it returns. Revenue is what
customers paid (after the coupon); the discount is what the brand gave up to get it, so it is
counted as a cost beside the sends: ``net_revenue`` = revenue − send cost − coupon cost, and
``roi_after_cost`` = revenue ÷ (send cost + coupon cost). A coupon given back by a refund or a
cancellation carries no discount, so it costs nothing.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.coupons import Coupon, CouponState
from models.money import yuan


def coupon_cost_fen(session: Session, source: str, source_id: int | str) -> tuple[int, int, int]:
    """(issued, redeemed, discount fen) of the coupons issued from one task or campaign."""
    issued, redeemed, cost = session.execute(
        select(func.count(), func.count(Coupon.redeemed_at),
               func.coalesce(func.sum(Coupon.discount_fen), 0))
        .where(Coupon.source == source, Coupon.source_ref == str(source_id),
               Coupon.state != CouponState.void)).one()
    return int(issued or 0), int(redeemed or 0), int(cost or 0)


def coupon_cost_fields(session: Session, source: str, source_id: int | str, revenue_fen: int,
                       send_cost_fen: int = 0) -> dict[str, Any]:
    """The report fields coupons add: ``coupon_cost`` (and _fen), ``net_revenue`` (and _fen),
    ``roi_after_cost`` (revenue per fen spent on sends and coupons; None when nothing was spent)."""
    issued, redeemed, cost = coupon_cost_fen(session, source, source_id)
    spent = cost + send_cost_fen
    net = revenue_fen - spent
    return {"coupons_issued": issued, "coupons_redeemed": redeemed,
            "coupon_cost_fen": cost, "coupon_cost": yuan(cost),
            "net_revenue_fen": net, "net_revenue": yuan(net),
            "roi_after_cost": round(revenue_fen / spent, 2) if spent else None}
