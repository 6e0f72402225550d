"""Inbound routing: the events a connector parsed from a callback, applied exactly once.

Every event first leaves a receipt keyed by (channel, account, external id); a vendor retry finds
that key and is skipped, so a message lands once in its customer's conversation and a subscribe
binds once. No savepoints: ``app.db.after_commit`` callbacks would fire when one is released.
"""
from __future__ import annotations

import logging
from collections import Counter


from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import hooks
from app.followers.bindings import bind
from app.messaging.actions import owner_clerk_id, receive_message, set_message_status
from app.reception.intake import ACCOUNT_KEYS, receive_unowned
from app.reception.routing import is_waiting_in_pool
from connectors.base import Connector, InboundEvent
from models import (ChannelIdentity, Customer, CustomerOptOut, FollowerBinding, InboundReceipt,
                    MessageStatus, OutboxEntry, Staff, utcnow)

log = logging.getLogger("daogou.channels")

FOLLOWED = {"wechat-oa": "关注了公众号", "wecom": "添加了企业微信", "wecom-kf": "进入了微信客服"}
STATUS_OF = {"delivered": MessageStatus.delivered, "read": MessageStatus.read, "failed": MessageStatus.failed}


def accept_events(session: Session, connector: Connector, events: list[InboundEvent]) -> Counter:
    """Apply each new event; return counts by outcome (stored, pooled, duplicate, ignored)."""
    counts: Counter = Counter()
    seen = set(session.scalars(select(InboundReceipt.external_id).where(
        InboundReceipt.channel == connector.kind, InboundReceipt.account == (connector.account or ""),
        InboundReceipt.external_id.in_({e.external_id[:128] for e in events})))) if events else set()
    for event in events:
        # No savepoint here: a concurrent writer of the same receipt makes the whole transaction
        # fail on the unique key, the vendor gets an error and retries, and the retry is a duplicate.
        if event.external_id[:128] in seen:
            counts["duplicate"] += 1
            continue
        seen.add(event.external_id[:128])
        receipt = InboundReceipt(channel=connector.kind, account=connector.account or "",
                                 external_id=event.external_id[:128], kind=event.kind, outcome="stored")
        session.add(receipt)
        receipt.outcome = apply_event(session, connector, event) or "stored"
        if receipt.outcome == "ignored" and event.kind == "ignored":
            receipt.payload = {"type": event.type, **{k: v for k, v in event.payload.items() if k == "event"}}
        counts[receipt.outcome] += 1
    return counts


def apply_event(s: Session, connector: Connector, event: InboundEvent) -> str | None:
    kind = connector.kind
    if event.kind == "status":
        return _delivery_status(s, kind, event)
    if event.kind in ("sync", "noop", "ignored"):
        return "ignored"  # kept as a receipt only; a sync is fetched by the connector after commit
    customer_id = customer_for(s, connector, event)
    if event.kind in ("subscribe", "contact_added", "contact_edited"):
        clerk_id = clerk_for(s, connector, event.clerk_ref)
        _lift_opt_out(s, customer_id, kind)
        if clerk_id is not None:
            bind(s, customer_id, clerk_id, kind)
            return None
        if owner_clerk_id(s, customer_id) is not None:
            return None
        # A new follower of the brand's own account: someone to greet, in the store's pool.
        return receive_unowned(s, _pool_settings(connector), customer_id=customer_id, channel=kind,
                               account=connector.account or None, external_id=event.external_id,
                               body=FOLLOWED.get(kind, "关注了"), type="event", received_at=event.at)
    if event.kind == "unsubscribe":
        _end_bindings(s, customer_id, kind, None, "unsubscribed")
        record_opt_out(s, customer_id, kind, "unsubscribe")
        return None
    if event.kind in ("contact_deleted", "contact_removed"):
        reason = "deleted_by_customer" if event.kind == "contact_deleted" else "deleted_by_clerk"
        _end_bindings(s, customer_id, kind, clerk_for(s, connector, event.clerk_ref), reason)
        return None
    if event.kind == "opt_out":
        record_opt_out(s, customer_id, kind, event.body[:120] or "opt-out")
    message = dict(channel=kind, account=connector.account or None, external_id=event.external_id,
                   body=event.body, type=event.type, payload=event.payload or None, received_at=event.at)
    clerk_id = clerk_for(s, connector, event.clerk_ref)
    if clerk_id is None and not is_waiting_in_pool(s, customer_id):  # a pooled thread keeps their words together
        clerk_id = owner_clerk_id(s, customer_id) or clerk_for(s, connector, connector.setting("default_clerk"))
    if clerk_id is None:
        return receive_unowned(s, _pool_settings(connector), customer_id=customer_id, **message)
    receive_message(s, customer_id=customer_id, clerk_id=clerk_id, **message)
    return None


def _pool_settings(connector: Connector) -> dict:
    return {key: connector.setting(key) for key in ACCOUNT_KEYS}


def customer_for(s: Session, connector: Connector, event: InboundEvent) -> int:
    """The customer behind the channel's sender id, created (with its identity) on first contact."""
    kind, account = connector.kind, connector.account or ""
    if connector.address_field is not None:
        column = getattr(Customer, connector.address_field)
        found = s.scalar(select(Customer.id).where(column == event.sender).order_by(Customer.id).limit(1))
        if found:
            return found
        customer = Customer(external_id=f"{kind}:{event.sender}"[:64], name=event.sender[-4:],
                            **{connector.address_field: event.sender})
        s.add(customer)
        s.flush()
        return customer.id
    found = s.scalar(select(ChannelIdentity.customer_id).where(
        ChannelIdentity.channel == kind, ChannelIdentity.account == account,
        ChannelIdentity.external_id == event.sender))
    if found:
        return found
    name = str(event.payload.get("name") or event.payload.get("nickname") or f"微信用户{event.sender[-4:]}")
    customer = Customer(external_id=f"{kind}:{event.sender}"[:64], name=name[:80])
    s.add(customer)
    s.flush()
    s.add(ChannelIdentity(customer_id=customer.id, channel=kind, account=account, external_id=event.sender))
    s.flush()
    return customer.id


def clerk_for(s: Session, connector: Connector, ref: str | None) -> int | None:
    """The clerk a channel names: the account's ``staff_map`` ({userid: username}) first, then a
    staff member whose external id or username is the channel's id."""
    if not ref:
        return None
    mapping = connector.setting("staff_map") or {}
    username = mapping.get(ref) if isinstance(mapping, dict) else None
    if username:
        return s.scalar(select(Staff.id).where(Staff.username == username, Staff.active.is_(True)))
    return s.scalar(select(Staff.id).where((Staff.external_id == ref) | (Staff.username == ref),
                                           Staff.active.is_(True)).limit(1))


def _end_bindings(s: Session, customer_id: int, channel: str, clerk_id: int | None, reason: str) -> None:
    q = update(FollowerBinding).where(FollowerBinding.customer_id == customer_id,
                                      FollowerBinding.channel == channel, FollowerBinding.ended_at.is_(None))
    if clerk_id is not None:
        q = q.where(FollowerBinding.clerk_id == clerk_id)
    ended = s.execute(q.values(ended_at=utcnow(), end_reason=reason, is_owner=False)
                      .returning(FollowerBinding.clerk_id)).scalars().all()
    for clerk in ended:
        hooks.fire(s, hooks.FOLLOWER_CHANGED, customer_id=customer_id, clerk_id=clerk)


def record_opt_out(s: Session, customer_id: int, channel: str, reason: str) -> None:
    """退订: remember it once; every later send on the channel is refused."""
    if s.scalar(select(CustomerOptOut.id).where(CustomerOptOut.customer_id == customer_id,
                                                CustomerOptOut.channel == channel)):
        return
    s.add(CustomerOptOut(customer_id=customer_id, channel=channel, reason=reason[:120]))
    s.flush()


def _lift_opt_out(s: Session, customer_id: int, channel: str) -> None:
    """Following again is consent again on that channel."""
    row = s.scalar(select(CustomerOptOut).where(CustomerOptOut.customer_id == customer_id,
                                                CustomerOptOut.channel == channel,
                                                CustomerOptOut.reason == "unsubscribe"))
    if row is not None:
        s.delete(row)
        s.flush()


def _delivery_status(s: Session, channel: str, event: InboundEvent) -> str | None:
    status = STATUS_OF.get(str(event.payload.get("status")))
    entry = s.scalar(select(OutboxEntry).where(OutboxEntry.channel == channel,
                                               OutboxEntry.provider_message_id == event.sender))
    if entry is None or status is None or entry.message_id is None:
        return "ignored"
    set_message_status(s, entry.message_id, status, (event.body or None) if status == MessageStatus.failed else None)
    return None


