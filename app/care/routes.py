"""``/api/v1/tasks``: head office creates care tasks; clerks work their targets; managers watch."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify, request
from sqlalchemy import case, func, select

from app.config import brand_timezone
from app import db
from app.auth import current_staff, staff_required
from app.care import actions, deadlines
from app.care.task_coupons import coupon_label
from app.customers.serialize import customer_summary, yuan
from app.errors import Invalid, NotFound
from app.i18n import t
from app.links.funnel import task_funnel
from app.params import is_id, query_int
from models import CareTask, CareTaskTarget, Customer, Role, Staff

bp = Blueprint("care", __name__, url_prefix="/api/v1")
TARGETS_PAGE, TARGETS_MAX = 500, 5000  # targets shown with one task: by default, at most


def parse_time(value: object, field: str) -> dt.datetime:
    """ISO 8601; a time without an offset is in the brand's timezone (DESIGN.md)."""
    if not isinstance(value, str):
        raise Invalid("invalid time", {field: "an ISO 8601 time string"})
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("invalid time", {field: f"not an ISO 8601 time: {value[:40]}"}) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=brand_timezone())
    return parsed.astimezone(dt.timezone.utc)


def task_json(task: CareTask, counts: dict[str, int] | None = None) -> dict:
    return {"id": task.id, "title": task.title, "goal": task.goal, "segment_id": task.segment_id,
            "scenario": task.scenario, "template": task.template, "product_skus": task.product_skus,
            "coupon_template_id": task.coupon_template_id,
            "deadline": task.deadline.isoformat(), "fallback": task.fallback, "status": task.status,
            "created_at": task.created_at.isoformat(), "counts": counts or {},
            "reached": sum((counts or {}).get(status, 0) for status in actions.REACHED)}


def _counts(session, task_ids: list[int], clerk_id: int | None = None, store_id: int | None = None):
    q = (select(CareTaskTarget.task_id, CareTaskTarget.status, func.count())
         .where(CareTaskTarget.task_id.in_(task_ids)).group_by(CareTaskTarget.task_id, CareTaskTarget.status))
    if clerk_id is not None:
        q = q.where(CareTaskTarget.clerk_id == clerk_id)
    if store_id is not None:
        q = q.where(CareTaskTarget.clerk_id.in_(select(Staff.id).where(Staff.store_id == store_id)))
    out: dict[int, dict[str, int]] = {tid: {} for tid in task_ids}
    for tid, status, n in session.execute(q):
        out[tid][status] = n
    return out


def _visible_counts(session, staff: Staff, task_ids: list[int]) -> dict[int, dict[str, int]]:
    """Target counts by status as this person sees them (a clerk: theirs; a manager: their store)."""
    return _counts(session, task_ids, clerk_id=staff.id if staff.role == Role.clerk else None,
                   store_id=staff.store_id if staff.role == Role.manager else None)


@bp.get("/tasks")
@staff_required()
def list_tasks():
    s, staff = db.session(), current_staff()
    q = select(CareTask).order_by(CareTask.deadline.desc()).limit(100)
    if request.args.get("status") in ("open", "closed"):
        q = q.where(CareTask.status == request.args["status"])
    if staff.role == Role.clerk:
        q = q.where(CareTask.id.in_(select(CareTaskTarget.task_id).where(CareTaskTarget.clerk_id == staff.id)))
    tasks = list(s.scalars(q))
    counts = _visible_counts(s, staff, [t.id for t in tasks])
    return jsonify({"tasks": [task_json(t, counts[t.id]) for t in tasks]})


@bp.post("/tasks")
@staff_required("hq")
def create_task():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid("body must be a JSON object", {"body": "expected an object"})
    if "deadline" in data:
        data = {**data, "deadline": parse_time(data["deadline"], "deadline")}
    with db.transaction() as s:
        task, per_clerk = actions.create_care_task(s, s.get(Staff, current_staff().id), data)
        body = task_json(task, {"todo": sum(per_clerk.values())})
        body["clerks"] = len(per_clerk)
    return jsonify(body), 201


@bp.get("/tasks/<int:task_id>")
@staff_required()
def get_task(task_id: int):
    s, staff = db.session(), current_staff()
    task = s.get(CareTask, task_id)
    if task is None:
        raise NotFound("task not found", {"task_id": "no such task"})
    q = (select(CareTaskTarget, Customer).join(Customer, Customer.id == CareTaskTarget.customer_id)
         .where(CareTaskTarget.task_id == task_id)
         .order_by(case((CareTaskTarget.status == "todo", 0), else_=1), CareTaskTarget.id))  # to do first
    if staff.role == Role.clerk:
        q = q.where(CareTaskTarget.clerk_id == staff.id)
    elif staff.role == Role.manager:
        q = q.where(CareTaskTarget.clerk_id.in_(select(Staff.id).where(Staff.store_id == staff.store_id)))
    rows = s.execute(q.limit(query_int("limit", TARGETS_PAGE, low=1, high=TARGETS_MAX))).all()
    if staff.role == Role.clerk and not rows:
        raise NotFound("task not found", {"task_id": "no such task"})
    counts = _visible_counts(s, staff, [task_id])[task_id]
    return jsonify({**task_json(task, counts), "coupon": coupon_label(s, task.coupon_template_id),
                    "targets": [target_json(target, c) for target, c in rows],
                    "skip_reasons": [{"code": code, "label": t(f"care.skip.{code}")}
                                     for code in actions.SKIP_REASONS]})


def target_json(target: CareTaskTarget, customer: Customer) -> dict:
    return {"id": target.id, "status": target.status, "clerk_id": target.clerk_id,
            "skip_reason": actions.skip_reason_text(target.skip_reason),
            "sent_at": target.sent_at.isoformat() if target.sent_at else None,
            "customer": customer_summary(customer)}


@bp.post("/tasks/<int:task_id>/targets/<int:target_id>/outcome")
@staff_required("clerk")
def target_outcome(task_id: int, target_id: int):
    """已线下联系 / 跳过 + reason / take it back: ``{"outcome": "offline"|"skipped"|"todo",
    "reason"?: code, "note"?: text}``."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid(t("care.error.not_recorded"), {"body": t("care.error.outcome")})
    with db.transaction() as s:
        clerk = s.get(Staff, current_staff().id)
        target = actions.record_target_outcome(s, clerk, task_id, target_id, data)
        body = {"target": target_json(target, s.get(Customer, target.customer_id)),
                "task": task_json(s.get(CareTask, task_id), _visible_counts(s, clerk, [task_id])[task_id])}
    return jsonify(body)


@bp.post("/tasks/<int:task_id>/targets/<int:target_id>/send")
@staff_required("clerk")
def send_to_target(task_id: int, target_id: int):
    """一键发送: the task's copy, the customer's own page and the task's coupon, in one message."""
    with db.transaction() as s:
        clerk = s.get(Staff, current_staff().id)
        target = actions.send_task_message(s, clerk, task_id, target_id)
        body = {"target": target_json(target, s.get(Customer, target.customer_id)),
                "task": task_json(s.get(CareTask, task_id), _visible_counts(s, clerk, [task_id])[task_id])}
    return jsonify(body)


@bp.get("/tasks/<int:task_id>/progress")
@staff_required("manager", "hq")
def task_progress(task_id: int):
    staff = current_staff()
    body = actions.progress(db.session(), task_id,
                            store_id=staff.store_id if staff.role == Role.manager else None)
    body["total"]["revenue"] = yuan(body["total"]["revenue_fen"])
    body["funnel"] = task_funnel(db.session(), task_id, store_id=staff.store_id if staff.role == Role.manager else None)
    body["coupon"] = coupon_label(db.session(), db.session().get(CareTask, task_id).coupon_template_id)
    return jsonify(body)


@bp.post("/tasks/<int:task_id>/reassign")
@staff_required("manager", "hq")
def reassign(task_id: int):
    data = request.get_json(silent=True) or {}
    ids, clerk_id = data.get("target_ids"), data.get("clerk_id")
    fields = {}
    if not isinstance(ids, list) or not ids or not all(is_id(i) for i in ids):
        fields["target_ids"] = "a non-empty list of target ids"
    if not is_id(clerk_id):
        fields["clerk_id"] = "the id of the clerk to take them"
    if fields:
        raise Invalid("invalid reassignment", fields)
    with db.transaction() as s:
        n = actions.reassign_targets(s, s.get(Staff, current_staff().id), task_id, ids, clerk_id)
    return jsonify({"reassigned": n})


@bp.post("/tasks/<int:task_id>/close")
@staff_required("hq")
def close(task_id: int):
    """Close now: the fallback runs for the unreached targets, as at the deadline."""
    s = db.session()
    task = s.get(CareTask, task_id)
    if task is None:
        raise NotFound("task not found", {"task_id": "no such task"})
    if task.status != "open":
        raise Invalid("task is already closed", {"status": task.status})
    s.close()
    return jsonify(deadlines.close_task(task_id))


@bp.get("/automations")
@staff_required("hq", "manager")
def list_automations():
    from app.care import automations
    from models import AutomationRun

    s = db.session()
    runs = {(rule, outcome): n for rule, outcome, n in s.execute(
        select(AutomationRun.rule, AutomationRun.outcome, func.count())
        .group_by(AutomationRun.rule, AutomationRun.outcome))}
    return jsonify({"rules": [
        {"key": r.key, "label": r.label, "purpose": r.purpose, "enabled": r.enabled, "params": r.params,
         "template": r.template, "variables": list(automations.template_variables()),
         "sent": runs.get((r.key, "sent"), 0), "skipped": runs.get((r.key, "skipped"), 0),
         "deferred": runs.get((r.key, "deferred"), 0)}
        for r in automations.load_rules(s).values()]})


@bp.put("/automations")
@staff_required("hq")
def put_automations():
    from app.care import automations
    from models import Setting

    data = request.get_json(silent=True)
    problems = automations.validate_overrides(data)
    if problems:
        raise Invalid(t("hq.automations.invalid"), problems)
    with db.transaction() as s:
        row = s.get(Setting, automations.SETTING_KEY)
        merged = dict(row.value) if row else {}
        for key, o in data.items():
            merged[key] = {**merged.get(key, {}), **o,
                           "params": {**merged.get(key, {}).get("params", {}), **o.get("params", {})}}
        if row is None:
            s.add(Setting(key=automations.SETTING_KEY, value=merged, updated_by=current_staff().id))
        else:
            row.value, row.updated_by = merged, current_staff().id
    return list_automations()
