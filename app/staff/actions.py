"""Staff actions, each in the caller's transaction.

``hand_over_followers`` is the handover every clienteling product has (离职继承): when a clerk
leaves, their followers move to another clerk. The old bindings end with reason ``handover`` and
the new clerk gets the same bindings, ownership included, in one transaction and set-based: a
fixed number of statements whatever the number of followers.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app import hooks
from app.db import chunks
from app.errors import Conflict, Invalid, NotFound
from models import FollowerBinding, Role, Staff, Store, utcnow

HANDOVER = "handover"


@dataclass(frozen=True)
class Handover:
    from_clerk_id: int
    to_clerk_id: int
    moved: int        # customers now followed by the new clerk through the handover
    owners: int       # of which the new clerk became the owner
    customer_ids: list[int]


def create_staff(session: Session, *, username: str, display_name: str, password: str,
                 role: Role = Role.clerk, store_id: int | None = None,
                 external_id: str | None = None) -> Staff:
    """Add a staff member; usernames are unique."""
    fields: dict[str, str] = {}
    if session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        fields["username"] = "already taken"
    if external_id and session.scalar(select(Staff.id).where(Staff.external_id == external_id)) is not None:
        fields["external_id"] = "already taken"
    if store_id is not None and session.get(Store, store_id) is None:
        fields["store_id"] = "no such store"
    if role in (Role.clerk, Role.manager) and store_id is None:
        fields["store_id"] = "required for clerks and managers"
    if fields:
        raise Invalid("invalid staff member", fields)
    # Whoever created the account chose its password: the new staff member sets their own.
    staff = Staff(username=username, display_name=display_name, role=role, store_id=store_id,
                  external_id=external_id, password_hash=generate_password_hash(password),
                  must_change_password=True)
    session.add(staff)
    session.flush()
    return staff


def deactivate_staff(session: Session, staff_id: int, *, when: dt.datetime | None = None) -> Staff:
    """The staff member can no longer log in (their open sessions stop working at once)."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("staff not found", {"staff_id": "no such staff member"})
    if staff.active:
        staff.active = False
        staff.left_at = when or utcnow()
    session.flush()
    return staff


def hand_over_followers(session: Session, from_clerk_id: int, to_clerk_id: int, *,
                        when: dt.datetime | None = None) -> Handover:
    """Move every active follower of one clerk to another (see the module docstring)."""
    if from_clerk_id == to_clerk_id:
        raise Invalid("cannot hand over to the same clerk", {"to_clerk_id": "must differ from the leaving clerk"})
    leaving, taking = session.get(Staff, from_clerk_id), session.get(Staff, to_clerk_id)
    if leaving is None or leaving.role != Role.clerk:
        raise NotFound("clerk not found", {"from_clerk_id": "no such clerk"})
    if taking is None or taking.role != Role.clerk:
        raise NotFound("clerk not found", {"to_clerk_id": "no such clerk"})
    if not taking.active:
        raise Conflict("the receiving clerk is inactive", {"to_clerk_id": "inactive"})
    now = when or utcnow()

    moving = session.execute(select(FollowerBinding.customer_id, FollowerBinding.channel, FollowerBinding.is_owner)
                             .where(FollowerBinding.clerk_id == from_clerk_id, FollowerBinding.ended_at.is_(None))
                             ).all()
    if not moving:
        return Handover(from_clerk_id, to_clerk_id, 0, 0, [])
    # Per customer: which channel to bind on and whether the leaving clerk owned them.
    wanted: dict[int, tuple[str, bool]] = {}
    for customer_id, channel, is_owner in moving:
        previous = wanted.get(customer_id)
        if previous is None or (is_owner and not previous[1]):
            wanted[customer_id] = (channel, is_owner or (previous[1] if previous else False))
    customer_ids = sorted(wanted)

    # End the leaving clerk's bindings first: the new owner binding must not meet the old one
    # in the one-active-owner-per-customer index.
    session.execute(update(FollowerBinding).where(
        FollowerBinding.clerk_id == from_clerk_id, FollowerBinding.ended_at.is_(None))
        .values(ended_at=now, end_reason=HANDOVER))

    existing = []
    for chunk in chunks(customer_ids):
        existing += session.execute(select(FollowerBinding.id, FollowerBinding.customer_id, FollowerBinding.channel,
                                           FollowerBinding.ended_at)
                                    .where(FollowerBinding.clerk_id == to_clerk_id,
                                           FollowerBinding.customer_id.in_(chunk))).all()
    active_by_customer: dict[int, int] = {}
    row_by_key: dict[tuple[int, str], int] = {}
    for row_id, customer_id, channel, ended_at in existing:
        row_by_key[(customer_id, channel)] = row_id
        if ended_at is None:
            active_by_customer.setdefault(customer_id, row_id)

    promote: list[int] = []        # already following the new clerk: becomes owner
    revive: dict[bool, list[int]] = {True: [], False: []}  # an old ended binding comes back
    fresh: list[dict] = []
    for customer_id in customer_ids:
        channel, owner = wanted[customer_id]
        if customer_id in active_by_customer:
            if owner:
                promote.append(active_by_customer[customer_id])
        elif (customer_id, channel) in row_by_key:
            revive[owner].append(row_by_key[(customer_id, channel)])
        else:
            fresh.append({"customer_id": customer_id, "clerk_id": to_clerk_id, "channel": channel,
                          "is_owner": owner, "since": now})
    for chunk in chunks(promote):
        session.execute(update(FollowerBinding).where(FollowerBinding.id.in_(chunk)).values(is_owner=True))
    for owner, ids in revive.items():
        for chunk in chunks(ids):
            session.execute(update(FollowerBinding).where(FollowerBinding.id.in_(chunk))
                            .values(ended_at=None, end_reason=None, since=now, is_owner=owner))
    if fresh:
        session.execute(insert(FollowerBinding), fresh)
    session.flush()
    owners = sum(1 for _channel, owner in wanted.values() if owner)
    for customer_id in customer_ids:
        hooks.fire(session, hooks.FOLLOWER_CHANGED, customer_id=customer_id, clerk_id=to_clerk_id)
    return Handover(from_clerk_id, to_clerk_id, len(customer_ids), owners, customer_ids)

