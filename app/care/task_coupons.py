"""A care task's coupon (任务券): head office attaches a coupon template to the task; each target
gets their own code when the task's message reaches them.

The code is issued in the transaction of the send (``on_message_sent``): by the clerk's message
that reached the target (a one-tap send or their own words), or by the deadline's fallback. It is
issued with source ``task`` and the task's id as ``source_ref``, so the task's report reads its
coupon cost from it, and ``issue_coupons`` is idempotent per (template, customer, source): a
re-send, a retry or a quiet-hours release never issues a second code. A coupon the template can
no longer give (paused, ended, budget spent, the customer's limit) is not issued; the message
still goes — the copy is head office's, the page simply shows no coupon.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.coupons import terms
from app.coupons.actions import issue_coupons
from app.errors import DomainError
from app.params import is_id
from models import CareTask, CareTaskTarget, Message, utcnow
from models.coupons import CouponTemplate

log = logging.getLogger("daogou.care")


def coupon_problem(session: Session, template_id: Any, skus: Any) -> str | None:
    """Why ``coupon_template_id`` cannot go with a task (a reason code for
    ``hq.tasks.error.coupon.<code>``), or None when it can (or when there is none)."""
    if template_id is None:
        return None
    template = session.get(CouponTemplate, template_id) if is_id(template_id) else None
    if template is None:
        return "unknown"
    if not template.active or (template.valid_to is not None and template.valid_to <= utcnow()):
        return "unavailable"
    if not skus:
        return "needs_products"  # the customer sees their code on the page the products open
    return None


def coupon_label(session: Session, template_id: int | None) -> dict[str, Any] | None:
    """The task's coupon as people read it: ``{"id", "name", "title": "满200减20"}``."""
    template = session.get(CouponTemplate, template_id) if template_id else None
    if template is None:
        return None
    return {"id": template.id, "name": template.name,
            "title": terms.title(template.kind, template.value_fen, template.percent, template.threshold_fen)}


def give_on_send(session: Session, message_id: int, customer_id: int, clerk_id: int | None) -> None:
    """Issue the coupon of every task this message carried to this customer.

    A task's message is the clerk's send that moved the target to "sent" (the target keeps the
    message id), or a message naming the task in its payload (one-tap sends, deadline fallbacks).
    """
    T = CareTaskTarget
    carried = []
    if clerk_id is not None:
        carried.append(and_(T.clerk_id == clerk_id, T.status == "sent", T.message_id == message_id))
    message = session.get(Message, message_id)
    task_id = (message.payload or {}).get("task_id") if message is not None else None
    if is_id(task_id):
        carried.append(and_(T.task_id == task_id, T.customer_id == customer_id))
    if not carried:
        return
    tasks = session.execute(select(CareTask.id, CareTask.coupon_template_id)
                            .where(CareTask.coupon_template_id.is_not(None),
                                   CareTask.id.in_(select(T.task_id).where(or_(*carried))))).all()
    for task_id, template_id in tasks:
        give(session, template_id, customer_id, source="task", source_ref=task_id)


def give(session: Session, template_id: int, customer_id: int, *, source: str, source_ref: int) -> None:
    """Issue one customer their code of a task's or a campaign's coupon (idempotent per template,
    customer and source); a template that can no longer give one is logged and the message goes."""
    try:
        result = issue_coupons(session, template_id, [customer_id], source=source, source_ref=str(source_ref))
    except DomainError as exc:  # the template was paused or ended since: the message goes without it
        log.info("coupon not issued", extra={"source": source, "source_ref": source_ref, "reason": exc.message})
        return
    for _customer, reason in result.refused:
        log.info("coupon refused", extra={"source": source, "source_ref": source_ref, "reason": reason})
