"""``GET /api/v1/customers/<id>``: one profile, within the caller's scope (else 404)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import db
from app.auth import current_staff, staff_required
from app.customers.serialize import customer_profile
from app.scoping import get_visible_customer
from models import Order, OrderItem

bp = Blueprint("customers", __name__, url_prefix="/api/v1")


@bp.get("/customers/<int:customer_id>")
@staff_required()
def profile(customer_id: int):
    s = db.session()
    customer = get_visible_customer(s, current_staff(), customer_id)
    orders = list(s.scalars(
        select(Order).where(Order.customer_id == customer.id)
        .options(selectinload(Order.items).selectinload(OrderItem.product))
        .order_by(Order.created_at.desc()).limit(50)))
    return jsonify(customer_profile(customer, orders))
