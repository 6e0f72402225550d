"""``GET /api/v1/model/versions``: model health for head office (metrics over time, importance)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import select

from app import db
from app.auth import staff_required
from models import ModelVersion, Role

bp = Blueprint("model", __name__, url_prefix="/api/v1")


def version_json(v: ModelVersion) -> dict:
    m = v.metrics or {}
    return {
        "id": v.id, "name": v.name, "is_current": v.is_current,
        "created_at": v.created_at.isoformat(),
        "promoted_at": v.promoted_at.isoformat() if v.promoted_at else None,
        "trained_at": m.get("trained_at"), "fallback": m.get("fallback"),
        "n_customers": m.get("n_customers"), "beats_bgnbd": m.get("beats_bgnbd"),
        "summary": m.get("summary", []), "feature_importance": m.get("feature_importance", {}),
    }


@bp.get("/model/versions")
@staff_required(Role.hq)
def versions():
    rows = db.session().scalars(select(ModelVersion).order_by(ModelVersion.created_at.desc()).limit(100))
    return jsonify({"versions": [version_json(v) for v in rows]})
