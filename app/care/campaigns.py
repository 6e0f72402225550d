"""Campaigns: a send to a segment over one channel with a random, stable holdout.

``create_campaign`` validates and plans in one transaction: every member of the segment becomes a
target in the treatment group or the holdout (stable per customer, see ``assistant.experiment``),
and the contact policy previews who would be skipped. ``send_campaign`` (a job) sends the
treatment group through the outbox under the policy, in batches of one transaction each, and is
safe to run twice (client ids are per campaign and customer). ``campaign_report`` measures what it
earned against the holdout, from the orders in the database.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from app import db, i18n
from app.care import task_coupons
from app.care.actions import render_copy
from app.care.segments import segment_customer_ids
from app.coupons.costs import coupon_cost_fields
from app.contact.service import decide_many
from app.errors import DomainError, Forbidden, Invalid, NotFound
from app.links.actions import attach_link, checked_skus
from app.params import is_id
from app.messaging.actions import owner_clerk_ids, send_message
from assistant.experiment import GroupResult, in_holdout, uplift
from connectors.registry import address_fields, channel_kinds, channel_label
from models import (Campaign, CampaignTarget, ChannelIdentity, Conversation, Customer,
                    CustomerOptOut, Direction, Message, MessageStatus, Order,
                    Role, Segment, Staff, utcnow)
from models.commerce import PAID_STATUSES

log = logging.getLogger("daogou.campaigns")
BATCH = 500
# Default per-message cost (fen) when head office gives none: SMS ≈ ¥0.045 a segment, the rest free.
DEFAULT_UNIT_COST_FEN = {"sms": 5}
MAX_UNIT_COST_FEN = 1_000_000  # ¥10,000 a message: far above any channel, far below BIGINT


def _reachable_clause(channel: str):
    address = address_fields().get(channel)
    if address is not None:
        addr = getattr(Customer, address).is_not(None)
    else:
        addr = exists().where(ChannelIdentity.customer_id == Customer.id, ChannelIdentity.channel == channel)
    opted = exists().where(CustomerOptOut.customer_id == Customer.id, CustomerOptOut.channel == channel)
    return and_(addr, ~opted)


def _validated(session: Session, staff: Staff, data: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """Check a campaign as head office filled it in; the fields and the segment's members now."""
    if staff.role != Role.hq:
        raise Forbidden("only head office runs campaigns")
    fields: dict[str, str] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        fields["name"] = "required"
    segment = session.get(Segment, data["segment_id"]) if is_id(data.get("segment_id")) else None
    if segment is None:
        fields["segment_id"] = "unknown segment"
    channel = data.get("channel")
    allowed = channel_kinds(mass_send=True)
    if channel not in allowed:
        fields["channel"] = f"one of {', '.join(allowed)}"
    holdout = data.get("holdout_pct", 10)
    if isinstance(holdout, bool) or not isinstance(holdout, int) or not 0 <= holdout <= 50:
        fields["holdout_pct"] = "a whole number from 0 to 50"
    text = (data.get("content") or {}).get("text") if isinstance(data.get("content"), dict) else None
    if not text or not str(text).strip():
        fields["content.text"] = "required"
    else:
        try:
            render_copy(text, {"customer_name": "张三", "clerk_name": "小王", "brand": "品牌"})
        except TemplateError as exc:
            fields["content.text"] = f"does not render: {exc}"
    products = (data.get("content") or {}).get("products") if isinstance(data.get("content"), dict) else None
    if products:
        try:
            products = checked_skus(session, products)
        except DomainError as exc:
            fields["content.products"] = exc.fields["products"]
    coupon = data.get("coupon_template_id")
    problem = task_coupons.coupon_problem(session, coupon, products)
    if problem:
        fields["coupon_template_id"] = i18n.t(f"hq.tasks.error.coupon.{problem}")
    unit_cost = data.get("unit_cost_fen", DEFAULT_UNIT_COST_FEN.get(channel or "", 0))
    if isinstance(unit_cost, bool) or not isinstance(unit_cost, int) or not 0 <= unit_cost <= MAX_UNIT_COST_FEN:
        fields["unit_cost_fen"] = f"a whole number of fen from 0 to {MAX_UNIT_COST_FEN}"
    scheduled_at = data.get("scheduled_at")
    if scheduled_at is not None and (not isinstance(scheduled_at, dt.datetime) or scheduled_at < now - dt.timedelta(minutes=1)):
        fields["scheduled_at"] = "must be a time in the future"
    if fields:
        raise Invalid(i18n.t("hq.campaigns.invalid"), i18n.field_sentences(fields, "hq.campaigns.error"))
    members = segment_customer_ids(session, segment.filter, now).subquery()
    total = session.scalar(select(func.count()).select_from(members))
    if not total:
        raise Invalid(i18n.t("hq.campaigns.invalid"), {"segment_id": i18n.t("hq.campaigns.error.segment_empty")})
    reachable = session.scalar(select(func.count()).select_from(Customer).where(
        Customer.id.in_(select(members.c[0])), _reachable_clause(channel)))
    if not reachable:
        raise Invalid(i18n.t("hq.campaigns.invalid"), {"channel": i18n.t(
            "hq.campaigns.error.unreachable", n=total, channel=channel_label(channel, i18n.negotiate_locale()))})
    return {"name": name, "segment": segment, "channel": channel, "text": text, "products": products or [],
            "holdout": holdout, "coupon": coupon,
            "unit_cost": unit_cost, "scheduled_at": scheduled_at, "members": members, "total": total,
            "reachable": reachable}


def _content(v: dict[str, Any]) -> dict[str, Any]:
    """What each target receives: the copy, the products of their personal page and the coupon
    each gets on it (if any)."""
    return {"text": v["text"], **({"products": v["products"]} if v["products"] else {}),
            **({"coupon_template_id": v["coupon"]} if v["coupon"] is not None else {})}


def create_campaign(session: Session, staff: Staff, data: dict[str, Any],
                    now: dt.datetime | None = None) -> Campaign:
    """Validate, then plan the targets (groups and policy preview) in the same transaction."""
    now = now or utcnow()
    v = _validated(session, staff, data, now)
    campaign = Campaign(name=v["name"], segment_id=v["segment"].id, channel=v["channel"], content=_content(v),
                        scheduled_at=v["scheduled_at"], holdout_pct=v["holdout"], status="planned",
                        unit_cost_fen=v["unit_cost"], created_by=staff.id, created_at=now)
    session.add(campaign)
    session.flush()
    ids = list(session.scalars(select(v["members"].c[0])))
    rows = [{"campaign_id": campaign.id, "customer_id": cid,
             "group": "holdout" if in_holdout(campaign.id, cid, v["holdout"]) else "treatment",
             "status": "planned"} for cid in ids]
    for batch in db.chunks(rows, 5000):
        session.execute(insert(CampaignTarget), batch)
    return campaign


PREVIEW_SAMPLES = 3


def preview_campaign(session: Session, staff: Staff, data: dict[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
    """What a campaign would do, written nowhere: the count, the holdout, who the policy would
    skip, the cost, and the copy rendered for a few of the customers it would reach."""
    now = now or utcnow()
    v = _validated(session, staff, data, now)
    reachable_ids = list(session.scalars(select(Customer.id).where(
        Customer.id.in_(select(v["members"].c[0])), _reachable_clause(v["channel"])).order_by(Customer.id)))
    holdout = round(v["total"] * v["holdout"] / 100)
    # The holdout is drawn per customer when the campaign is created: here its share is estimated.
    decisions = decide_many(session, reachable_ids, purpose="marketing", now=now, channel=v["channel"],
                            text=v["text"], reserve=False)
    would_send = round(sum(d.allowed or d.deferred for d in decisions.values()) * (100 - v["holdout"]) / 100)
    reasons = Counter(d.reason for d in decisions.values() if not (d.allowed or d.deferred))
    names = dict(session.execute(select(Customer.id, Customer.name).where(
        Customer.id.in_(reachable_ids[:PREVIEW_SAMPLES]))).all())
    samples = [{"customer": names.get(cid, ""), "text": render_copy(v["text"], {
        "customer_name": names.get(cid, ""), "clerk_name": "", "brand": ""})} for cid in reachable_ids[:PREVIEW_SAMPLES]]
    return {"segment_size": v["total"], "reachable": v["reachable"], "holdout": holdout,
            "would_send": would_send, "would_skip": [{"reason": r, "count": n} for r, n in reasons.most_common()],
            "cost_fen": would_send * v["unit_cost"], "samples": samples,
            "max_chars": max((len(x["text"]) for x in samples), default=0),
            "scheduled_at": v["scheduled_at"].isoformat() if v["scheduled_at"] else None}


def cancel_campaign(session: Session, staff: Staff, campaign_id: int) -> Campaign:
    """Call off a campaign that has not started sending (planned, scheduled or not)."""
    if staff.role != Role.hq:
        raise Forbidden("only head office runs campaigns")
    done = session.execute(update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "planned")
                           .values(status="cancelled")).rowcount
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("campaign not found", {"campaign_id": "no such campaign"})
    if not done:
        raise Invalid(i18n.t("hq.campaigns.invalid"), {"status": i18n.t("hq.campaigns.error.started")})
    session.refresh(campaign)
    return campaign


def plan_preview(session: Session, campaign: Campaign, now: dt.datetime | None = None) -> dict[str, Any]:
    """Who the policy would skip if it were sent now (no slot is taken)."""
    now = now or utcnow()
    ids = list(session.scalars(select(CampaignTarget.customer_id).where(
        CampaignTarget.campaign_id == campaign.id, CampaignTarget.group == "treatment")))
    decisions = decide_many(session, ids, purpose="marketing", now=now, channel=campaign.channel,
                            text=campaign.content.get("text"), reserve=False)
    reasons = Counter(d.reason for d in decisions.values() if not d.allowed)
    return {"treatment": len(ids), "would_send": sum(d.allowed for d in decisions.values()),
            "would_skip": [{"reason": r, "count": n} for r, n in reasons.most_common()]}


def send_campaign(campaign_id: int) -> dict[str, int]:
    """Send the planned treatment targets under the contact policy; safe to run again."""
    database = db.get_db()
    counts = {"sent": 0, "deferred": 0, "skipped": 0}
    with database.transaction() as s:
        campaign = s.get(Campaign, campaign_id)
        if campaign is None or campaign.status not in ("planned", "sending"):
            return counts  # cancelled, or sent already
        campaign.status = "sending"
        campaign.sent_at = campaign.sent_at or utcnow()
        channel, text, skus = campaign.channel, campaign.content["text"], list(campaign.content.get("products") or [])
        coupon = campaign.content.get("coupon_template_id")
    with database.Session() as s:
        todo = list(s.scalars(select(CampaignTarget.id).where(
            CampaignTarget.campaign_id == campaign_id, CampaignTarget.group == "treatment",
            CampaignTarget.status == "planned").order_by(CampaignTarget.id)))
    for batch in db.chunks(todo, BATCH):
        with database.transaction() as s:
            _send_batch(s, campaign_id, channel, text, skus, batch, counts, coupon)
    with database.transaction() as s:
        # Everything held for quiet hours: it is still waiting, not sent (it becomes "sent" when
        # the last held message goes, see on_outbound_settled).
        s.get(Campaign, campaign_id).status = "deferred" if counts["deferred"] and not counts["sent"] else "sent"
    log.info("campaign sent", extra={"campaign_id": campaign_id, **counts})
    return counts


def _send_batch(s: Session, campaign_id: int, channel: str, text: str, skus: list[str], target_ids: list[int],
                counts: dict[str, int], coupon: int | None = None) -> None:
    now = utcnow()
    targets = list(s.scalars(select(CampaignTarget).where(CampaignTarget.id.in_(target_ids),
                                                          CampaignTarget.status == "planned")))
    ids = [t.customer_id for t in targets]
    owners = owner_clerk_ids(s, ids)
    names = dict(s.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all())
    decisions = decide_many(s, ids, purpose="marketing", now=now, channel=channel, text=None,
                            mass=channel == "wecom", source="campaign")
    for t in targets:
        d, clerk = decisions[t.customer_id], owners.get(t.customer_id)
        if clerk is None:
            t.status, t.skip_code, t.skip_reason = "skipped", "no_owner", "客户没有负责导购"
        elif not (d.allowed or d.deferred):
            t.status, t.skip_code, t.skip_reason = "skipped", d.code, d.reason[:160]
        else:
            body = render_copy(text, {"customer_name": names.get(t.customer_id, ""), "clerk_name": "", "brand": ""})
            body, payload = attach_link(s, body, {"campaign_id": campaign_id, "mass": channel == "wecom"},
                                        customer_id=t.customer_id, clerk_id=clerk, skus=skus,
                                        source={"kind": "campaign", "id": campaign_id}, channel=channel)
            try:
                msg, _ = send_message(s, clerk_id=clerk, customer_id=t.customer_id, body=body, channel=channel,
                                      purpose="marketing", client_id=f"campaign:{campaign_id}:{t.customer_id}",
                                      payload=payload, defer_until=d.until, source="campaign")
            except DomainError as exc:
                t.status, t.skip_code, t.skip_reason = "skipped", "invalid", exc.message[:160]
            else:
                t.message_id = msg.id
                if coupon is not None:  # their own code, on the page this message opens
                    task_coupons.give(s, coupon, t.customer_id, source="campaign", source_ref=campaign_id)
                if d.deferred:
                    t.status, t.skip_code, t.skip_reason = "deferred", d.code, d.reason[:160]
                else:
                    t.status = "sent"
        counts[t.status if t.status in counts else "skipped"] += 1


def campaign_report(session: Session, campaign_id: int, days: int = 14) -> dict[str, Any]:
    """Planned, skipped by reason, sent, delivered, replied, buyers, revenue, cost, ROI, uplift."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("campaign not found", {"campaign_id": "no such campaign"})
    if not isinstance(days, int) or not 1 <= days <= 365:
        raise Invalid("invalid window", {"days": "a whole number of days from 1 to 365"})
    start = campaign.sent_at or campaign.created_at
    end = start + dt.timedelta(days=days)
    groups = dict(session.execute(select(CampaignTarget.group, func.count()).where(
        CampaignTarget.campaign_id == campaign_id).group_by(CampaignTarget.group)).all())
    deferred = session.execute(
        select(func.count(), func.min(Message.payload["deferred_until"].as_string()))
        .select_from(CampaignTarget).join(Message, Message.id == CampaignTarget.message_id)
        .where(CampaignTarget.campaign_id == campaign_id, CampaignTarget.status == "deferred")).one()
    skipped = [{"code": code, "reason": reason, "count": n} for code, reason, n in session.execute(
        select(CampaignTarget.skip_code, CampaignTarget.skip_reason, func.count())
        .where(CampaignTarget.campaign_id == campaign_id, CampaignTarget.status == "skipped")
        .group_by(CampaignTarget.skip_code, CampaignTarget.skip_reason).order_by(func.count().desc()))]
    sent = session.scalar(select(func.count()).where(CampaignTarget.campaign_id == campaign_id,
                                                     CampaignTarget.status == "sent"))
    delivered = session.scalar(select(func.count()).select_from(CampaignTarget).join(
        Message, Message.id == CampaignTarget.message_id).where(
        CampaignTarget.campaign_id == campaign_id,
        Message.status.in_((MessageStatus.delivered, MessageStatus.read))))
    replied = session.scalar(select(func.count()).select_from(CampaignTarget).where(
        CampaignTarget.campaign_id == campaign_id, CampaignTarget.status == "sent",
        exists().where(Conversation.customer_id == CampaignTarget.customer_id,
                       Message.conversation_id == Conversation.id,
                       Message.direction == Direction.inbound, Message.type != "event",
                       Message.created_at > start, Message.created_at <= end)))
    # One row per (group, buyer): net revenue of paid orders inside the window.
    per_buyer = (select(CampaignTarget.group.label("grp"), Order.customer_id,
                        func.sum(Order.amount_fen - Order.refund_amount_fen).label("revenue"))
                 .join(Order, Order.customer_id == CampaignTarget.customer_id)
                 .where(CampaignTarget.campaign_id == campaign_id,
                        or_(Order.status.in_(PAID_STATUSES), Order.status == "refunded"),
                        Order.paid_at > start, Order.paid_at <= end)
                 .group_by(CampaignTarget.group, Order.customer_id).subquery())
    outcome = {g: (n, int(r or 0)) for g, n, r in session.execute(
        select(per_buyer.c.grp, func.count(), func.sum(per_buyer.c.revenue)).group_by(per_buyer.c.grp))}
    treat = GroupResult(groups.get("treatment", 0), *outcome.get("treatment", (0, 0)))
    hold = GroupResult(groups.get("holdout", 0), *outcome.get("holdout", (0, 0)))
    cost = sent * campaign.unit_cost_fen
    up = uplift(treat, hold, cost)
    return {
        "campaign_id": campaign.id, "name": campaign.name, "channel": campaign.channel,
        "status": campaign.status, "window_days": days,
        "window": [start.isoformat(), end.isoformat()],
        "planned": treat.customers + hold.customers, "treatment": treat.customers, "holdout": hold.customers,
        "skipped": sum(x["count"] for x in skipped), "skipped_by_reason": skipped,
        "sent": sent, "delivered": delivered, "replied": replied,
        "deferred": deferred[0], "deferred_until": deferred[1],
        "buyers": treat.buyers, "revenue_fen": treat.revenue_fen,
        "conversion": treat.conversion,
        "holdout_buyers": hold.buyers, "holdout_revenue_fen": hold.revenue_fen,
        "holdout_conversion": hold.conversion,
        "cost_fen": cost,
        **coupon_cost_fields(session, "campaign", campaign.id, treat.revenue_fen, cost),
        "raw_roi": up.raw_roi,
        "uplift": {"conversion_diff": up.conversion_diff, "conversion_ci95": list(up.conversion_ci),
                   "incremental_buyers": up.incremental_buyers,
                   "incremental_revenue_fen": up.incremental_revenue_fen, "roi": up.roi},
    }


def on_outbound_settled(session: Session, message_id: int, sent: bool, reason: str | None,
                        **_: Any) -> None:
    """A campaign send held for quiet hours went, or was called off when it was due."""
    values = ({"status": "sent", "skip_code": None, "skip_reason": None} if sent
              else {"status": "skipped", "skip_code": "deferred_refused", "skip_reason": (reason or "")[:160]})
    campaign_id = session.execute(update(CampaignTarget).where(
        CampaignTarget.message_id == message_id, CampaignTarget.status == "deferred")
        .values(**values).returning(CampaignTarget.campaign_id)).scalar()
    if campaign_id is not None and sent:
        session.execute(update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "deferred")
                        .values(status="sent"))


def due_campaigns() -> list[int]:
    """Send every planned campaign whose scheduled time has come (the scheduler calls this)."""
    with db.get_db().Session() as s:
        ids = list(s.scalars(select(Campaign.id).where(
            Campaign.status == "planned", Campaign.scheduled_at.is_not(None), Campaign.scheduled_at <= utcnow())))
    for cid in ids:
        send_campaign(cid)
    return ids
