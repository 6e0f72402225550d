"""``POST /api/v1/assistant/ask``: the clerk asks the coach (导购助理) a question in their words."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from app import db
from app.auth import current_staff, staff_required
from app.coach import service
from app.errors import Invalid
from app.i18n import t
from models import Role

bp = Blueprint("coach", __name__, url_prefix="/api/v1")
MAX_QUESTION = 500


@bp.post("/assistant/ask")
@staff_required(Role.clerk)
def ask():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid(t("coach.invalid"), {"body": t("coach.json_object")})
    question = body.get("question")
    if not isinstance(question, str) or not question.strip():
        raise Invalid(t("coach.invalid"), {"question": t("coach.question_required")})
    if len(question) > MAX_QUESTION:
        raise Invalid(t("coach.invalid"), {"question": t("coach.question_too_long", n=MAX_QUESTION)})
    return jsonify(service.ask(db.session(), current_staff(), question.strip()))
