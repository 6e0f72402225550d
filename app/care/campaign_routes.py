"""``/api/v1/campaigns``: create (and plan), send, report with uplift, CSV export."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify, request
from sqlalchemy import func, select

from app import csv_export, db, jobs
from app.auth import current_staff, staff_required
from app.care import campaigns
from app.care.routes import parse_time
from app.customers.serialize import yuan
from app.links.funnel import campaign_funnel
from app.params import query_int
from app.errors import Invalid, NotFound
from app.scoping import where_visible
from models import Campaign, CampaignTarget, Customer, Staff

bp = Blueprint("campaigns", __name__, url_prefix="/api/v1")


def campaign_json(c: Campaign, counts: dict[str, int] | None = None) -> dict:
    return {"id": c.id, "name": c.name, "segment_id": c.segment_id, "channel": c.channel,
            "content": c.content, "holdout_pct": c.holdout_pct, "status": c.status,
            "unit_cost": yuan(c.unit_cost_fen),
            "scheduled_at": c.scheduled_at.isoformat() if c.scheduled_at else None,
            "sent_at": c.sent_at.isoformat() if c.sent_at else None,
            "created_at": c.created_at.isoformat(), "counts": counts or {}}


def _days() -> int:
    return query_int("days", 14, low=1, high=365)


@bp.get("/campaigns")
@staff_required("hq", "manager")
def list_campaigns():
    s = db.session()
    rows = list(s.scalars(select(Campaign).order_by(Campaign.created_at.desc()).limit(100)))
    counts: dict[int, dict[str, int]] = {c.id: {} for c in rows}
    for cid, status, n in s.execute(select(CampaignTarget.campaign_id, CampaignTarget.status, func.count())
                                    .where(CampaignTarget.campaign_id.in_(counts))
                                    .group_by(CampaignTarget.campaign_id, CampaignTarget.status)):
        counts[cid][status] = n
    return jsonify({"campaigns": [campaign_json(c, counts[c.id]) for c in rows]})


@bp.post("/campaigns")
@staff_required("hq")
def create():
    data = _campaign_body()
    with db.transaction() as s:
        campaign = campaigns.create_campaign(s, s.get(Staff, current_staff().id), data)
        body = campaign_json(campaign)
        body["preview"] = campaigns.plan_preview(s, campaign)
    return jsonify(body), 201


def _campaign_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid("body must be a JSON object", {"body": "expected an object"})
    if data.get("scheduled_at") is not None:
        data = {**data, "scheduled_at": parse_time(data["scheduled_at"], "scheduled_at")}
    return data


@bp.post("/campaigns/preview")
@staff_required("hq")
def preview():
    """What creating this campaign would do — count, holdout, skips, cost, rendered copy — with
    nothing written, so head office confirms with the numbers in front of them."""
    body = campaigns.preview_campaign(db.session(), current_staff(), _campaign_body())
    body["cost"] = yuan(body.pop("cost_fen"))
    return jsonify(body)


@bp.post("/campaigns/<int:campaign_id>/cancel")
@staff_required("hq")
def cancel(campaign_id: int):
    with db.transaction() as s:
        body = campaign_json(campaigns.cancel_campaign(s, s.get(Staff, current_staff().id), campaign_id))
    return jsonify(body)


@bp.get("/campaigns/<int:campaign_id>")
@staff_required("hq", "manager")
def get(campaign_id: int):
    c = db.session().get(Campaign, campaign_id)
    if c is None:
        raise NotFound("campaign not found", {"campaign_id": "no such campaign"})
    return jsonify(campaign_json(c))


@bp.post("/campaigns/<int:campaign_id>/send")
@staff_required("hq")
def send(campaign_id: int):
    c = db.session().get(Campaign, campaign_id)
    if c is None:
        raise NotFound("campaign not found", {"campaign_id": "no such campaign"})
    if c.status not in ("planned", "sending"):
        raise Invalid("campaign already sent", {"status": c.status})
    jobs.enqueue(campaigns.send_campaign, campaign_id)
    return jsonify({"queued": True, "campaign_id": campaign_id}), 202


@bp.get("/campaigns/<int:campaign_id>/report")
@staff_required("hq", "manager")
def report(campaign_id: int):
    body = campaigns.campaign_report(db.session(), campaign_id, _days())
    for k in ("revenue_fen", "holdout_revenue_fen", "cost_fen"):
        body[k.replace("_fen", "")] = yuan(body[k])
    body["uplift"]["incremental_revenue"] = yuan(body["uplift"]["incremental_revenue_fen"])
    start, end = (dt.datetime.fromisoformat(w) for w in body["window"])
    body["funnel"] = campaign_funnel(db.session(), campaign_id, start, end)
    return jsonify(body)


@bp.get("/campaigns/<int:campaign_id>/report.csv")
@staff_required("hq", "manager")
def report_csv(campaign_id: int):
    """One line per target the staff member may see: group, status, skip reason — joinable with
    orders by external id."""
    s = db.session()
    if s.get(Campaign, campaign_id) is None:
        raise NotFound("campaign not found", {"campaign_id": "no such campaign"})
    rows = s.execute(
        select(Customer.external_id, Customer.name, CampaignTarget.group, CampaignTarget.status,
               CampaignTarget.skip_reason).join(Customer, Customer.id == CampaignTarget.customer_id)
        .where(CampaignTarget.campaign_id == campaign_id, where_visible(current_staff()))
        .order_by(CampaignTarget.id))
    return csv_export.download(f"campaign-{campaign_id}.csv",
                               ["customer_external_id", "customer_name", "group", "status", "skip_reason"],
                               rows, report="campaign", store_id=current_staff().store_id)
