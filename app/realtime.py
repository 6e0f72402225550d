"""Realtime events to consoles over Socket.IO, namespace ``/console``.

Every event is first written to ``console_events`` in the same transaction as the change it
reports, and emitted only after that transaction commits. Its row id is the event id the console
remembers; on reconnect it asks for everything after it (``replay``), so nothing is lost.
Rooms: ``clerk:<id>`` for one clerk's devices, ``store:<id>`` for a store, ``hq``.
"""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask_socketio import SocketIO
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import after_commit
from models import ConsoleEvent

NAMESPACE = "/console"

MESSAGE_CREATED = "message.created"
MESSAGE_STATUS = "message.status"
TASK_ASSIGNED = "task.assigned"
COMMISSION_EARNED = "commission.earned"
TODAY_UPDATED = "today.updated"
EVENTS = (MESSAGE_CREATED, MESSAGE_STATUS, TASK_ASSIGNED, COMMISSION_EARNED, TODAY_UPDATED)

socketio = SocketIO()


def init_app(app: Flask) -> None:
    socketio.init_app(
        app,
        async_mode="threading",
        message_queue=app.config.get("REDIS_URL"),
        manage_session=False,  # use Flask's signed cookie session, so login carries over
        cors_allowed_origins=[],
        ping_interval=20,
    )


def clerk_room(clerk_id: int) -> str:
    return f"clerk:{clerk_id}"


def store_room(store_id: int) -> str:
    return f"store:{store_id}"


def publish(session: Session, room: str, name: str, payload: dict[str, Any]) -> ConsoleEvent:
    """Record an event for ``room`` and emit it once the session's transaction commits."""
    if name not in EVENTS:
        raise ValueError(f"unknown event {name!r}")
    event = ConsoleEvent(room=room, name=name, payload=payload)
    session.add(event)
    session.flush()
    envelope = {"event_id": event.id, **payload}
    after_commit(session, lambda: socketio.emit(name, envelope, to=room, namespace=NAMESPACE))
    return event


def replay(session: Session, rooms: list[str], after_id: int, limit: int = 500) -> list[dict[str, Any]]:
    """Events in ``rooms`` newer than ``after_id``, oldest first, as the client received them."""
    rows = session.scalars(
        select(ConsoleEvent).where(ConsoleEvent.room.in_(rooms), ConsoleEvent.id > after_id)
        .order_by(ConsoleEvent.id).limit(limit)
    )
    return [{"name": r.name, "data": {"event_id": r.id, **r.payload}} for r in rows]
