"""Socket.IO handlers of namespace ``/console``: who may connect, which rooms, and resume.

A connection is accepted only with a logged-in staff session (the same signed cookie as the
HTTP API). The server alone decides the rooms: a clerk joins ``clerk:<id>`` and their store's
pool ``pool:<store id>``, a manager ``store:<id>`` and the pool too, head office ``hq`` (which
hears every pool); no handler lets a client name a room. On every (re)connect the
console sends ``resume`` with the last event id it applied and gets everything after it.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask_socketio import disconnect, join_room
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import db, realtime
from app.auth import current_staff
from app.params import MAX_ID
from models import ConsoleEvent, Role, Staff

REPLAY_PAGE = 500
# Event ids come from a sequence taken at flush time, but transactions commit in any order: an
# event numbered 10 may be emitted after event 11. A resume therefore also re-reads the events
# created shortly before the last one the client saw; the client drops ids it already applied.
REORDER_WINDOW = dt.timedelta(seconds=10)


def rooms_for(staff: Staff) -> list[str]:
    pool = [realtime.pool_room(staff.store_id)] if staff.store_id is not None else []
    if staff.role == Role.clerk:
        return [realtime.clerk_room(staff.id), *pool]
    if staff.role == Role.manager and staff.store_id is not None:
        return [realtime.store_room(staff.store_id), realtime.clerk_room(staff.id), *pool]
    if staff.role == Role.hq:
        return ["hq", realtime.clerk_room(staff.id)]
    return [realtime.clerk_room(staff.id)]


def latest_event_id(session: Session) -> int:
    return session.scalar(select(func.max(ConsoleEvent.id))) or 0


def events_after(session: Session, rooms: list[str], after: int, *, exact: bool = False,
                 limit: int = REPLAY_PAGE) -> dict[str, Any]:
    """The events of ``rooms`` the client may have missed after ``after``, one page."""
    floor = after
    if after > 0 and not exact:
        seen_at = session.scalar(select(ConsoleEvent.created_at).where(ConsoleEvent.id == after))
        if seen_at is not None:
            earliest = session.scalar(select(func.min(ConsoleEvent.id)).where(
                ConsoleEvent.room.in_(rooms), ConsoleEvent.id <= after,
                ConsoleEvent.created_at >= seen_at - REORDER_WINDOW))
            if earliest is not None:
                floor = earliest - 1
    events = realtime.replay(session, rooms, floor, limit=limit + 1)
    more = len(events) > limit
    events = events[:limit]
    cursor = events[-1]["data"]["event_id"] if events else max(after, floor)
    return {"events": events, "cursor": cursor, "more": more,
            "last_event_id": max(cursor, after)}


def parse_after(value: Any) -> int | None:
    """An event id cursor (0..2**63-1), or None when it is not one."""
    try:
        after = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        return None
    return after if 0 <= after <= MAX_ID else None


def on_connect(auth: Any = None) -> None:
    staff = current_staff()
    if staff is None:
        raise ConnectionRefusedError("login required")
    for room in rooms_for(staff):
        join_room(room)


def on_resume(data: Any = None) -> dict[str, Any]:
    staff = current_staff()
    if staff is None:  # the session expired or the clerk was deactivated since connecting
        disconnect()
        return {"error": "login required"}
    data = data if isinstance(data, dict) else {}
    after = parse_after(data.get("after", 0))
    if after is None:
        return {"error": "invalid", "fields": {"after": "a non-negative event id"}}
    session = db.session()
    try:
        return events_after(session, rooms_for(staff), after, exact=bool(data.get("exact")))
    finally:
        session.close()


def register_handlers() -> None:
    """Attach the handlers to the current Socket.IO server (each ``create_app`` makes a new one)."""
    realtime.socketio.on_event("connect", on_connect, namespace=realtime.NAMESPACE)
    realtime.socketio.on_event("resume", on_resume, namespace=realtime.NAMESPACE)
