"""Claiming and handing over conversations: the pool's one writer.

A claim is one conditional UPDATE (``… WHERE clerk_id IS NULL``): two clerks claiming at the
same instant both run it, the database lets exactly one change the row, and the other is told
who has it. A transfer moves a thread to another clerk or into a store's pool, with a note the
thread keeps. When the customer had no owning clerk, the one who takes the thread becomes their
owner (brand setting ``reception.claim_binds``, on by default), so their next message finds them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app import realtime
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.followers.bindings import bind, release
from models import (Conversation, Direction, Message, MessageStatus, Role, ServiceWait, Setting, Staff,
                    Store, utcnow)

NOTE_CHARS = 200


@dataclass(frozen=True)
class ReceptionSettings:
    claim_binds: bool = True
    escalate_minutes: tuple[int, int] = (15, 60)  # manager told, then head office


def reception_settings(s: Session) -> ReceptionSettings:
    row = s.get(Setting, "reception")
    value: dict[str, Any] = row.value if row is not None and isinstance(row.value, dict) else {}
    minutes = value.get("escalate_minutes")
    ok = isinstance(minutes, list) and len(minutes) == 2 and all(isinstance(m, int) and m > 0 for m in minutes)
    return ReceptionSettings(claim_binds=bool(value.get("claim_binds", True)),
                             escalate_minutes=(minutes[0], minutes[1]) if ok else ReceptionSettings.escalate_minutes)


def may_take_from(staff: Staff, conv: Conversation) -> bool:
    """Head office takes from any pool; a store's clerks and manager from their store's (a
    thread keeps its pool's store once claimed, so a late claimer learns who took it)."""
    if staff.role == Role.hq:
        return True
    return conv.store_id is not None and conv.store_id == staff.store_id


def claim(s: Session, staff: Staff, conversation_id: int) -> Conversation:
    """Take a pooled conversation; the clerk's thread with the customer is returned."""
    conv = s.get(Conversation, conversation_id)
    if conv is None or (conv.clerk_id != staff.id and not may_take_from(staff, conv)):
        raise NotFound("conversation not found", {"conversation_id": "no such conversation"})
    if conv.clerk_id == staff.id:
        return conv  # a double tap: already theirs
    if conv.clerk_id is not None:
        raise _taken(s, conv.clerk_id)
    return _hand_over(s, conv, staff.id, taken_by_claim=True)


def _taken(s: Session, clerk_id: int | None) -> Conflict:
    name = s.scalar(select(Staff.display_name).where(Staff.id == clerk_id)) if clerk_id else None
    who = name or "其他同事"
    return Conflict(f"{who} 已接待这位客户", {"conversation_id": f"已被 {who} 接待", "claimed_by": who})


def _hand_over(s: Session, conv: Conversation, clerk_id: int, *, taken_by_claim: bool) -> Conversation:
    """Give the pooled ``conv`` to ``clerk_id`` (first writer wins); merge it into the clerk's own
    thread with the customer when they already have one."""
    now = utcnow()
    pool_store = conv.store_id
    mine = s.scalar(select(Conversation).where(Conversation.customer_id == conv.customer_id,
                                               Conversation.clerk_id == clerk_id))
    if mine is None:
        won = s.execute(update(Conversation).where(Conversation.id == conv.id, Conversation.clerk_id.is_(None))
                        .values(clerk_id=clerk_id, assigned_at=now)).rowcount
        if not won:
            s.expire(conv)
            raise _taken(s, s.scalar(select(Conversation.clerk_id).where(Conversation.id == conv.id)))
        s.refresh(conv)
        target = conv
    else:
        # Lock the pooled row (PostgreSQL row lock; SQLite writes one at a time) before moving it.
        won = s.execute(update(Conversation).where(Conversation.id == conv.id, Conversation.clerk_id.is_(None))
                        .values(assigned_at=now)).rowcount
        if not won:
            raise _taken(s, None)
        target = _merge(s, conv, mine, now)
    s.execute(update(ServiceWait).where(ServiceWait.conversation_id == target.id,
                                        ServiceWait.answered_at.is_(None)).values(clerk_id=clerk_id))
    if target.last_channel:  # the clerk serves them now, so they see them; owner only if nobody is
        bind(s, target.customer_id, clerk_id, target.last_channel, may_own=reception_settings(s).claim_binds)
    s.flush()
    payload = {"conversation_id": target.id, "pooled_conversation_id": conv.id if target is not conv else target.id,
               "customer_id": target.customer_id, "clerk_id": clerk_id, "store_id": pool_store,
               "claimed": taken_by_claim}
    for room in ([realtime.pool_room(pool_store)] if pool_store else []) + ["hq", realtime.clerk_room(clerk_id)]:
        realtime.publish(s, room, realtime.CONVERSATION_CLAIMED, payload)
    return target


def _merge(s: Session, pooled: Conversation, mine: Conversation, now) -> Conversation:
    s.execute(update(Message).where(Message.conversation_id == pooled.id).values(conversation_id=mine.id))
    s.execute(update(ServiceWait).where(ServiceWait.conversation_id == pooled.id).values(conversation_id=mine.id))
    mine.unread_count = (mine.unread_count or 0) + (pooled.unread_count or 0)
    if pooled.last_message_at and (mine.last_message_at is None or pooled.last_message_at > mine.last_message_at):
        mine.last_message_at, mine.last_message_preview = pooled.last_message_at, pooled.last_message_preview
        mine.last_channel = pooled.last_channel or mine.last_channel
    if pooled.last_inbound_at and (mine.last_inbound_at is None or pooled.last_inbound_at > mine.last_inbound_at):
        mine.last_inbound_at = pooled.last_inbound_at
    waits = [w for w in (mine.waiting_since, pooled.waiting_since) if w is not None]
    mine.waiting_since = min(waits) if waits else None
    mine.assigned_at, mine.store_id = now, pooled.store_id or mine.store_id
    s.flush()
    s.execute(delete(Conversation).where(Conversation.id == pooled.id))
    s.expunge(pooled)
    return mine


def transfer(s: Session, staff: Staff, conversation_id: int, *, clerk_id: int | None,
             store_id: int | None, note: str) -> Conversation:
    """Hand a thread to another clerk, or put it into a store's pool, with a note for them."""
    conv = s.get(Conversation, conversation_id)
    if conv is None or not _may_transfer(s, staff, conv):
        raise NotFound("conversation not found", {"conversation_id": "no such conversation"})
    note = (note or "").strip()[:NOTE_CHARS]
    if (clerk_id is None) == (store_id is None):
        raise Invalid("choose a clerk or a store", {"to": "请选择一位导购或一家门店"})
    if clerk_id is not None:
        to = s.get(Staff, clerk_id)
        if to is None or not to.active or to.role not in (Role.clerk, Role.manager):
            raise Invalid("no such clerk", {"clerk_id": "没有这位在职导购"})
        if staff.role != Role.hq and to.store_id != staff.store_id:
            raise Forbidden("another store's clerk", {"clerk_id": "只能转给本店同事；跨店请转到对方门店的待接待"})
        if to.id == conv.clerk_id:
            return conv
    elif s.get(Store, store_id) is None:
        raise Invalid("no such store", {"store_id": "没有这家门店"})
    if conv.clerk_id is not None:  # the customer goes with the thread when its clerk owned them
        release(s, conv.customer_id, conv.clerk_id, "transferred")
    pooled = _into_pool(s, conv, store_id if clerk_id is None else conv.store_id)
    _note(s, pooled, staff, note, clerk_id=clerk_id, store_id=store_id)
    if clerk_id is None:
        payload = {"conversation_id": pooled.id, "customer_id": pooled.customer_id, "store_id": store_id}
        for room in (realtime.pool_room(store_id), "hq"):
            realtime.publish(s, room, realtime.CONVERSATION_POOLED, payload)
        return pooled
    return _hand_over(s, pooled, clerk_id, taken_by_claim=False)


def _may_transfer(s: Session, staff: Staff, conv: Conversation) -> bool:
    if staff.role == Role.hq:
        return True
    if conv.clerk_id is None:
        return may_take_from(staff, conv)
    if conv.clerk_id == staff.id:
        return True
    if staff.role == Role.manager:
        return s.scalar(select(Staff.store_id).where(Staff.id == conv.clerk_id)) == staff.store_id
    return False


def _into_pool(s: Session, conv: Conversation, store_id: int | None) -> Conversation:
    """The thread, taken from its clerk into ``store_id``'s pool (merged with a thread already
    waiting there for the same customer)."""
    if conv.clerk_id is None:
        conv.store_id = store_id
        s.flush()
        return conv
    waiting = s.scalar(select(Conversation).where(Conversation.customer_id == conv.customer_id,
                                                  Conversation.clerk_id.is_(None)))
    old_clerk = conv.clerk_id
    if waiting is not None:
        target = _merge(s, conv, waiting, utcnow())
    else:
        conv.clerk_id, conv.store_id, conv.assigned_at = None, store_id, None
        s.flush()
        target = conv
    realtime.publish(s, realtime.clerk_room(old_clerk), realtime.CONVERSATION_CLAIMED,
                     {"conversation_id": target.id, "customer_id": target.customer_id, "clerk_id": None,
                      "store_id": store_id, "claimed": False, "removed_from": old_clerk})
    return target


def _note(s: Session, conv: Conversation, staff: Staff, note: str, *, clerk_id: int | None,
          store_id: int | None) -> None:
    """The handover, written into the thread (seen by staff only, never sent)."""
    if clerk_id is not None:
        to = s.scalar(select(Staff.display_name).where(Staff.id == clerk_id))
    else:
        to = s.scalar(select(Store.name).where(Store.id == store_id)) + " 待接待"
    body = f"{staff.display_name} 转给 {to}" + (f"：{note}" if note else "")
    now = utcnow()
    s.add(Message(conversation_id=conv.id, direction=Direction.outbound, channel=conv.last_channel or "note",
                  type="note", body=body, sender_id=None, purpose="service",  # no sender: never a touch
                  status=MessageStatus.sent, created_at=now, payload={"note": True, "by": staff.id}))
    s.flush()


def pool_counts(s: Session, staff: Staff) -> int:
    """How many conversations wait in the pools ``staff`` may take from."""
    query = select(func.count()).select_from(Conversation).where(Conversation.clerk_id.is_(None))
    if staff.role != Role.hq:
        query = query.where(Conversation.store_id == staff.store_id)
    return s.scalar(query) or 0

