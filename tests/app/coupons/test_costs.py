"""Coupon cost in the campaign report and the task progress: coupon cost, net revenue, ROI after cost."""
from __future__ import annotations

import datetime as dt

from app.care import actions as care_actions
from app.care import campaigns
from models import Campaign, CampaignTarget, CareTask, CareTaskTarget, Segment, utcnow
from tests.app.coupons.conftest import order_body


def _segment(s):
    seg = Segment(name="全部", filter={"field": "paid_orders", "op": ">=", "value": 0})
    s.add(seg)
    s.flush()
    return seg


def test_campaign_report_counts_the_redeemed_discount_as_cost(app, db, api, shop):
    c1 = shop["customers"]["C1"]
    with db.transaction() as s:
        seg = _segment(s)
        campaign = Campaign(name="双12", segment_id=seg.id, channel="sms", content={"text": "hi"}, status="done",
                            unit_cost_fen=5, sent_at=utcnow() - dt.timedelta(minutes=5))
        s.add(campaign)
        s.flush()
        s.add(CampaignTarget(campaign_id=campaign.id, customer_id=c1, group="treatment", status="sent"))
        cid = campaign.id
    tpl = api.template()
    code = api.issue(tpl["id"], ["C1"], source={"kind": "campaign", "id": str(cid)})["issued"][0]["code"]
    api.orders(order_body(code=code))
    with app.app_context(), db.Session() as s:
        report = campaigns.campaign_report(s, cid, days=14)
    assert (report["revenue_fen"], report["cost_fen"], report["coupon_cost"]) == (51600, 5, "20.00")
    assert (report["coupons_issued"], report["coupons_redeemed"]) == (1, 1)
    assert report["net_revenue"] == "495.95"   # 516.00 − 0.05 sends − 20.00 coupon
    assert report["roi_after_cost"] == round(51600 / 2005, 2)


def test_task_progress_counts_the_coupon_cost_and_a_refund_that_returns_it_costs_nothing(app, db, api, shop):
    c1 = shop["customers"]["C1"]
    with db.transaction() as s:
        seg = _segment(s)
        task = CareTask(title="老客关怀", segment_id=seg.id, deadline=utcnow() + dt.timedelta(days=3))
        s.add(task)
        s.flush()
        s.add(CareTaskTarget(task_id=task.id, customer_id=c1, clerk_id=shop["clerk_id"], status="sent",
                             sent_at=utcnow() - dt.timedelta(minutes=5)))
        task_id = task.id
    tpl = api.template(refund_returns_coupon=True)
    code = api.issue(tpl["id"], ["C1"], source={"kind": "task", "id": str(task_id)})["issued"][0]["code"]
    api.orders(order_body(code=code))
    with app.app_context(), db.Session() as s:
        total = care_actions.progress(s, task_id)["total"]
    assert (total["revenue_fen"], total["coupon_cost_fen"], total["net_revenue"]) == (51600, 2000, "496.00")
    api.orders(order_body(code=code, status="refunded", refund_amount="516.00", refunded_at="2026-11-19 10:00"))
    with app.app_context(), db.Session() as s:
        total = care_actions.progress(s, task_id)["total"]
    assert (total["coupon_cost_fen"], total["coupons_redeemed"]) == (0, 0)
