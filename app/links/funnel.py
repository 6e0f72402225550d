"""The funnel of a care task or a campaign: sent → delivered → opened → clicked → bought.

Counted in customers, each step a subset of the one before it, per clerk and per store, with
one aggregate query: sent (the message went), delivered (the channel said so, or read), opened
(a person opened the personal page that send carried — crawlers and prefetches never count),
clicked (they tapped "去购买"), bought (a paid order after the send; for a task, the target's
"bought"; for a campaign, within the report's window).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from models import CampaignTarget, CareTaskTarget, Message, MessageStatus, Order, Staff, Store
from models.commerce import PAID_STATUSES
from models.links import LinkEvent, PersonalLink

STEPS = ("sent", "delivered", "opened", "clicked", "bought")
DELIVERED = (MessageStatus.delivered, MessageStatus.read)


def _did(source_kind: str, source_id: int, customer_id: Any, kinds: tuple[str, ...]) -> Any:
    """The customer did one of ``kinds`` on a personal page this task or campaign sent them."""
    return exists().where(PersonalLink.source_kind == source_kind, PersonalLink.source_id == source_id,
                          PersonalLink.customer_id == customer_id, LinkEvent.link_id == PersonalLink.id,
                          LinkEvent.kind.in_(kinds))


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _steps(sent: Any, bought: Any, source_kind: str, source_id: int, customer_id: Any) -> list[Any]:
    opened = and_(sent, _did(source_kind, source_id, customer_id, ("view",)))
    clicked = and_(opened, _did(source_kind, source_id, customer_id, ("click", "buy")))
    return [_count(sent).label("sent"), _count(and_(sent, Message.status.in_(DELIVERED))).label("delivered"),
            _count(opened).label("opened"), _count(clicked).label("clicked"),
            _count(and_(sent, bought)).label("bought")]


def _rollup(rows: list[Any]) -> dict[str, Any]:
    clerks = [{"clerk_id": r.clerk_id, "display_name": r.display_name, "store_id": r.store_id,
               "store_name": r.store_name, **{k: int(getattr(r, k)) for k in STEPS}} for r in rows]
    stores: dict[Any, dict[str, Any]] = {}
    for c in clerks:
        agg = stores.setdefault(c["store_id"], {"store_id": c["store_id"], "store_name": c["store_name"],
                                                **{k: 0 for k in STEPS}})
        for k in STEPS:
            agg[k] += c[k]
    total = {k: sum(c[k] for c in clerks) for k in STEPS}
    return {"steps": list(STEPS), "total": total, "stores": list(stores.values()), "clerks": clerks}


def task_funnel(session: Session, task_id: int, store_id: int | None = None) -> dict[str, Any]:
    """The care task's funnel, per clerk (who owns each target) and store."""
    t = CareTaskTarget
    sent = t.status.in_(("sent", "fallback", "replied", "bought"))
    q = (select(Staff.store_id, t.clerk_id, Staff.display_name, Store.name.label("store_name"),
                *_steps(sent, t.status == "bought", "task", task_id, t.customer_id))
         .select_from(t).outerjoin(Staff, Staff.id == t.clerk_id).outerjoin(Store, Store.id == Staff.store_id)
         .outerjoin(Message, Message.id == t.message_id)
         .where(t.task_id == task_id)
         .group_by(Staff.store_id, t.clerk_id, Staff.display_name, Store.name)
         .order_by(Staff.store_id, t.clerk_id))
    if store_id is not None:
        q = q.where(Staff.store_id == store_id)
    return _rollup(session.execute(q).all())


def campaign_funnel(session: Session, campaign_id: int, start: dt.datetime, end: dt.datetime,
                    store_id: int | None = None) -> dict[str, Any]:
    """The campaign's funnel over its treatment group, per clerk (who each message went out
    from) and store; bought means a paid order in (start, end]."""
    t = CampaignTarget
    bought = exists().where(Order.customer_id == t.customer_id,
                            or_(Order.status.in_(PAID_STATUSES), Order.status == "refunded"),
                            Order.paid_at > start, Order.paid_at <= end)
    q = (select(Staff.store_id, Message.sender_id.label("clerk_id"), Staff.display_name,
                Store.name.label("store_name"), *_steps(t.status == "sent", bought, "campaign", campaign_id,
                                                        t.customer_id))
         .select_from(t).join(Message, Message.id == t.message_id)
         .outerjoin(Staff, Staff.id == Message.sender_id).outerjoin(Store, Store.id == Staff.store_id)
         .where(t.campaign_id == campaign_id, t.group == "treatment")
         .group_by(Staff.store_id, Message.sender_id, Staff.display_name, Store.name)
         .order_by(Staff.store_id, Message.sender_id))
    if store_id is not None:
        q = q.where(Staff.store_id == store_id)
    return _rollup(session.execute(q).all())
