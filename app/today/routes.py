"""``GET /api/v1/today`` and ``POST /api/v1/today/<customer_id>/outcome``."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from app import db
from app.auth import current_staff, staff_required
from app.errors import Invalid, NotFound
from app.params import query_id, query_int
from app.today.actions import record_outcome
from app.config import brand_timezone
from app.contact.service import load_config
from app.today.query import SERVICE_ACTIONS, today_rows
from assistant.policy import quiet_hours_end, until_label
from app.today.serialize import today_item
from models import Role, Staff, utcnow

bp = Blueprint("today", __name__, url_prefix="/api/v1")

MAX_LIMIT = 100
DEFAULT_RECENT_DAYS = 3


def _clerk_for(staff: Staff) -> int:
    """Clerks see their own list; a manager or head office names a clerk they may see."""
    if staff.role == Role.clerk:
        return staff.id
    clerk_id = query_id("clerk_id")
    if clerk_id is None:
        raise Invalid("invalid parameter", {"clerk_id": "required for managers and head office"})
    s = db.session()
    stmt = select(Staff.id).where(Staff.id == clerk_id, Staff.role == Role.clerk)
    if staff.role == Role.manager:
        stmt = stmt.where(Staff.store_id == staff.store_id)
    if s.scalar(stmt) is None:
        raise NotFound("clerk not found", {"clerk_id": "no such clerk in your scope"})
    return clerk_id


@bp.get("/today")
@staff_required()
def today():
    staff = current_staff()
    limit = query_int("limit", 10, low=1, high=MAX_LIMIT)
    recent_days = query_int("recent_days", current_app.config.get("TODAY_RECENT_DAYS", DEFAULT_RECENT_DAYS),
                            low=0, high=365)
    clerk_id = _clerk_for(staff)
    now = utcnow()
    zone = brand_timezone()
    rows = today_rows(db.session(), staff, clerk_id, now, limit, recent_days, now.astimezone(zone).date())
    quiet_end = quiet_hours_end(now, load_config(db.session()), str(zone))
    until = until_label(quiet_end, now, str(zone)) if quiet_end else None  # "09:00" or "明天 09:00"
    items = [today_item(r, now, zone) for r in rows]
    for item in items:  # 催付 is a service message: it may go now; the rest waits for quiet hours to end
        item["send_after"] = until if until and item["action"] not in SERVICE_ACTIONS else None
    return jsonify({"clerk_id": clerk_id, "items": items,
                    "quiet_hours": {"until": until} if until else None})


@bp.post("/today/<int:customer_id>/outcome")
@staff_required(Role.clerk)
def outcome(customer_id: int):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("invalid body", {"body": "a JSON object is required"})
    staff = current_staff()
    with db.transaction() as s:
        clerk = s.get(Staff, staff.id)
        row = record_outcome(s, clerk, customer_id, body.get("action"), utcnow())
        result = {"id": row.id, "customer_id": row.customer_id, "action": row.action, "day": row.day.isoformat()}
    return jsonify(result), 201
