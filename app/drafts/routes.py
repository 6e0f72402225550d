"""``/api/v1/drafts``, ``/api/v1/templates``, ``/api/v1/offers``, ``/api/v1/recommendations``."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify, request

from app import db
from app.auth import current_staff, staff_required
from app.drafts import actions, settings as draft_settings
from app.drafts.serialize import batch_json, draft_json, outcome_json, product_card, recommendation_json
from app.drafts.stats import draft_stats
from app.errors import Invalid
from app.params import query_id, query_int
from app.scoping import get_visible_customer
from assistant.drafting import (SCENARIOS, default_templates, normalise_scenario, parse_offers, preview_template,
                                sample_variables)
from assistant.recommend import load_histories
from models import Role, utcnow

bp = Blueprint("drafts", __name__, url_prefix="/api/v1")


def _json_body():
    body = request.get_json(silent=True)
    if body is None:
        raise Invalid("invalid JSON", {"body": "a JSON object"})
    return body


@bp.post("/drafts")
@staff_required()
def create():
    draft, result = actions.draft_for_customer(current_staff(), _json_body())
    cards = [product_card(p) for p in result.products]
    return jsonify(draft_json(draft, cards, result.warnings)), 201


@bp.post("/drafts/<int:draft_id>/outcome")
@staff_required()
def outcome(draft_id: int):
    return jsonify(outcome_json(actions.record_outcome(current_staff(), draft_id, _json_body())))


@bp.get("/drafts/stats")
@staff_required(Role.hq)
def stats():
    days = query_int("days", 30, low=1, high=366)
    scenario = request.args.get("scenario")
    if scenario and normalise_scenario(scenario) is None:
        raise Invalid("invalid query", {"scenario": f"one of {', '.join(SCENARIOS)}"})
    since = utcnow() - dt.timedelta(days=days)
    return jsonify(draft_stats(db.session(), since, normalise_scenario(scenario) if scenario else None))


@bp.post("/drafts/batch")
@staff_required()
def batch_start():
    batch = actions.start_batch(current_staff(), _json_body())
    return jsonify(batch_json(batch)), 202


@bp.get("/drafts/batch/<int:batch_id>")
@staff_required()
def batch_progress(batch_id: int):
    batch = actions.get_batch(current_staff(), batch_id)
    body = batch_json(batch)
    if request.args.get("include") == "drafts":
        body["drafts"] = [draft_json(d, [{"sku": sku} for sku in d.products]) for d in actions.drafts_of_batch(batch.id)]
    return jsonify(body)


@bp.get("/templates")
@staff_required(Role.hq)
def templates_get():
    s = db.session()
    overrides = draft_settings.setting(s, draft_settings.TEMPLATES_KEY).get("scenarios", {})
    defaults = default_templates()
    scenarios = {key: {"label": defaults[key]["label"], "variants": (overrides.get(key) or defaults[key])["variants"],
                       "customised": key in overrides} for key in defaults}
    return jsonify({"scenarios": scenarios, "sample": sample_variables()})


@bp.put("/templates")
@staff_required(Role.hq)
def templates_put():
    overrides = actions.save_templates(current_staff(), _json_body())
    return jsonify({"customised": sorted(overrides)})


@bp.post("/templates/preview")
@staff_required(Role.hq)
def templates_preview():
    """Render one template text against the sample customer, with and without optional parts."""
    body = _json_body()
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip() or len(text) > 1000:
        raise Invalid("invalid template", {"text": "required, at most 1000 characters"})
    rendered, error = preview_template(text)
    if error:
        raise Invalid("invalid template", {"text": f"does not render: {error}"})
    return jsonify({"full": rendered[0], "bare": rendered[1]})


@bp.get("/offers")
@staff_required()
def offers_get():
    offers, _ = parse_offers(draft_settings.setting(db.session(), draft_settings.OFFERS_KEY).get("offers", []))
    return jsonify({"offers": [o.to_json() for o in offers]})


@bp.put("/offers")
@staff_required(Role.hq)
def offers_put():
    offers = actions.save_offers(current_staff(), _json_body())
    return jsonify({"offers": [o.to_json() for o in offers]})


@bp.get("/drafts/policy")
@staff_required(Role.hq)
def policy_get():
    return jsonify(draft_settings.policy(db.session()))


@bp.put("/drafts/policy")
@staff_required(Role.hq)
def policy_put():
    actions.save_policy(current_staff(), _json_body())
    return jsonify(draft_settings.policy(db.session()))


@bp.get("/recommendations")
@staff_required()
def recommendations():
    """Product cards for one customer (``customer_id``), optionally for a ``scenario``."""
    customer_id = query_id("customer_id")
    if customer_id is None:
        raise Invalid("invalid query", {"customer_id": "required, a customer id"})
    scenario = request.args.get("scenario")
    if scenario and normalise_scenario(scenario) is None:
        raise Invalid("invalid query", {"scenario": f"one of {', '.join(SCENARIOS)}"})
    limit = query_int("limit", 6, low=1, high=20)
    s = db.session()
    customer = get_visible_customer(s, current_staff(), customer_id)
    recs = draft_settings.recommender(s).for_customer(load_histories(s, [customer.id])[customer.id],
                                                      normalise_scenario(scenario) if scenario else None, limit)
    return jsonify({"customer_id": customer.id, "products": [recommendation_json(r) for r in recs]})
