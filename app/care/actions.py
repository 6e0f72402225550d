"""Care tasks (关怀任务): head office picks a segment, each target goes to the clerk who owns it.

``create_care_task`` splits the segment's customers to their owning clerks with one
INSERT … SELECT and tells each clerk's console. Target statuses follow what happens in the same
transactions as the events (a message sent → sent, a reply → replied, a paid order → bought).
``close_due_tasks`` runs on the scheduler: at the deadline, the targets nobody reached fall back
to a mass send over the best allowed channel, or are left, as the task says.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import Integer, case, cast, exists, func, insert, literal, select, update
from sqlalchemy.orm import Session

from app import realtime
from app.db import chunks
from app.care import task_coupons
from app.care.segments import segment_customer_ids
from app.contact.service import clerk_send_timing
from app.links.actions import attach_link
from app.messaging.actions import conversation_for, outbound_channel, send_message
from app.coupons.costs import coupon_cost_fields
from app.params import is_id
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.i18n import field_sentences, t
from assistant.drafting import BoundedSandbox, render_bounded
from models import (CareTask, CareTaskTarget, Customer, FollowerBinding, Message, Order, Product, Role,
                    Segment, Staff, utcnow)
from models.commerce import PAID_STATUSES

FALLBACKS = ("mass_send", "leave")
SCENARIOS = ("催付", "补货", "生日", "节日", "休眠唤醒", "新品", "售后关怀", "自定义")
_jinja = BoundedSandbox(autoescape=False)

# Status only moves forward along this order ("fallback" and "skipped" close a target).
# "offline": the clerk reached the customer outside the console (已线下联系: in the shop, by phone).
_RANK = {"todo": 0, "sent": 1, "offline": 1, "fallback": 1, "deferred": 1, "replied": 2, "bought": 3,
         "skipped": 0}
# Contacted, by a message or in person; a reply or a purchase after that moves the target on.
_CONTACTED = ("sent", "offline", "fallback")
# A target counts as reached (task progress) in these statuses.
REACHED = _CONTACTED + ("replied", "bought")
# Why a clerk skips a target (跳过); people read ``care.skip.<code>``. "other" needs the clerk's note.
SKIP_REASONS = ("not_interested", "contacted_recently", "unreachable", "bought_elsewhere",
                "not_suitable", "other")
SKIP_NOTE_MAX = 120
# What a clerk may record on a target themselves, and from which statuses ("todo" takes it back).
_CLERK_OUTCOMES = {"offline": ("todo",), "skipped": ("todo",), "todo": ("offline", "skipped")}


def _validate(session: Session, data: dict[str, Any], now: dt.datetime) -> dict[str, str]:
    fields: dict[str, str] = {}
    if not str(data.get("title") or "").strip():
        fields["title"] = "required"
    deadline = data.get("deadline")
    if not isinstance(deadline, dt.datetime):
        fields["deadline"] = "required, an ISO 8601 time"
    elif deadline <= now:
        fields["deadline"] = "is in the past"
    if data.get("fallback", "mass_send") not in FALLBACKS:
        fields["fallback"] = f"one of {', '.join(FALLBACKS)}"
    if data.get("scenario") and data["scenario"] not in SCENARIOS:
        fields["scenario"] = f"one of {', '.join(SCENARIOS)}"
    template = data.get("template")
    if template:
        try:
            render_copy(template, {"customer_name": "张三", "clerk_name": "小王", "brand": "品牌"})
        except TemplateError as exc:
            fields["template"] = f"does not render: {exc}"
    elif data.get("fallback", "mass_send") == "mass_send":
        fields["template"] = "required when the fallback is a mass send"
    skus = data.get("product_skus") or []
    if not isinstance(skus, list) or not all(isinstance(x, str) for x in skus):
        fields["product_skus"] = "a list of SKUs"
    elif skus:
        known = set(session.scalars(select(Product.sku).where(Product.sku.in_(skus))))
        missing = [x for x in skus if x not in known]
        if missing:
            fields["product_skus"] = f"unknown SKU {', '.join(missing[:5])}"
    coupon = task_coupons.coupon_problem(session, data.get("coupon_template_id"), skus)
    if coupon:
        fields["coupon_template_id"] = t(f"hq.tasks.error.coupon.{coupon}")
    return fields


def render_copy(template: str, context: dict[str, Any]) -> str:
    """Render head office's copy in the bounded sandbox (a loop cannot build a huge message)."""
    return render_bounded(_jinja.from_string(template), context).strip()


def task_copy(template: str, customer_name: str | None, clerk_name: str | None) -> str:
    """The task's copy for one customer, as their clerk sends it (one tap, or the deadline's fallback)."""
    return render_copy(template, {"customer_name": customer_name or "", "clerk_name": clerk_name or "", "brand": ""})


def create_care_task(session: Session, staff: Staff, data: dict[str, Any],
                     now: dt.datetime | None = None) -> tuple[CareTask, dict[int, int]]:
    """Create the task and its targets; return it and the number of targets per clerk."""
    now = now or utcnow()
    if staff.role != Role.hq:
        raise Forbidden("only head office creates care tasks")
    segment = session.get(Segment, data.get("segment_id")) if is_id(data.get("segment_id")) else None
    fields = _validate(session, data, now)
    if segment is None:
        fields["segment_id"] = "unknown segment"
    if fields:
        raise Invalid(t("hq.tasks.invalid"), field_sentences(fields, "hq.tasks.error"))
    members = segment_customer_ids(session, segment.filter)
    count = session.scalar(select(func.count()).select_from(members.subquery()))
    if not count:
        raise Invalid(t("hq.tasks.invalid"), {"segment_id": t("hq.tasks.error.segment_empty")})
    task = CareTask(title=data["title"].strip(), goal=data.get("goal"), segment_id=segment.id,
                    scenario=data.get("scenario"), template=data.get("template"),
                    product_skus=data.get("product_skus") or [], deadline=data["deadline"],
                    coupon_template_id=data.get("coupon_template_id"),
                    fallback=data.get("fallback", "mass_send"), status="open",
                    created_by=staff.id, created_at=now)
    session.add(task)
    session.flush()
    owner = (select(FollowerBinding.customer_id, FollowerBinding.clerk_id)
             .where(FollowerBinding.current_owner())
             .subquery())
    member_ids = members.subquery()
    session.execute(insert(CareTaskTarget).from_select(
        ["task_id", "customer_id", "clerk_id", "status", "updated_at"],
        select(literal(task.id), member_ids.c[0], owner.c.clerk_id, literal("todo"), literal(now, type_=CareTask.created_at.type))
        .select_from(member_ids.outerjoin(owner, owner.c.customer_id == member_ids.c[0]))))
    per_clerk = dict(session.execute(
        select(CareTaskTarget.clerk_id, func.count()).where(CareTaskTarget.task_id == task.id,
                                                            CareTaskTarget.clerk_id.is_not(None))
        .group_by(CareTaskTarget.clerk_id)).all())
    for clerk_id, n in per_clerk.items():
        realtime.publish(session, realtime.clerk_room(clerk_id), realtime.TASK_ASSIGNED,
                         task_assigned_payload(task, n))
    return task, per_clerk


def task_assigned_payload(task: CareTask, targets: int) -> dict[str, Any]:
    return {"task_id": task.id, "title": task.title, "scenario": task.scenario,
            "deadline": task.deadline.isoformat(), "targets": targets}


def reassign_targets(session: Session, staff: Staff, task_id: int, target_ids: list[int],
                     clerk_id: int) -> int:
    """Move targets to another clerk (a manager within their store; head office anywhere)."""
    if staff.role == Role.clerk:
        raise Forbidden("only managers and head office reassign targets")
    task = session.get(CareTask, task_id)
    if task is None:
        raise NotFound("task not found", {"task_id": "no such task"})
    clerk = session.get(Staff, clerk_id)
    if clerk is None or clerk.role != Role.clerk or not clerk.active:
        raise Invalid("invalid clerk", {"clerk_id": "not an active clerk"})
    targets = list(session.scalars(select(CareTaskTarget).where(
        CareTaskTarget.task_id == task_id, CareTaskTarget.id.in_(target_ids))))
    missing = set(target_ids) - {t.id for t in targets}
    if missing:
        raise Invalid("unknown targets", {"target_ids": f"not in this task: {sorted(missing)[:5]}"})
    if staff.role == Role.manager:
        store_clerks = set(session.scalars(select(Staff.id).where(Staff.store_id == staff.store_id)))
        if clerk_id not in store_clerks or any(t.clerk_id not in store_clerks for t in targets):
            raise Forbidden("managers reassign only within their store")
    for t in targets:
        t.clerk_id = clerk_id
    session.flush()
    realtime.publish(session, realtime.clerk_room(clerk_id), realtime.TASK_ASSIGNED,
                     task_assigned_payload(task, len(targets)))
    return len(targets)


def _outcome_fields(data: dict[str, Any]) -> dict[str, str]:
    outcome, reason, note = data.get("outcome"), data.get("reason"), data.get("note")
    fields: dict[str, str] = {}
    if outcome not in _CLERK_OUTCOMES:
        fields["outcome"] = t("care.error.outcome")
    elif outcome == "skipped" and reason not in SKIP_REASONS:
        fields["reason"] = t("care.error.reason")
    if note is not None and not isinstance(note, str):
        fields["note"] = t("care.error.note_required")
    elif note and len(note.strip()) > SKIP_NOTE_MAX:
        fields["note"] = t("care.error.note_long", n=SKIP_NOTE_MAX)
    elif outcome == "skipped" and reason == "other" and not (note or "").strip():
        fields["note"] = t("care.error.note_required")
    return fields


def record_target_outcome(session: Session, staff: Staff, task_id: int, target_id: int,
                          data: dict[str, Any], now: dt.datetime | None = None) -> CareTaskTarget:
    """The clerk's own word on one target: reached outside the console (已线下联系, "offline"),
    skipped with a reason (跳过, "skipped"), or either taken back ("todo").

    Only the target's clerk, only while the task is open, and only from "to do" (or back from
    offline/skipped): a target a message already reached keeps its status. The change is one
    conditional UPDATE, so a send landing at the same moment wins or loses cleanly.
    """
    now = now or utcnow()
    fields = _outcome_fields(data)
    if fields:
        raise Invalid(t("care.error.not_recorded"), fields)
    target = session.get(CareTaskTarget, target_id)
    if target is None or target.task_id != task_id or target.clerk_id != staff.id:
        raise NotFound(t("care.error.not_recorded"), {"target_id": t("care.error.no_target")})
    if session.scalar(select(CareTask.status).where(CareTask.id == task_id)) != "open":
        raise Conflict(t("care.error.not_recorded"), {"task_id": t("care.error.task_closed")})
    outcome = data["outcome"]
    values: dict[str, Any] = {"status": outcome, "updated_at": now, "skip_reason": None,
                              "sent_at": now if outcome == "offline" else None}
    if outcome == "skipped":
        values["skip_reason"] = data["note"].strip() if data["reason"] == "other" else data["reason"]
    done = session.execute(update(CareTaskTarget).where(
        CareTaskTarget.id == target_id, CareTaskTarget.status.in_(_CLERK_OUTCOMES[outcome]),
        CareTaskTarget.message_id.is_(None)).values(**values)).rowcount
    if not done:
        session.refresh(target)
        raise Conflict(t("care.error.not_recorded"), {"outcome": t(
            "care.error.already", status=t(f"care.status.{target.status}"))})
    session.refresh(target)
    return target


def send_task_message(session: Session, staff: Staff, task_id: int, target_id: int) -> CareTaskTarget:
    """一键发送: the task's copy for this customer, with their own page (the task's products) after
    it, sent by their clerk in their conversation; the task's coupon comes with it (on_message_sent).

    One message per task and customer, ever: its client id is the one the deadline's fallback
    uses, so a second tap, a retry after a dropped connection or the fallback finds it sent.
    """
    target = session.get(CareTaskTarget, target_id)
    if target is None or target.task_id != task_id or target.clerk_id != staff.id:
        raise NotFound(t("care.error.not_sent"), {"target_id": t("care.error.no_target")})
    client_id = task_client_id(task_id, target.customer_id)
    if session.scalar(select(Message.id).where(Message.client_id == client_id)) is not None:
        return target
    task = session.get(CareTask, task_id)
    if task.status != "open":
        raise Conflict(t("care.error.not_sent"), {"task_id": t("care.error.task_closed")})
    if target.status != "todo":
        raise Conflict(t("care.error.not_sent"), {"target_id": t(
            "care.error.not_todo", status=t(f"care.status.{target.status}"))})
    if not (task.template or "").strip():
        raise Invalid(t("care.error.not_sent"), {"template": t("care.error.no_copy")})
    customer = session.get(Customer, target.customer_id)
    conv = conversation_for(session, customer.id, staff.id)
    timing = clerk_send_timing(session, customer.id, conv.last_inbound_at, utcnow())
    body, payload = attach_link(session, task_copy(task.template, customer.name, staff.display_name),
                                {"task_id": task.id}, customer_id=customer.id, clerk_id=staff.id,
                                skus=list(task.product_skus or []), source={"kind": "task", "id": task.id},
                                channel=outbound_channel(session, conv))
    send_message(session, clerk_id=staff.id, customer_id=customer.id, body=body, client_id=client_id,
                 payload=payload, purpose=timing.purpose, defer_until=timing.until, source="clerk")
    session.refresh(target)
    return target


def task_client_id(task_id: int, customer_id: int) -> str:
    """The client id of a task's message to one customer (its idempotency key)."""
    return f"task:{task_id}:{customer_id}"


def skip_reason_text(value: str | None) -> str | None:
    """A skip reason for people: a clerk's reason code in their words; any other text as it is."""
    return t(f"care.skip.{value}") if value in SKIP_REASONS else value


def _advance(session: Session, customer_id: int, new_status: str, now: dt.datetime,
             message_id: int | None = None, clerk_id: int | None = None) -> None:
    lower = [s for s, r in _RANK.items() if r < _RANK[new_status] and s != "skipped"]
    values: dict[str, Any] = {"status": new_status, "updated_at": now}
    if new_status == "sent":
        values.update(sent_at=now, message_id=message_id)
    open_tasks = select(CareTask.id).where(CareTask.status == "open")
    stmt = update(CareTaskTarget).where(
        CareTaskTarget.customer_id == customer_id, CareTaskTarget.status.in_(lower),
        CareTaskTarget.task_id.in_(open_tasks))
    if clerk_id is not None:
        stmt = stmt.where(CareTaskTarget.clerk_id == clerk_id)
    session.execute(stmt.values(**values))


def on_message_sent(session: Session, message_id: int, customer_id: int, clerk_id: int | None = None,
                    source: str = "clerk", **_: Any) -> None:
    """A clerk's own message reaches the customer's targets in that clerk's open tasks; a task's
    message gives the customer the task's coupon (``task_coupons.give_on_send``).

    Campaigns, automations and other tasks' fallbacks are not the clerk's work on this task: they
    never count as its progress (a brand-wide campaign once "completed" most of two tasks).
    """
    if source == "clerk" and clerk_id is not None:
        _advance(session, customer_id, "sent", utcnow(), message_id, clerk_id=clerk_id)
    task_coupons.give_on_send(session, message_id, customer_id, clerk_id if source == "clerk" else None)


def on_outbound_settled(session: Session, message_id: int, sent: bool, reason: str | None,
                        **_: Any) -> None:
    """A deadline fallback held for quiet hours went (→ fallback), or was called off (→ skipped)."""
    now = utcnow()
    values = ({"status": "fallback", "sent_at": now, "skip_reason": None} if sent
              else {"status": "skipped", "skip_reason": (reason or "")[:160]})
    session.execute(update(CareTaskTarget).where(CareTaskTarget.message_id == message_id,
                                                 CareTaskTarget.status == "deferred")
                    .values(updated_at=now, **values))


def on_message_received(session: Session, message_id: int, customer_id: int) -> None:
    # A reply counts only for targets that were already reached.
    now = utcnow()
    open_tasks = select(CareTask.id).where(CareTask.status == "open")
    session.execute(update(CareTaskTarget).where(
        CareTaskTarget.customer_id == customer_id, CareTaskTarget.status.in_(_CONTACTED),
        CareTaskTarget.task_id.in_(open_tasks)).values(status="replied", updated_at=now))


def on_order_recorded(session: Session, order_ids: list[int], customer_ids: list[int]) -> None:
    """A paid order after a target was reached makes it a buyer (also after the deadline).

    Set-based: one UPDATE per chunk of orders, and nothing at all when no target is waiting for
    a purchase (a bulk import of history usually finds none).
    """
    reached = _CONTACTED + ("replied",)
    if not order_ids or session.scalar(
            select(CareTaskTarget.id).where(CareTaskTarget.status.in_(reached)).limit(1)) is None:
        return
    now = utcnow()
    for chunk in chunks(order_ids, 5000):
        paid = (select(Order.customer_id, Order.paid_at)
                .where(Order.id.in_(chunk), Order.status.in_(PAID_STATUSES),
                       Order.paid_at.is_not(None)).subquery())
        session.execute(update(CareTaskTarget).where(
            CareTaskTarget.status.in_(reached), CareTaskTarget.sent_at.is_not(None),
            exists().where(paid.c.customer_id == CareTaskTarget.customer_id,
                           paid.c.paid_at >= CareTaskTarget.sent_at),
        ).values(status="bought", updated_at=now).execution_options(synchronize_session=False))


def progress(session: Session, task_id: int, store_id: int | None = None) -> dict[str, Any]:
    """Completion, replies, buyers and revenue per clerk and store (one aggregate query each)."""
    task = session.get(CareTask, task_id)
    if task is None:
        raise NotFound("task not found", {"task_id": "no such task"})
    reached = CareTaskTarget.status.in_(REACHED)
    revenue = (select(func.coalesce(func.sum(Order.amount_fen - Order.refund_amount_fen), 0))
               .where(Order.customer_id == CareTaskTarget.customer_id,
                      Order.status.in_(PAID_STATUSES), Order.paid_at >= CareTaskTarget.sent_at)
               .correlate(CareTaskTarget).scalar_subquery())
    q = (select(Staff.store_id, CareTaskTarget.clerk_id, Staff.display_name,
                func.count().label("targets"),
                func.sum(cast(reached, Integer)).label("reached"),
                func.sum(cast(CareTaskTarget.status.in_(("replied", "bought")), Integer)).label("replied"),
                func.sum(cast(CareTaskTarget.status == "bought", Integer)).label("buyers"),
                func.sum(cast(CareTaskTarget.status == "skipped", Integer)).label("skipped"),
                func.sum(cast(CareTaskTarget.status == "deferred", Integer)).label("deferred"),
                func.coalesce(func.sum(case((CareTaskTarget.status == "bought", revenue), else_=0)), 0).label("revenue_fen"))
         .select_from(CareTaskTarget).outerjoin(Staff, Staff.id == CareTaskTarget.clerk_id)
         .where(CareTaskTarget.task_id == task_id)
         .group_by(Staff.store_id, CareTaskTarget.clerk_id, Staff.display_name))
    if store_id is not None:
        q = q.where(Staff.store_id == store_id)
    clerks = [dict(r._mapping) for r in session.execute(q)]
    stores: dict[Any, dict[str, int]] = {}
    for c in clerks:
        agg = stores.setdefault(c["store_id"], {"store_id": c["store_id"], "targets": 0, "reached": 0,
                                                "replied": 0, "buyers": 0, "skipped": 0, "deferred": 0,
                                                "revenue_fen": 0})
        for k in ("targets", "reached", "replied", "buyers", "skipped", "deferred", "revenue_fen"):
            agg[k] += int(c[k] or 0)
    total = {k: sum(s[k] for s in stores.values())
             for k in ("targets", "reached", "replied", "buyers", "skipped", "deferred", "revenue_fen")}
    total.update(coupon_cost_fields(session, "task", task_id, total["revenue_fen"]))
    return {"task_id": task_id, "total": total, "stores": list(stores.values()),
            "clerks": [{k: (int(v) if isinstance(v, (int, float)) and k != "display_name" else v)
                        for k, v in c.items()} for c in clerks]}
