"""``GET /api/v1/dashboard?days=N``: the head-office and store-manager overview."""
from __future__ import annotations

from flask import Blueprint, jsonify

from app import db
from app.auth import current_staff, staff_required
from app.dashboard.figures import overview
from app.params import query_int
from models import Role

bp = Blueprint("dashboard", __name__, url_prefix="/api/v1")


@bp.get("/dashboard")
@staff_required(Role.hq, Role.manager)
def dashboard():
    days = query_int("days", 30, low=7, high=92)
    return jsonify(overview(db.session(), current_staff(), days))
