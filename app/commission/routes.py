"""``/api/v1/commission``: the clerk's earnings, leaderboards, statements (JSON and CSV), rules,
attribution settings, month closing and manual adjustments. Views parse, call one action, return."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from app import csv_export, db
from app.auth import current_staff, staff_required
from app.commission import actions, queries
from app.params import MAX_ID, parse_int
from app.errors import Invalid, NotFound
from assistant.attribution import month_of_time
from models import CommissionPeriod, CommissionRule, Role, Staff, utcnow

bp = Blueprint("commission", __name__, url_prefix="/api/v1/commission")


def _period() -> str:
    period = request.args.get("period")
    if period is None:
        return month_of_time(utcnow(), actions.brand_timezone())
    if not actions._valid_period(period):
        raise Invalid("invalid period", {"period": "YYYY-MM, e.g. 2026-11"})
    return period


def _clerk_in_scope(s, staff: Staff, raw: str | None) -> Staff:
    if raw is None:
        return staff
    clerk = s.get(Staff, parse_int("clerk_id", raw, low=1, high=MAX_ID))
    visible = clerk is not None and (
        staff.role == Role.hq or clerk.id == staff.id
        or (staff.role == Role.manager and clerk.store_id == staff.store_id))
    if not visible:
        raise NotFound("no such clerk", {"clerk_id": "no such clerk in your scope"})
    return clerk


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("a JSON object is required", {"": "must be a JSON object"})
    return body


@bp.get("")
@staff_required()
def earnings():
    s = db.session()
    clerk = _clerk_in_scope(s, current_staff(), request.args.get("clerk_id"))
    return jsonify(queries.clerk_month(s, clerk, _period(), utcnow()))


@bp.get("/leaderboard")
@staff_required(Role.manager, Role.hq)
def leaderboard():
    return jsonify(queries.leaderboard(db.session(), current_staff(), _period()))


def _statement_lines():
    s = db.session()
    staff = current_staff()
    raw = request.args.get("clerk_id")
    clerk_id = _clerk_in_scope(s, staff, raw).id if raw is not None else None
    return queries.statement(s, staff, _period(), clerk_id)


@bp.get("/statement")
@staff_required()
def statement():
    lines = _statement_lines()
    return jsonify({"period": _period(), "lines": lines, "total": queries.statement_total(lines)})


@bp.get("/statement.csv")
@staff_required()
def statement_csv():
    lines = _statement_lines()
    return csv_export.download(f"commission-{_period()}.csv", queries.STATEMENT_COLUMNS,
                               ([line[c] for c in queries.STATEMENT_COLUMNS] for line in lines))


@bp.get("/rules")
@staff_required(Role.manager, Role.hq)
def list_rules():
    rules = db.session().scalars(select(CommissionRule).order_by(CommissionRule.effective_from.desc(),
                                                                 CommissionRule.id.desc()))
    return jsonify({"rules": [queries.rule_json(r) for r in rules]})


@bp.post("/rules")
@staff_required(Role.hq)
def create_rule():
    body = _body()
    with db.transaction() as s:
        rule = actions.create_rule(s, current_staff(), body)
        out = queries.rule_json(rule)
    return jsonify(out), 201


@bp.put("/rules/<int:rule_id>")
@staff_required(Role.hq)
def replace_rule(rule_id: int):
    body = _body()
    with db.transaction() as s:
        rule = actions.replace_rule(s, current_staff(), rule_id, body)
        out = queries.rule_json(rule)
    return jsonify(out), 201


@bp.delete("/rules/<int:rule_id>")
@staff_required(Role.hq)
def end_rule(rule_id: int):
    with db.transaction() as s:
        out = queries.rule_json(actions.end_rule(s, current_staff(), rule_id))
    return jsonify(out)


@bp.get("/choices")
@staff_required(Role.manager, Role.hq)
def form_choices():
    return jsonify(queries.form_choices(db.session()))


@bp.get("/attribution")
@staff_required(Role.manager, Role.hq)
def get_attribution():
    return jsonify({"attribution": actions.attribution_config(db.session())})


@bp.put("/attribution")
@staff_required(Role.hq)
def put_attribution():
    body = _body()
    with db.transaction() as s:
        config = actions.set_attribution_config(s, current_staff(), body)
    return jsonify({"attribution": config})


@bp.get("/periods")
@staff_required(Role.manager, Role.hq)
def list_periods():
    rows = db.session().scalars(select(CommissionPeriod).order_by(CommissionPeriod.period.desc()))
    return jsonify({"closed": [{"period": p.period, "closed_at": p.closed_at.isoformat(),
                                "closed_by": p.closed_by} for p in rows]})


@bp.post("/periods")
@staff_required(Role.hq)
def close_period():
    body = _body()
    with db.transaction() as s:
        row = actions.close_period(s, current_staff(), body.get("period"))
        out = {"period": row.period, "closed_at": row.closed_at.isoformat(), "closed_by": row.closed_by}
    return jsonify(out), 201


@bp.post("/adjustments")
@staff_required(Role.manager, Role.hq)
def adjust():
    body = _body()
    with db.transaction() as s:
        entry = actions.adjust(s, current_staff(), clerk_id=body.get("clerk_id"), amount=body.get("amount"),
                               reason=body.get("reason"), order_id=body.get("order_id"),
                               idempotency_key=body.get("idempotency_key"))
        out = {"id": entry.id, "clerk_id": entry.clerk_id, "amount": queries.yuan(entry.amount_fen),
               "period": entry.period, "reason": entry.explanation, "order_id": entry.order_id}
    return jsonify(out), 201
