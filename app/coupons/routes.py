"""``/api/v1/coupon-templates``, ``/api/v1/coupons``, ``/api/v1/customers/<id>/coupons``, gift
budgets and abuse flags. Views parse, call one action inside one transaction, answer."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select

from app import db
from app.auth import current_staff, integrator_required, staff_required
from app.coupons import actions, flags, queries
from app.coupons import validate as cv
from app.db import chunks
from app.errors import Invalid, NotFound
from app.i18n import t
from app.params import MAX_ID, parse_int, query_int
from app.scoping import get_visible_customer
from app.care.segments import segment_customer_ids
from models import Customer, Role, Segment

bp = Blueprint("coupons", __name__, url_prefix="/api/v1")


def _body() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid(t("coupons.body_object"), {"body": t("coupons.body_object")})
    return body


def _staff_id() -> int | None:
    staff = current_staff()
    return staff.id if staff is not None and g.get("api_token") is None else None


@bp.post("/coupon-templates")
@integrator_required
def create_template():
    body = _body()
    with db.transaction() as s:
        template = actions.create_template(s, body, _staff_id())
        answer = queries.template_json(template)
    return jsonify(answer), 201


@bp.get("/coupon-templates")
@integrator_required
def list_templates():
    return jsonify({"templates": queries.list_templates(db.session())})


@bp.post("/coupons")
@integrator_required
def issue():
    values, errors = cv.check_issue(_body())
    if errors:
        raise Invalid(t("coupons.invalid_issue"), errors)
    with db.transaction() as s:
        by_id, unknown = _customers(s, values)
        result = actions.issue_coupons(s, values["template_id"], list(by_id), source=values["source"],
                                       source_ref=values["source_ref"], issued_by=_staff_id())
        answer = {
            "issued": [{"customer": by_id[cid], "code": c.code, "expires_at": c.expires_at.isoformat()}
                       for cid, c in result.issued],
            "refused": [{"customer": ext, "reason": "unknown_customer", "message": t("coupons.refused.unknown_customer")}
                        for ext in unknown]
            + [{"customer": by_id[cid], "reason": reason, "message": t(f"coupons.refused.{reason}")}
               for cid, reason in result.refused],
        }
    return jsonify(answer)


def _customers(s, values: dict[str, Any]) -> tuple[dict[int, str], list[str]]:
    """The customers to issue to (id → external id, in request order) and the unknown ones."""
    if values["segment_id"] is not None:
        segment = s.get(Segment, values["segment_id"])
        if segment is None:
            raise NotFound(t("coupons.segment_not_found"), {"segment_id": t("coupons.segment_not_found")})
        members = segment_customer_ids(s, segment.filter).subquery()
        rows = s.execute(select(Customer.id, Customer.external_id).where(Customer.id.in_(select(members.c.id)))
                         .order_by(Customer.id))
        return dict(rows.all()), []
    wanted = list(dict.fromkeys(values["customers"]))
    found: dict[str, int] = {}
    for part in chunks(wanted):
        found.update({ext: cid for cid, ext in s.execute(
            select(Customer.id, Customer.external_id).where(Customer.external_id.in_(part)))})
    return {found[ext]: ext for ext in wanted if ext in found}, [ext for ext in wanted if ext not in found]


@bp.get("/customers/<ref>/coupons")
def customer_coupons(ref: str):
    """A bearer token names the customer by external id; a staff session by id, within its scope."""
    s = db.session()
    if g.get("api_token") is not None:
        customer = queries.customer_by_external_id(s, ref)
        if customer is None:
            raise NotFound(t("coupons.customer_not_found"), {"customer": t("coupons.customer_not_found")})
        return jsonify({"customer": customer.external_id, "coupons": queries.customer_coupons(s, customer.id)})
    staff = current_staff()
    if staff is None:
        return jsonify({"error": t("auth.login_required")}), 401
    customer = get_visible_customer(s, staff, parse_int("customer_id", ref, low=1, high=MAX_ID))
    body: dict[str, Any] = {"customer": customer.external_id, "coupons": queries.customer_coupons(s, customer.id)}
    if staff.role in (Role.clerk, Role.manager):
        body["gifts"] = actions.gifts_left(s, staff)
        body["templates"] = queries.giftable_templates(s)
    return jsonify(body)


@bp.post("/customers/<int:customer_id>/coupons")
@staff_required("clerk", "manager")
def gift(customer_id: int):
    """送券: a clerk gives a customer they serve a coupon, within this month's budget."""
    body = _body()
    staff = current_staff()
    with db.transaction() as s:
        customer = get_visible_customer(s, staff, customer_id)
        coupon, new = actions.gift_coupon(s, staff, customer.id, body.get("template_id"))
        answer = {"customer": customer.external_id, "code": coupon.code, "expires_at": coupon.expires_at.isoformat(),
                  "expires_label": queries.expires_label(coupon.expires_at), "gifts": actions.gifts_left(s, staff)}
    return jsonify(answer), 201 if new else 200


@bp.get("/coupon-gift-budgets")
@integrator_required
def gift_budgets_get():
    return jsonify(_budgets_json(actions.gift_budgets(db.session())))


@bp.put("/coupon-gift-budgets")
@integrator_required
def gift_budgets_put():
    body = _body()
    with db.transaction() as s:
        answer = _budgets_json(actions.save_gift_budgets(s, body, _staff_id()))
    return jsonify(answer)


def _budgets_json(budgets: dict[str, Any]) -> dict[str, Any]:
    return {"default": budgets["default"],
            "clerks": [{"clerk_id": k, "count": n} for k, n in sorted(budgets["clerks"].items())]}


@bp.get("/coupon-form")
@staff_required("hq")
def form_choices():
    """What head office's coupon form offers, in the reader's words: kinds, categories, products."""
    return jsonify(queries.form_choices(db.session()))


@bp.get("/coupons/flags")
@integrator_required
def abuse_flags():
    days = query_int("days", 30, low=1, high=365)
    least = query_int("min_customers", 3, low=2, high=1000)
    return jsonify({"days": days, "min_customers": least,
                    "flags": flags.shared_address_flags(db.session(), days=days, min_customers=least)})
