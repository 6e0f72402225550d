"""Console HTTP API: conversations and messages, the event cursor, quick replies.

Conversations are scoped like customers: a clerk sees their own threads with their current
followers; a manager the threads of their store's clerks; head office all. Anything outside the
scope answers 404, exactly like something that does not exist.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import Select, and_, delete, func, or_, select, update

from app import db, realtime
from app.auth import current_staff, staff_required
from app.console import serialize
from app.console.events import events_after, latest_event_id, parse_after, rooms_for
from app.db import after_commit
from app.i18n import t
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.contact.service import clerk_send_timing
from app.messaging.actions import conversation_for, send_message
from app.messaging.deferred import cancel_scheduled
from app.params import is_id, query_id, query_int
from app.reception.pools import pool_counts
from app.urls import web_url_problem
from app.scoping import get_visible_customer, where_visible
from models import Conversation, Customer, Message, QuickReply, Role, Staff, utcnow

bp = Blueprint("console", __name__, url_prefix="/api/v1")

PAGE_DEFAULT = 30
PAGE_MAX = 100
QUICK_REPLY_MAX_CHARS = 500
QUICK_REPLIES_PER_CLERK = 100
MESSAGE_TYPES = ("text", "image", "product")
CONVERSATION_READ = "conversation.read"  # not replayed: a reconnecting console refetches counts


def visible_conversations(staff: Staff) -> Select[tuple[Conversation]]:
    """Conversations the staff member may read: a clerk their own (with current followers) and
    their store's pool; a manager their store's clerks' and pool; head office all."""
    if staff.role == Role.hq:
        return select(Conversation)
    pool = and_(Conversation.clerk_id.is_(None), Conversation.store_id == staff.store_id)
    if staff.role == Role.clerk:
        own = and_(Conversation.clerk_id == staff.id, where_visible(staff, Conversation.customer_id))
    else:
        own = and_(Conversation.clerk_id.in_(select(Staff.id).where(Staff.store_id == staff.store_id)),
                   where_visible(staff, Conversation.customer_id))
    return select(Conversation).where(or_(own, pool) if staff.store_id is not None else own)


def get_visible_conversation(staff: Staff, conversation_id: int) -> Conversation:
    conv = db.session().scalar(visible_conversations(staff).where(Conversation.id == conversation_id))
    if conv is None:
        raise NotFound("conversation not found", {"conversation_id": "no such conversation"})
    return conv


# The event cursor and replay over HTTP (the socket's ``resume`` does the same) -----------------

@bp.get("/events")
@staff_required()
def events():
    after = request.args.get("after")
    s = db.session()
    if after is None:
        return jsonify({"events": [], "cursor": latest_event_id(s), "more": False,
                        "last_event_id": latest_event_id(s)})
    parsed = parse_after(after)
    if parsed is None:
        raise Invalid("invalid after", {"after": "a non-negative event id"})
    exact = request.args.get("exact") == "1"
    return jsonify(events_after(s, rooms_for(current_staff()), parsed, exact=exact))


# Conversations ----------------------------------------------------------------------------------

@bp.get("/conversations")
@staff_required()
def list_conversations():
    staff = current_staff()
    limit = query_int("limit", PAGE_DEFAULT, low=1, high=PAGE_MAX)
    offset = query_int("offset", 0)
    query = visible_conversations(staff)
    customer_id = query_id("customer_id")
    if customer_id is not None:
        query = query.where(Conversation.customer_id == customer_id)
    q = (request.args.get("q") or "").strip()
    if q:
        query = query.where(Conversation.customer_id.in_(
            select(Customer.id).where(or_(Customer.name.contains(q, autoescape=True),
                                          Customer.phone.endswith(q, autoescape=True)))))
    if request.args.get("unread") == "1":
        query = query.where(Conversation.unread_count > 0)
    # The pool (待接待) is its own list: ``pool=1`` shows only it, otherwise it stays out.
    pooled = request.args.get("pool") == "1"
    query = query.where(Conversation.clerk_id.is_(None) if pooled else Conversation.clerk_id.is_not(None))
    waited = query_int("waiting_minutes", 0)
    if waited:
        query = query.where(Conversation.waiting_since <= utcnow() - dt.timedelta(minutes=waited))
    s = db.session()
    # Threads waiting for an answer first, then newest; threads never written in (opened from a
    # profile) sort by creation.
    last = func.coalesce(Conversation.last_message_at, Conversation.created_at)
    rows = list(s.scalars(query.order_by((Conversation.unread_count > 0).desc(), last.desc(), Conversation.id.desc())
                          .offset(offset).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    customers = serialize.customers_by_id(s, [c.customer_id for c in rows])
    unread_total = pool_waiting = None
    if offset == 0:
        scoped = visible_conversations(staff).where(Conversation.clerk_id.is_not(None)).subquery()
        unread_total = s.scalar(select(func.coalesce(func.sum(scoped.c.unread_count), 0)))
        pool_waiting = pool_counts(s, staff)
    stores = serialize.store_names(s, rows)
    return jsonify({"conversations": [serialize.conversation_json(c, customers.get(c.customer_id), stores) for c in rows],
                    "more": more, "next_offset": offset + len(rows) if more else None,
                    "unread_total": unread_total, "pool_waiting": pool_waiting})


@bp.post("/conversations")
@staff_required(Role.clerk)
def open_conversation():
    """The clerk's thread with one of their followers, created on first use (ctx.openChat)."""
    data = request.get_json(silent=True) or {}
    customer_id = data.get("customer_id")
    if not is_id(customer_id):
        raise Invalid("invalid customer", {"customer_id": "required, an integer"})
    staff = current_staff()
    get_visible_customer(db.session(), staff, customer_id)
    with db.transaction() as s:
        existed = s.scalar(select(Conversation.id).where(
            Conversation.customer_id == customer_id, Conversation.clerk_id == staff.id)) is not None
        conv = conversation_for(s, customer_id, staff.id)
        customers = serialize.customers_by_id(s, [customer_id])
        body = serialize.conversation_json(conv, customers.get(customer_id))
    return jsonify({"conversation": body}), 200 if existed else 201


@bp.get("/conversations/<int:conversation_id>")
@staff_required()
def show_conversation(conversation_id: int):
    conv = get_visible_conversation(current_staff(), conversation_id)
    return jsonify({"conversation": conversation_with_hold(conv)})


def conversation_with_hold(conv: Conversation) -> dict[str, Any]:
    """The conversation, and whether a message the clerk writes now would wait for quiet hours
    to end (``send_hold``), so the composer says so before they send."""
    customers = serialize.customers_by_id(db.session(), [conv.customer_id])
    body = serialize.conversation_json(conv, customers.get(conv.customer_id))
    try:
        timing = clerk_send_timing(db.session(), conv.customer_id, conv.last_inbound_at, utcnow())
        body["send_hold"] = ({"until": timing.until.isoformat(), "label": timing.label,
                              "notice": t("messages.send_hold", time=timing.label)} if timing.until else None)
    except Invalid as exc:  # head office chose "skip": the clerk cannot start a chat now
        body["send_hold"] = {"until": None, "label": None, "notice": exc.fields.get("body")}
    return body


@bp.post("/messages/<int:message_id>/cancel")
@staff_required()
def cancel_message(message_id: int):
    """Call off a message still waiting for quiet hours to end."""
    staff = current_staff()
    with db.transaction() as s:
        msg = cancel_scheduled(s, staff, message_id)
        body = serialize.message_json(msg)
    return jsonify({"message": body})


@bp.get("/conversations/<int:conversation_id>/messages")
@staff_required()
def list_messages(conversation_id: int):
    """A page of messages, oldest first, before ``before_id``; reading marks the thread read."""
    staff = current_staff()
    conv = get_visible_conversation(staff, conversation_id)
    limit = query_int("limit", PAGE_DEFAULT, low=1, high=PAGE_MAX)
    before_id = query_id("before_id")
    query = select(Message).where(Message.conversation_id == conv.id)
    if before_id is not None:
        query = query.where(Message.id < before_id)
    rows = list(db.session().scalars(query.order_by(Message.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = list(reversed(rows[:limit]))
    if conv.clerk_id == staff.id and conv.unread_count:
        mark_read(conv.id, staff.id)
        conv.unread_count = 0
    return jsonify({"conversation": conversation_with_hold(conv),
                    "messages": [serialize.message_json(m) for m in rows], "more": more})


def mark_read(conversation_id: int, clerk_id: int) -> None:
    """Zero the unread count and tell the clerk's other tabs, after the commit."""
    with db.transaction() as s:
        s.execute(update(Conversation).where(Conversation.id == conversation_id).values(unread_count=0))
        after_commit(s, lambda: realtime.socketio.emit(
            CONVERSATION_READ, {"conversation_id": conversation_id}, to=realtime.clerk_room(clerk_id),
            namespace=realtime.NAMESPACE))


@bp.post("/conversations/<int:conversation_id>/messages")
@staff_required()
def post_message(conversation_id: int):
    """Send in the thread; the same ``client_id`` twice sends once (a retry after a dropped link)."""
    staff = current_staff()
    conv = get_visible_conversation(staff, conversation_id)
    if conv.clerk_id is None:
        raise Forbidden("claim the conversation before answering", {"conversation_id": "请先接待这位客户，再回复"})
    if conv.clerk_id != staff.id:
        raise Forbidden("only the clerk of this conversation can send in it",
                        {"conversation_id": "belongs to another clerk"})
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid("invalid JSON body", {"body": "a JSON object is required"})
    fields = validate_outgoing(data)
    if fields:
        raise Invalid("invalid message", fields)
    with db.transaction() as s:
        timing = clerk_send_timing(s, conv.customer_id, conv.last_inbound_at, utcnow())
        msg, created = send_message(
            s, clerk_id=staff.id, customer_id=conv.customer_id, body=str(data.get("body") or ""),
            client_id=data.get("client_id"), channel=data.get("channel"),
            type=data.get("type", "text"), payload=outgoing_payload(data),
            purpose=timing.purpose, defer_until=timing.until, source="clerk")
        if msg.conversation_id != conv.id:  # client ids are global: never answer with another thread's message
            raise Conflict("client_id already used", {"client_id": "already used for another message"})
        body = serialize.message_json(msg)
    return jsonify({"message": body}), 201 if created else 200


def validate_outgoing(data: dict[str, Any]) -> dict[str, str]:
    fields: dict[str, str] = {}
    client_id = data.get("client_id")
    if client_id is not None and (not isinstance(client_id, str) or not 8 <= len(client_id) <= 64):
        fields["client_id"] = "a string of 8 to 64 characters"
    type_ = data.get("type", "text")
    if type_ not in MESSAGE_TYPES:
        fields["type"] = f"one of {', '.join(MESSAGE_TYPES)}"
    if not isinstance(data.get("body", ""), str):
        fields["body"] = "must be text"
    payload = data.get("payload")
    if payload is not None and not isinstance(payload, dict):
        fields["payload"] = "must be an object"
    if type_ == "image":
        url = (payload or {}).get("url")
        if not isinstance(url, str) or not url.startswith("/uploads/"):
            fields["payload.url"] = "an image uploaded through /api/v1/uploads"
    if type_ == "product":
        for key in ("sku", "name"):
            if not isinstance((payload or {}).get(key), str) or not (payload or {}).get(key):
                fields[f"payload.{key}"] = "required"
        for key in ("url", "image_url"):  # a product card's links: web addresses only, never script
            value = (payload or {}).get(key)
            problem = web_url_problem(value, site_path=key == "image_url") if value is not None else None
            if problem:
                fields[f"payload.{key}"] = problem
    if data.get("channel") is not None and not isinstance(data.get("channel"), str):
        fields["channel"] = "must be a channel name"
    return fields


def outgoing_payload(data: dict[str, Any]) -> dict[str, Any] | None:
    """Keep only the payload keys each message type uses (nothing else reaches a channel)."""
    payload = data.get("payload") or {}
    if data.get("type") == "image":
        return {"url": payload["url"]}
    if data.get("type") == "product":
        keep = ("sku", "name", "price", "image_url", "url")
        return {k: str(payload[k]) for k in keep if payload.get(k) is not None}
    return None


# Quick replies (快捷回复) -----------------------------------------------------------------------

@bp.get("/quick-replies")
@staff_required()
def list_quick_replies():
    staff = current_staff()
    rows = db.session().scalars(select(QuickReply).where(
        or_(QuickReply.owner_id.is_(None), QuickReply.owner_id == staff.id))
        .order_by(QuickReply.owner_id.is_(None).desc(), QuickReply.id))
    return jsonify({"quick_replies": [serialize.quick_reply_json(r) for r in rows]})


@bp.post("/quick-replies")
@staff_required()
def create_quick_reply():
    """A clerk keeps their own; head office's (``shared``) are offered to every clerk."""
    staff = current_staff()
    data = request.get_json(silent=True) or {}
    text = data.get("text")
    shared = bool(data.get("shared"))
    fields: dict[str, str] = {}
    if not isinstance(text, str) or not text.strip():
        fields["text"] = "required"
    elif len(text.strip()) > QUICK_REPLY_MAX_CHARS:
        fields["text"] = f"longer than {QUICK_REPLY_MAX_CHARS} characters"
    if shared and staff.role != Role.hq:
        fields["shared"] = "only head office keeps shared quick replies"
    if fields:
        raise Invalid("invalid quick reply", fields)
    owner_id = None if shared else staff.id
    with db.transaction() as s:
        if owner_id is not None and (s.scalar(select(func.count()).where(QuickReply.owner_id == owner_id))
                                     or 0) >= QUICK_REPLIES_PER_CLERK:
            raise Invalid("too many quick replies", {"text": f"at most {QUICK_REPLIES_PER_CLERK}; delete one first"})
        row = QuickReply(owner_id=owner_id, text=text.strip(), created_by=staff.id)
        s.add(row)
        s.flush()
        body = serialize.quick_reply_json(row)
    return jsonify({"quick_reply": body}), 201


@bp.delete("/quick-replies/<int:reply_id>")
@staff_required()
def delete_quick_reply(reply_id: int):
    staff = current_staff()
    mine = QuickReply.owner_id == staff.id
    allowed = or_(mine, QuickReply.owner_id.is_(None)) if staff.role == Role.hq else mine
    with db.transaction() as s:
        deleted = s.execute(delete(QuickReply).where(and_(QuickReply.id == reply_id, allowed))).rowcount
    if not deleted:
        raise NotFound("quick reply not found", {"reply_id": "no such quick reply of yours"})
    return jsonify({"deleted": reply_id})
