"""Telling clerks where they are: a WeCom app message (``message/send``) when a customer starts
waiting for them — the owning clerk, or the store's people for a pooled thread.

Only the first message of a wait raises a notice (a customer writing five lines is
one notice), a clerk can switch notices off (``preferences``), and it goes through the outbox
like any send, with no customer on the row: it never counts against a customer's fatigue.
"""
from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import jobs
from app.reception.preferences import wants
from connectors.wecom import STAFF_NOTICE
from models import (ChannelAccount, Conversation, Customer, Message, OutboxEntry, OutboxState, Role,
                    ServiceWait, Staff, utcnow)

MAX_RECIPIENTS = 1000  # WeCom's limit per message/send call


def notice_account(s: Session) -> str | None:
    """The brand's WeCom app that can message its staff (an enabled account with an agentid)."""
    for name, settings in s.execute(select(ChannelAccount.name, ChannelAccount.settings).where(
            ChannelAccount.kind == "wecom", ChannelAccount.enabled.is_(True)).order_by(ChannelAccount.id)):
        if str((settings or {}).get("agentid") or "").isdigit():
            return name
    return None


def on_message_received(s: Session, *, message_id: int, customer_id: int, **_: Any) -> None:
    msg = s.get(Message, message_id)
    conv = s.get(Conversation, msg.conversation_id) if msg is not None else None
    if conv is None or msg.type == "event" or conv.waiting_since is None:
        return
    wait_id = s.scalar(select(ServiceWait.id).where(ServiceWait.conversation_id == conv.id,
                                                    ServiceWait.answered_at.is_(None)).order_by(ServiceWait.id.desc()))
    key = f"notice:wait:{wait_id}"
    if wait_id is None or s.scalar(select(OutboxEntry.id).where(OutboxEntry.idempotency_key == key)):
        return  # this wait was announced already: one notice however many lines they write
    account = notice_account(s)
    if account is None:
        return
    userids = _recipients(s, conv)
    if not userids:
        return
    name = s.scalar(select(Customer.name).where(Customer.id == customer_id)) or ""
    title = f"客户 {name} 发来消息" if conv.clerk_id else f"待接待：客户 {name} 发来消息"
    base = current_app.config.get("PUBLIC_URL")
    entry = OutboxEntry(idempotency_key=key, message_id=None, customer_id=None,
                        channel="wecom", account=account, recipient="|".join(userids[:MAX_RECIPIENTS]),
                        purpose="service", state=OutboxState.pending, next_attempt_at=utcnow(),
                        payload={"type": STAFF_NOTICE, "body": title, "source": "notice", "extra": {
                            "description": (msg.body or "")[:120],
                            "url": f"{base}/console/#messages" if base else None}})
    s.add(entry)
    s.flush()
    from app.channels import dispatch  # the dispatcher module of the channels area
    jobs.enqueue_after_commit(s, dispatch.dispatch_entry, entry.id)


def _recipients(s: Session, conv: Conversation) -> list[str]:
    if conv.clerk_id is not None:
        people = select(Staff.id, Staff.external_id).where(Staff.id == conv.clerk_id)
    elif conv.store_id is not None:
        people = select(Staff.id, Staff.external_id).where(
            Staff.store_id == conv.store_id, Staff.role.in_((Role.clerk, Role.manager)))
    else:
        return []
    rows = s.execute(people.where(Staff.active.is_(True), Staff.external_id.is_not(None)).order_by(Staff.id)).all()
    return [userid for staff_id, userid in rows if wants(s, staff_id, "wecom")]
