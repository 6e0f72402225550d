"""Reception (待接待) HTTP API: claim and transfer a conversation, and the service figures."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify, request

from app import audit, db
from app.auth import current_staff, staff_required
from app.config import brand_timezone
from app.console import serialize
from app.errors import Invalid
from app.params import body_id
from app.reception.figures import service_figures
from app.reception import preferences
from app.reception.pools import claim, transfer
from models import Role, Staff, Store, clock

bp = Blueprint("reception", __name__, url_prefix="/api/v1")
MAX_DAYS = 92


def _conversation_body(s, conv) -> dict:
    customers = serialize.customers_by_id(s, [conv.customer_id])
    return serialize.conversation_json(conv, customers.get(conv.customer_id))


@bp.post("/conversations/<int:conversation_id>/claim")
@staff_required(Role.clerk, Role.manager, Role.hq)
def claim_conversation(conversation_id: int):
    """接待: take a conversation from the pool. First claim wins; a later one gets 409 naming who has it."""
    with db.transaction() as s:
        conv = claim(s, current_staff(), conversation_id)
        body = _conversation_body(s, conv)
    return jsonify({"conversation": body})


@bp.post("/conversations/<int:conversation_id>/transfer")
@staff_required(Role.clerk, Role.manager, Role.hq)
def transfer_conversation(conversation_id: int):
    """转接: to a clerk (``clerk_id``) or into a store's pool (``store_id``), with a ``note``."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid("invalid JSON body", {"body": "a JSON object is required"})
    note = data.get("note") or ""
    if not isinstance(note, str):
        raise Invalid("invalid note", {"note": "must be text"})
    with db.transaction() as s:
        to_clerk, to_store = body_id(data, "clerk_id", required=False), body_id(data, "store_id", required=False)
        conv = transfer(s, current_staff(), conversation_id, clerk_id=to_clerk, store_id=to_store, note=note)
        audit.record(s, "conversation_transferred", current_staff(), subject=("conversation", conversation_id),
                     store_id=conv.store_id, to=_recipient(s, to_clerk, to_store), customer_id=conv.customer_id)
        body = _conversation_body(s, conv)
    return jsonify({"conversation": body})


def _recipient(s, clerk_id: int | None, store_id: int | None) -> str:
    if clerk_id is not None:
        return audit.staff_name(s.get(Staff, clerk_id))
    return s.get(Store, store_id).name


def _day(name: str, default: dt.date) -> dt.date:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"invalid {name}", {name: "a date, YYYY-MM-DD"}) from None


@bp.get("/me/notifications")
@staff_required()
def my_notifications():
    """The staff member's own notification choices (WeCom app messages, browser, quiet time)."""
    return jsonify({"notifications": preferences.preferences(db.session(), current_staff().id)})


@bp.put("/me/notifications")
@staff_required()
def change_my_notifications():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid("invalid JSON body", {"body": "a JSON object is required"})
    with db.transaction() as s:
        saved = preferences.save(s, current_staff().id, data)
    return jsonify({"notifications": saved})


@bp.get("/reception/figures")
@staff_required()
def figures():
    """Waiting now, first-response time and reply rate per day, store and clerk (scoped)."""
    today = clock.now().astimezone(brand_timezone()).date()
    last = _day("to", today)
    first = _day("from", last - dt.timedelta(days=13))
    if first > last or (last - first).days >= MAX_DAYS:
        raise Invalid("invalid range", {"from": f"on or before 'to', at most {MAX_DAYS} days"})
    return jsonify(service_figures(db.session(), current_staff(), first, last))

