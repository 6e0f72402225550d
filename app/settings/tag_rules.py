"""``GET/PUT /api/v1/settings/tag-rules``: the thresholds of the automatic tags (head office).

Saving new thresholds retags everyone in the background, after the commit.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from app import db, jobs
from app.auth import current_staff, staff_required
from app.errors import Invalid
from assistant.tag_rules import TagRulesError, load_rules, parse_rules, save_rules
from models import Product, Role

bp = Blueprint("settings_tag_rules", __name__, url_prefix="/api/v1/settings")


@bp.get("/tag-rules")
@staff_required(Role.hq)
def show():
    return jsonify(load_rules(db.session()).model_dump(mode="json"))


@bp.put("/tag-rules")
@staff_required(Role.hq)
def change():
    from app.followers.actions import retag_everyone

    body = request.get_json(silent=True)
    if isinstance(body, dict):
        # A partial document changes only the thresholds it names.
        body = {**load_rules(db.session()).model_dump(mode="json"), **body}
    try:
        catalogue = set(db.session().scalars(select(Product.category).distinct()).all()) - {None}
        rules = parse_rules(body, catalogue)
    except TagRulesError as err:
        first = next(iter(err.fields))
        raise Invalid(f"invalid tag rules: {first}: {err.fields[first]}", err.fields) from None
    with db.transaction() as s:
        save_rules(s, rules, current_staff().id)
        jobs.enqueue_after_commit(s, retag_everyone)
    return jsonify({**rules.model_dump(mode="json"), "retag": "queued"})
