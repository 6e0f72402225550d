"""``POST /api/v1/stores|customers|products|orders``: the integrator's bulk upsert endpoints.

Views only parse the body, call one action inside one transaction and answer its result.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import IntegrityError

from app import db
from app.auth import integrator_required
from app.errors import Conflict, DomainError, Invalid
from app.i18n import t
from app.ingest import actions

bp = Blueprint("ingest", __name__, url_prefix="/api/v1")

ACTIONS = {
    "stores": actions.upsert_stores,
    "customers": actions.upsert_customers,
    "products": actions.upsert_products,
    "orders": actions.record_orders,
}


class TooLarge(DomainError):
    status = 413


def read_objects() -> list[Any]:
    """The request body as a list of objects, or a 400/413/422 that says what is wrong."""
    raw = request.get_data(cache=False)
    try:
        body = json.loads(raw)
    except UnicodeDecodeError:
        raise DomainError(t("error.invalid_json"), {"body": t("ingest.body_not_utf8")}, status=400) from None
    except json.JSONDecodeError as exc:
        raise DomainError(t("error.invalid_json"),
                          {"body": t("ingest.json_at", line=exc.lineno, column=exc.colno, reason=exc.msg)},
                          status=400) from None
    if not isinstance(body, list):
        raise Invalid(t("ingest.body_not_list"), {"body": t("ingest.body_not_list")})
    limit = current_app.config.get("BULK_LIMIT", 5000)
    if len(body) > limit:
        raise TooLarge(t("ingest.too_many", limit=limit, count=len(body)),
                       {"body": t("ingest.too_many", limit=limit, count=len(body))})
    return body


def _upsert(kind: str):
    objects = read_objects()
    try:
        with db.transaction() as s:
            result = ACTIONS[kind](s, objects)
    except IntegrityError:
        # Another request wrote the same external id between our lookup and our insert.
        raise Conflict(t("ingest.concurrent_write")) from None
    return jsonify(result.to_dict())


def _register(kind: str) -> None:
    def view():
        return _upsert(kind)

    view.__name__ = f"upsert_{kind}"
    bp.add_url_rule(f"/{kind}", view.__name__, integrator_required(view), methods=["POST"])


for _kind in ACTIONS:
    _register(_kind)
