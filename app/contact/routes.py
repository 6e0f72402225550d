"""``GET/PUT /api/v1/settings/contact-policy`` (head office) and a dry-run check."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from app import db
from app.auth import current_staff, staff_required
from app.contact import service
from app.errors import Invalid
from app.scoping import get_visible_customer
from assistant.policy import PURPOSES, PolicyConfigError
from models import utcnow

bp = Blueprint("contact", __name__, url_prefix="/api/v1")


@bp.get("/settings/contact-policy")
@staff_required("hq", "manager")
def get_policy():
    return jsonify(service.load_config(db.session()).to_dict())


@bp.put("/settings/contact-policy")
@staff_required("hq")
def put_policy():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid("body must be a JSON object", {"body": "expected an object of settings"})
    try:
        with db.transaction() as s:
            config = service.save_config(s, data, current_staff().id)
    except PolicyConfigError as exc:
        raise Invalid("invalid contact policy", exc.problems) from None
    return jsonify(config.to_dict())


@bp.get("/customers/<int:customer_id>/contact-check")
@staff_required()
def check(customer_id: int):
    """Would a message to this customer be allowed now? (No slot is taken.)"""
    purpose = request.args.get("purpose", "marketing")
    if purpose not in PURPOSES:
        raise Invalid("unknown purpose", {"purpose": f"one of {', '.join(PURPOSES)}"})
    s = db.session()
    customer = get_visible_customer(s, current_staff(), customer_id)
    d = service.decide_many(s, [customer.id], purpose=purpose, now=utcnow(),
                            text=request.args.get("text"), reserve=False)[customer.id]
    return jsonify({"allowed": d.allowed, "channel": d.channel, "code": d.code, "reason": d.reason,
                    "skipped": [{"channel": c, "reason": r} for c, r in d.skipped]})
