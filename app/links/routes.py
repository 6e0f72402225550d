"""``POST /api/v1/links`` and the brand's personal-page settings. Views parse, call one action, answer.

Who may make a link: a clerk for their own followers (from themselves); a store manager or head
office for a customer in their scope, from the customer's owner or a clerk they name; an
integrator (bearer token) for any customer, the same way.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.auth import current_staff, staff_required
from app.errors import Invalid, NotFound
from app.i18n import negotiate_locale, t
from app.links import actions, settings as link_settings
from app.messaging.actions import owner_clerk_id
from app.params import is_id
from app.scoping import get_visible_customer
from connectors.registry import is_channel
from assistant.categories import category_label
from models import CampaignTarget, CareTaskTarget, Customer, Product, Role, Staff
from models.money import yuan

bp = Blueprint("links", __name__, url_prefix="/api/v1/links")


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid(t("links.invalid"), {"body": t("links.settings.error.body")})
    return body


def _json_int(value: Any) -> Any:
    """A JSON number without a fraction is an integer (JSON Schema's reading): 3.0 → 3."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _with_ints(body: dict[str, Any]) -> dict[str, Any]:
    out = {**body, **{k: _json_int(body[k]) for k in ("customer_id", "clerk_id") if k in body}}
    if isinstance(body.get("source"), dict) and "id" in body["source"]:
        out["source"] = {**body["source"], "id": _json_int(body["source"]["id"])}
    return out


def _customer(s: Session, staff: Staff | None, body: dict[str, Any]) -> Customer:
    raw_id, external = body.get("customer_id"), body.get("customer")
    if is_id(raw_id):
        customer_id = raw_id
    elif isinstance(external, str) and external:
        customer_id = s.scalar(select(Customer.id).where(Customer.external_id == external))
        if customer_id is None:
            raise NotFound(t("links.invalid"), {"customer": t("links.error.customer")})
    else:
        raise Invalid(t("links.invalid"), {"customer": t("links.error.customer")})
    if staff is not None:
        return get_visible_customer(s, staff, customer_id)
    customer = s.get(Customer, customer_id)
    if customer is None:
        raise NotFound(t("links.invalid"), {"customer_id": t("links.error.customer")})
    return customer


def _clerk(s: Session, staff: Staff | None, customer: Customer, body: dict[str, Any]) -> int:
    """The clerk the page presents: the clerk asking, else the one named, else the owner."""
    if staff is not None and staff.role == Role.clerk:
        return staff.id
    named = body.get("clerk_id")
    if named is None and isinstance(body.get("clerk"), str):
        named = s.scalar(select(Staff.id).where(Staff.external_id == body["clerk"]))
        if named is None:
            raise NotFound(t("links.invalid"), {"clerk": t("links.error.clerk")})
    if named is None:
        owner = owner_clerk_id(s, customer.id)
        if owner is None:
            raise Invalid(t("links.invalid"), {"clerk_id": t("links.error.no_clerk")})
        return owner
    if not is_id(named):
        raise Invalid(t("links.invalid"), {"clerk_id": t("links.error.clerk")})
    clerk = s.get(Staff, named)
    in_scope = clerk is not None and clerk.role == Role.clerk and clerk.active and (
        staff is None or staff.role == Role.hq or clerk.store_id == staff.store_id)
    if not in_scope:  # like a customer outside one's scope: as if there were no such clerk
        raise NotFound(t("links.invalid"), {"clerk_id": t("links.error.clerk")})
    return clerk.id


def _check_target(s: Session, kind: str, source_id: int | None, customer_id: int) -> None:
    """A link said to come from a task or campaign belongs to one of its targets (its funnel)."""
    model = {"task": CareTaskTarget, "campaign": CampaignTarget}.get(kind)
    if model is None or source_id is None:
        return
    parent = model.task_id if model is CareTaskTarget else model.campaign_id
    if s.scalar(select(model.id).where(parent == source_id, model.customer_id == customer_id)) is None:
        raise NotFound(t("links.invalid"), {"source": t("links.error.source_target")})


@bp.post("")
def create():
    staff = current_staff()
    if g.get("api_token") is None and staff is None:
        return jsonify({"error": t("auth.login_required")}), 401
    body = _with_ints(_body())
    channel = body.get("channel")
    if channel is not None and not is_channel(channel):
        raise Invalid(t("links.invalid"), {"channel": t("input.invalid", field="channel")})
    with db.transaction() as s:
        asking = s.get(Staff, staff.id) if g.get("api_token") is None else None
        kind, source_id = actions.parse_source(body.get("source"))
        customer = _customer(s, asking, body)
        skus = actions.checked_skus(s, body.get("products"))
        _check_target(s, kind, source_id, customer.id)
        clerk_id = _clerk(s, asking, customer, body)
        issued = actions.link_for(s, customer.id, clerk_id, skus, body.get("source"),
                                  channel=channel, created_by=asking.id if asking else None)
        out = issued.to_json()
    return jsonify(out), 201


PRODUCTS_OFFERED = 2000


@bp.get("/products")
@staff_required(Role.manager, Role.hq)
def products():
    """The products a page can show, by category and name, for head office's pickers."""
    rows = db.session().execute(select(Product.sku, Product.name, Product.category, Product.price_fen)
                                .where(Product.in_stock.is_(True))
                                .order_by(Product.category, Product.name).limit(PRODUCTS_OFFERED))
    locale = negotiate_locale()
    return jsonify({"products": [{"sku": sku, "name": name, "category": category_label(cat, locale),
                                  "price": yuan(price)} for sku, name, cat, price in rows]})


@bp.get("/settings")
@staff_required(Role.manager, Role.hq)
def get_settings():
    return jsonify({"settings": link_settings.load(db.session())})


@bp.put("/settings")
@staff_required(Role.hq)
def put_settings():
    body = _body()
    with db.transaction() as s:
        saved = link_settings.save(s, current_staff(), body)
    return jsonify({"settings": saved})
