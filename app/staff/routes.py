"""``/api/v1/staff``: list and create staff, deactivate, hand followers over; channel accounts.

Head office manages everyone; a store manager manages the clerks of their own store.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import func, select

from app import audit, db, realtime
from app.auth import current_staff, staff_required
from app.db import after_commit
from app.errors import Forbidden, Invalid, NotFound
from app.params import is_id
from app.staff.actions import create_staff, deactivate_staff, hand_over_followers
from models import ChannelAccount, FollowerBinding, Role, Staff, Store

bp = Blueprint("staff", __name__, url_prefix="/api/v1")
SESSION_ENDED = "session.ended"  # tells a deactivated clerk's open consoles to log out


def staff_json(s: Staff, followers: int) -> dict:
    return {"id": s.id, "username": s.username, "display_name": s.display_name, "role": s.role.value,
            "store_id": s.store_id, "external_id": s.external_id, "active": s.active,
            "left_at": s.left_at.isoformat() if s.left_at else None, "followers": followers}


def _managed(actor: Staff, staff: Staff | None) -> Staff:
    """The staff member if the actor manages them, else 404 (as if they did not exist)."""
    if staff is None or (actor.role == Role.manager and staff.store_id != actor.store_id):
        raise NotFound("staff not found", {"staff_id": "no such staff member"})
    return staff


@bp.get("/staff")
@staff_required(Role.hq, Role.manager)
def list_staff():
    actor = current_staff()
    s = db.session()
    query = select(Staff).order_by(Staff.store_id, Staff.role, Staff.id)
    stores = select(Store).order_by(Store.name)
    if actor.role == Role.manager:
        query = query.where(Staff.store_id == actor.store_id)
        stores = stores.where(Store.id == actor.store_id)
    rows = list(s.scalars(query))
    counts = dict(s.execute(select(FollowerBinding.clerk_id, func.count()).where(
        FollowerBinding.ended_at.is_(None), FollowerBinding.clerk_id.in_([r.id for r in rows]))
        .group_by(FollowerBinding.clerk_id)).all()) if rows else {}
    return jsonify({"staff": [staff_json(r, counts.get(r.id, 0)) for r in rows],
                    "stores": [{"id": st.id, "name": st.name, "city": st.city} for st in s.scalars(stores)]})


@bp.post("/staff")
@staff_required(Role.hq, Role.manager)
def add_staff():
    actor = current_staff()
    data = request.get_json(silent=True) or {}
    fields: dict[str, str] = {}
    username = str(data.get("username") or "").strip()
    display_name = str(data.get("display_name") or "").strip()
    password = str(data.get("password") or "")
    role = data.get("role", "clerk")
    store_id = data.get("store_id")
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").isalnum():
        fields["username"] = "1–64 letters, digits, '_' or '.'"
    if not display_name or len(display_name) > 60:
        fields["display_name"] = "required, at most 60 characters"
    if len(password) < 8:
        fields["password"] = "at least 8 characters"
    if role not in {r.value for r in Role}:
        fields["role"] = "one of clerk, manager, hq"
    if store_id is not None and not is_id(store_id):
        fields["store_id"] = "a store id"
    if actor.role == Role.manager:
        if role != Role.clerk.value:
            fields["role"] = "a store manager adds clerks only"
        store_id = actor.store_id
    if fields:
        raise Invalid("invalid staff member", fields)
    with db.transaction() as s:
        staff = create_staff(s, username=username, display_name=display_name, password=password,
                             role=Role(role), store_id=store_id, external_id=data.get("external_id") or None)
        audit.record(s, "staff_added", actor, subject=("staff", staff.id), store_id=staff.store_id,
                     username=staff.username, role=staff.role.value)
        body = staff_json(staff, 0)
    return jsonify({"staff": body}), 201


def _target_clerk(data: dict) -> int:
    to = data.get("to_clerk_id")
    if not is_id(to):
        raise Invalid("invalid handover", {"to_clerk_id": "required, a clerk id"})
    return to


@bp.post("/staff/<int:staff_id>/handover")
@staff_required(Role.hq, Role.manager)
def handover(staff_id: int):
    """Move a clerk's followers to another clerk (the leaving clerk stays active)."""
    actor = current_staff()
    data = request.get_json(silent=True) or {}
    to = _target_clerk(data)
    s = db.session()
    _managed(actor, s.get(Staff, staff_id))
    _managed(actor, s.get(Staff, to))
    with db.transaction() as tx:
        result = hand_over_followers(tx, staff_id, to)
        audit.record(tx, "followers_handed_over", actor, subject=("staff", staff_id),
                     store_id=tx.get(Staff, staff_id).store_id, to=audit.staff_name(tx.get(Staff, to)), moved=result.moved)
    return jsonify({"from_clerk_id": result.from_clerk_id, "to_clerk_id": result.to_clerk_id,
                    "moved": result.moved, "owners": result.owners})


@bp.post("/staff/<int:staff_id>/deactivate")
@staff_required(Role.hq, Role.manager)
def deactivate(staff_id: int):
    """Deactivate, optionally handing the followers over in the same transaction."""
    actor = current_staff()
    if staff_id == actor.id:
        raise Forbidden("you cannot deactivate yourself", {"staff_id": "is you"})
    data = request.get_json(silent=True) or {}
    s = db.session()
    _managed(actor, s.get(Staff, staff_id))
    to = None
    if data.get("handover_to") is not None:
        to = data["handover_to"]
        if not is_id(to):
            raise Invalid("invalid handover", {"handover_to": "a clerk id"})
        _managed(actor, s.get(Staff, to))
    with db.transaction() as tx:
        moved = hand_over_followers(tx, staff_id, to).moved if to is not None else 0
        staff = deactivate_staff(tx, staff_id)
        audit.record(tx, "staff_deactivated", actor, subject=("staff", staff_id), store_id=staff.store_id,
                     username=staff.username, to=audit.staff_name(tx.get(Staff, to)) if to is not None else None, moved=moved)
        body = staff_json(staff, 0)
        after_commit(tx, lambda: realtime.socketio.emit(
            SESSION_ENDED, {}, to=realtime.clerk_room(staff_id), namespace=realtime.NAMESPACE))
    return jsonify({"staff": body, "moved": moved})


@bp.get("/channel-accounts")
@staff_required(Role.hq)
def channel_accounts():
    """Configured channel accounts, without their settings (secrets stay on the server)."""
    rows = db.session().scalars(select(ChannelAccount).order_by(ChannelAccount.kind, ChannelAccount.name))
    followers = dict(db.session().execute(select(FollowerBinding.channel, func.count()).where(
        FollowerBinding.ended_at.is_(None)).group_by(FollowerBinding.channel)).all())
    return jsonify({"channel_accounts": [
        {"id": r.id, "kind": r.kind, "name": r.name, "enabled": r.enabled, "created_at": r.created_at.isoformat()}
        for r in rows], "followers_by_channel": followers})
