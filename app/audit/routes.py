"""``GET /api/v1/audit``: the trail for head office, newest first, a page at a time."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from app import db
from app.audit import ACTIONS
from app.auth import staff_required
from app.errors import Invalid
from app.i18n import t
from app.params import query_int
from models import AuditEntry, Role

bp = Blueprint("audit", __name__, url_prefix="/api/v1")
PAGE = 50


@bp.get("/audit")
@staff_required(Role.hq)
def trail():
    action = request.args.get("action") or None
    if action is not None and action not in ACTIONS:
        raise Invalid(t("audit.invalid_filter"), {"action": t("audit.unknown_action")})
    before = query_int("before_id", 0, low=0)
    limit = query_int("limit", PAGE, low=1, high=200)
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if action:
        q = q.where(AuditEntry.action == action)
    if before:
        q = q.where(AuditEntry.id < before)
    rows = list(db.session().scalars(q))
    return jsonify({"entries": [entry_json(e) for e in rows[:limit]], "more": len(rows) > limit,
                    "actions": [{"value": a, "label": t(f"audit.action.{a}")} for a in ACTIONS]})


def entry_json(e: AuditEntry) -> dict:
    return {"id": e.id, "at": e.at.astimezone(dt.timezone.utc).isoformat(), "action": e.action,
            "action_label": t(f"audit.action.{e.action}"), "actor": e.actor_label, "actor_id": e.actor_id,
            "subject_kind": e.subject_kind, "subject_id": e.subject_id, "store_id": e.store_id,
            "address": e.address, "detail": e.detail or {}}
