"""``GET /api/v1/customers/<id>``: one profile, within the caller's scope (else 404); the clerk's
own tags (``POST/DELETE /api/v1/customers/<id>/tags``)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import db
from app.auth import current_staff, staff_required
from app.customers.serialize import customer_profile, row_tags, tags_json
from app.errors import Invalid
from app.scoping import get_visible_customer
from models import Customer, CustomerTag, Order, OrderItem

bp = Blueprint("customers", __name__, url_prefix="/api/v1")


@bp.get("/customers/<int:customer_id>")
@staff_required()
def profile(customer_id: int):
    s = db.session()
    customer = get_visible_customer(s, current_staff(), customer_id)
    s.scalars(select(Customer).where(Customer.id == customer.id).options(
        selectinload(Customer.tags).selectinload(CustomerTag.tag), selectinload(Customer.bindings))).all()
    orders = list(s.scalars(
        select(Order).where(Order.customer_id == customer.id)
        .options(selectinload(Order.items).selectinload(OrderItem.product))
        .order_by(Order.created_at.desc()).limit(50)))
    return jsonify(customer_profile(customer, orders))


def _tag_name() -> str:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("request body must be a JSON object", {"name": "required"})
    return body.get("name")


@bp.post("/customers/<int:customer_id>/tags")
@staff_required()
def add_tag(customer_id: int):
    from app.followers.actions import add_manual_tag

    name = _tag_name()
    with db.transaction() as s:
        customer = get_visible_customer(s, current_staff(), customer_id)
        add_manual_tag(s, current_staff(), customer, name)
        body = {"tags": tags_json(customer), "row_tags": row_tags(customer)}
    return jsonify(body), 201


@bp.delete("/customers/<int:customer_id>/tags")
@bp.delete("/customers/<int:customer_id>/tags/<path:name>")
@staff_required()
def remove_tag(customer_id: int, name: str | None = None):
    from app.followers.actions import remove_manual_tag

    name = name or _tag_name()
    with db.transaction() as s:
        customer = get_visible_customer(s, current_staff(), customer_id)
        remove_manual_tag(s, customer, name)
        body = {"tags": tags_json(customer), "row_tags": row_tags(customer)}
    return jsonify(body)
