"""At a task's deadline, the targets no clerk reached fall back to a mass send (or are left)."""
from __future__ import annotations

import logging

from sqlalchemy import select

from app import db
from app.care.actions import task_client_id, task_copy
from app.contact.service import decide_many
from app.errors import DomainError
from app.links.actions import attach_link
from app.messaging.actions import send_message
from models import CareTask, CareTaskTarget, Customer, Staff, utcnow

log = logging.getLogger("daogou.care")
BATCH = 200


def close_due_tasks() -> list[int]:
    """Close every open task past its deadline; return their ids."""
    database = db.get_db()
    now = utcnow()
    with database.Session() as s:
        due = list(s.scalars(select(CareTask.id).where(CareTask.status == "open", CareTask.deadline <= now)))
    for task_id in due:
        close_task(task_id)
    return due


def close_task(task_id: int) -> dict[str, int]:
    """Fall back for the unreached targets in batches (one transaction each), then close."""
    database = db.get_db()
    counts = {"fallback": 0, "deferred": 0, "skipped": 0}
    with database.Session() as s:
        task = s.get(CareTask, task_id)
        if task is None or task.status != "open":
            return counts
        fallback, template, skus = task.fallback, task.template or "", list(task.product_skus or [])
        todo = list(s.scalars(select(CareTaskTarget.id).where(
            CareTaskTarget.task_id == task_id, CareTaskTarget.status == "todo").order_by(CareTaskTarget.id)))
    for batch in db.chunks(todo, BATCH):
        with database.transaction() as s:
            targets = list(s.scalars(select(CareTaskTarget).where(
                CareTaskTarget.id.in_(batch), CareTaskTarget.status == "todo")))
            if fallback == "leave":
                for t in targets:
                    t.status, t.skip_reason = "skipped", "截止未联系，按任务设置不再群发"
                counts["skipped"] += len(targets)
                continue
            _mass_send(s, task_id, template, skus, targets, counts)
    with database.transaction() as s:
        task = s.get(CareTask, task_id)
        task.status, task.closed_at = "closed", utcnow()
    log.info("care task closed", extra={"task_id": task_id, **counts})
    return counts


def _mass_send(s, task_id: int, template: str, skus: list[str], targets: list[CareTaskTarget],
               counts: dict[str, int]) -> None:
    now = utcnow()
    ids = [t.customer_id for t in targets]
    names = dict(s.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all())
    clerk_names = dict(s.execute(select(Staff.id, Staff.display_name).where(
        Staff.id.in_({t.clerk_id for t in targets if t.clerk_id}))).all())
    texts = {t.id: task_copy(template, names.get(t.customer_id), clerk_names.get(t.clerk_id)) for t in targets}
    decisions = decide_many(s, ids, purpose="marketing", now=now, mass=True, source="task")
    for t in targets:
        d = decisions[t.customer_id]
        if t.clerk_id is None:
            t.status, t.skip_reason = "skipped", "客户没有负责导购"
        elif not (d.allowed or d.deferred):
            t.status, t.skip_reason = "skipped", d.reason
        else:
            body, payload = attach_link(s, texts[t.id], {"mass": True, "task_id": task_id},
                                        customer_id=t.customer_id, clerk_id=t.clerk_id, skus=skus,
                                        source={"kind": "task", "id": task_id}, channel=d.channel)
            try:
                msg, _ = send_message(s, clerk_id=t.clerk_id, customer_id=t.customer_id, body=body,
                                      channel=d.channel, purpose="marketing",
                                      client_id=task_client_id(task_id, t.customer_id), payload=payload,
                                      defer_until=d.until, source="task")
            except DomainError as exc:
                t.status, t.skip_reason = "skipped", exc.message[:160]
            else:
                t.message_id = msg.id
                if d.deferred:
                    t.status, t.skip_reason = "deferred", d.reason[:160]
                else:
                    t.status, t.sent_at = "fallback", now
        counts[t.status if t.status in counts else "skipped"] += 1
