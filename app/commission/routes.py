"""``/api/v1/commission``: the clerk's earnings, leaderboards, statements (JSON and CSV), rules,
attribution settings, month closing and manual adjustments. Views parse, call one action, return."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from app import audit, csv_export, db
from app.auth import current_staff, staff_required
from app.commission import ledger, periods, queries, rules
from app.params import MAX_ID, parse_int, query_period
from app.targets.progress import progress
from app.errors import Invalid, NotFound
from models import CommissionPeriod, CommissionRule, Role, Staff, utcnow

bp = Blueprint("commission", __name__, url_prefix="/api/v1/commission")


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
    period, now = query_period(), utcnow()
    return jsonify({**queries.clerk_month(s, clerk, period, now), **progress(s, clerk, period, now)})


@bp.get("/leaderboard")
@staff_required(Role.manager, Role.hq)
def leaderboard():
    return jsonify(queries.leaderboard(db.session(), current_staff(), query_period()))


def _statement_lines():
    s = db.session()
    staff = current_staff()
    raw = request.args.get("clerk_id")
    clerk_id = _clerk_in_scope(s, staff, raw).id if raw is not None else None
    return queries.statement(s, staff, query_period(), clerk_id)


@bp.get("/statement")
@staff_required()
def statement():
    lines = _statement_lines()
    return jsonify({"period": query_period(), "lines": lines, "total": queries.statement_total(lines)})


@bp.get("/statement.csv")
@staff_required()
def statement_csv():
    lines = _statement_lines()
    return csv_export.download(f"commission-{query_period()}.csv", queries.STATEMENT_COLUMNS,
                               ([line[c] for c in queries.STATEMENT_COLUMNS] for line in lines),
                               report="statement", store_id=current_staff().store_id)


@bp.get("/rules")
@staff_required(Role.manager, Role.hq)
def list_rules():
    rows = db.session().scalars(select(CommissionRule).order_by(CommissionRule.effective_from.desc(),
                                                                CommissionRule.id.desc()))
    return jsonify({"rules": [queries.rule_json(r) for r in rows]})


@bp.post("/rules")
@staff_required(Role.hq)
def create_rule():
    body = _body()
    with db.transaction() as s:
        rule = rules.create_rule(s, current_staff(), body)
        out = queries.rule_json(rule)
        audit.record(s, "rule_created", current_staff(), subject=("rule", rule.id), name=rule.name)
    return jsonify(out), 201


@bp.put("/rules/<int:rule_id>")
@staff_required(Role.hq)
def replace_rule(rule_id: int):
    body = _body()
    with db.transaction() as s:
        rule = rules.replace_rule(s, current_staff(), rule_id, body)
        out = queries.rule_json(rule)
        audit.record(s, "rule_replaced", current_staff(), subject=("rule", rule_id), name=rule.name, new_rule=rule.id)
    return jsonify(out), 201


@bp.delete("/rules/<int:rule_id>")
@staff_required(Role.hq)
def end_rule(rule_id: int):
    with db.transaction() as s:
        rule = rules.end_rule(s, current_staff(), rule_id)
        out = queries.rule_json(rule)
        audit.record(s, "rule_ended", current_staff(), subject=("rule", rule_id), name=rule.name)
    return jsonify(out)


@bp.get("/choices")
@staff_required(Role.manager, Role.hq)
def form_choices():
    return jsonify(queries.form_choices(db.session()))


@bp.get("/attribution")
@staff_required(Role.manager, Role.hq)
def get_attribution():
    return jsonify({"attribution": rules.attribution_config(db.session())})


@bp.put("/attribution")
@staff_required(Role.hq)
def put_attribution():
    body = _body()
    with db.transaction() as s:
        config = rules.set_attribution_config(s, current_staff(), body)
        audit.record(s, "attribution_changed", current_staff(), subject=("setting", "attribution"),
                     **{k: v for k, v in config.items() if isinstance(v, (str, int, float, bool))})
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
        row = periods.close_period(s, current_staff(), body.get("period"))
        out = {"period": row.period, "closed_at": row.closed_at.isoformat(), "closed_by": row.closed_by}
        audit.record(s, "period_closed", current_staff(), subject=("period", row.period), month=row.period)
    return jsonify(out), 201


@bp.post("/adjustments")
@staff_required(Role.manager, Role.hq)
def adjust():
    body = _body()
    with db.transaction() as s:
        entry = ledger.adjust(s, current_staff(), clerk_id=body.get("clerk_id"), amount=body.get("amount"),
                               reason=body.get("reason"), order_id=body.get("order_id"),
                               idempotency_key=body.get("idempotency_key"))
        out = {"id": entry.id, "clerk_id": entry.clerk_id, "amount": queries.yuan(entry.amount_fen),
               "period": entry.period, "reason": entry.explanation, "order_id": entry.order_id}
        audit.record(s, "adjustment_added", current_staff(), subject=("commission_entry", entry.id),
                     store_id=s.get(Staff, entry.clerk_id).store_id, clerk=audit.staff_name(s.get(Staff, entry.clerk_id)),
                     amount=f"¥{out['amount']}", reason=entry.explanation, month=entry.period)
    return jsonify(out), 201
