"""Realtime events to consoles over Socket.IO, namespace ``/console``.

Every event is first written to ``console_events`` in the same transaction as the change it
reports, and emitted only after that transaction commits. Its row id is the event id the console
remembers; on reconnect it asks for everything after it (``replay``), so nothing is lost.
Rooms: ``clerk:<id>`` for one clerk's devices, ``store:<id>`` for a store, ``hq``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

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
CONVERSATION_CLAIMED = "conversation.claimed"      # a pooled thread was taken (or handed over)
CONVERSATION_ESCALATED = "conversation.escalated"  # a customer has waited past the brand's threshold
CONVERSATION_POOLED = "conversation.pooled"        # a thread was put into a pool (a transfer to a store)
LINK_ACTIVITY = "link.activity"                    # a customer opened their personal page, clicked, asked
EVENTS = (MESSAGE_CREATED, MESSAGE_STATUS, TASK_ASSIGNED, COMMISSION_EARNED, TODAY_UPDATED,
          CONVERSATION_CLAIMED, CONVERSATION_ESCALATED, CONVERSATION_POOLED, LINK_ACTIVITY)

socketio = SocketIO()


def init_app(app: Flask) -> None:
    socketio.init_app(
        app,
        async_mode="threading",
        message_queue=app.config.get("REDIS_URL"),
        manage_session=False,  # use Flask's signed cookie session, so login carries over
        # The socket carries the staff cookie: a page on any other origin must not open it.
        cors_allowed_origins=origin_check(app.config.get("SOCKETIO_ALLOWED_ORIGINS") or ()),
        ping_interval=20,
    )


_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _origin_key(origin: str) -> tuple[str, str, int | None] | None:
    """``scheme://host[:port]`` as (scheme, host, port) with the default port filled in."""
    try:
        parts = urlsplit(origin.strip().rstrip("/"))
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS.get(scheme)


def _own_origins(environ: dict[str, Any]) -> set[tuple[str, str, int | None] | None]:
    """The origin the request was addressed to, as the server and as a reverse proxy saw it.

    Trusting X-Forwarded-* here opens nothing: a browser never lets a page set them on a
    WebSocket handshake, and a cross-origin XHR that sets them is preflighted with its Origin."""
    host = environ.get("HTTP_HOST")
    if not host:
        return set()
    scheme = environ.get("wsgi.url_scheme", "http")
    own = {_origin_key(f"{scheme}://{host}")}
    if "HTTP_X_FORWARDED_PROTO" in environ or "HTTP_X_FORWARDED_HOST" in environ:
        proxied_scheme = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
        proxied_host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
        own.add(_origin_key(f"{proxied_scheme}://{proxied_host}"))
    own.discard(None)
    return own


def origin_check(allowed: Iterable[str]) -> Callable[[str | None, dict[str, Any]], bool]:
    """Engine.IO's Origin test: the server's own origin, or one listed in ``SOCKETIO_ALLOWED_ORIGINS``."""
    listed = {_origin_key(o) for o in allowed} - {None}

    def is_allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        key = _origin_key(origin) if origin else None
        return key is not None and (key in listed or key in _own_origins(environ))

    return is_allowed


def clerk_room(clerk_id: int) -> str:
    return f"clerk:{clerk_id}"


def store_room(store_id: int) -> str:
    return f"store:{store_id}"


def pool_room(store_id: int) -> str:
    """Everyone who may claim a conversation from the store's pool (its clerks and manager)."""
    return f"pool:{store_id}"


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
