"""Apply ``assistant.policy`` to customers in the database, many at a time.

``decide_many`` gathers every customer's contact history with a fixed number of queries (sent
messages in the longest window, opt-outs, reachable channels, last inbound per channel), asks the
policy, and for allowed decisions takes a slot in the shared counters so that concurrent senders
(two RQ workers, a campaign and a care task) cannot overshoot a cap together.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from app.config import brand_timezone_name
from sqlalchemy import and_, func, select, true
from sqlalchemy.orm import Session

from app.counters import counters
from app.db import chunks
from app.errors import Invalid
from assistant.policy import (MARKETING, SERVICE, ContactHistory, Decision, PolicyConfig, Sent,
                              content_hash, decide, quiet_hours_end, until_label)
from connectors.registry import accountless_kinds, address_fields, contact_priority
from models import (ChannelAccount, ChannelIdentity, Conversation, Customer, CustomerOptOut, Direction, Message,
                    MessageStatus, Setting, Store)

SETTING_KEY = "contact_policy"
_SCAN_ABOVE = 5000
# Outbound messages that have not gone (waiting for quiet hours to end, or called off) do not
# count against caps or duplicates: they are checked again when they go.
NOT_SENT = (MessageStatus.scheduled, MessageStatus.cancelled)


def load_config(session: Session) -> PolicyConfig:
    """Head office's settings over the defaults; the channel order defaults to the registry's."""
    row = session.get(Setting, SETTING_KEY)
    return PolicyConfig.from_dict({"channel_priority": list(contact_priority()), **(row.value if row else {})})


def save_config(session: Session, data: dict, staff_id: int | None) -> PolicyConfig:
    """Validate and store; raises ``PolicyConfigError`` naming the bad fields."""
    merged = {**load_config(session).to_dict(), **data}
    config = PolicyConfig.from_dict(merged)
    row = session.get(Setting, SETTING_KEY)
    if row is None:
        session.add(Setting(key=SETTING_KEY, value=config.to_dict(), updated_by=staff_id))
    else:
        row.value = config.to_dict()
        row.updated_by = staff_id
    return config


def histories(session: Session, customer_ids: Sequence[int], now: dt.datetime,
              config: PolicyConfig) -> dict[int, ContactHistory]:
    """Each customer's contact history, gathered with five queries per chunk of ids.

    For large batches (a campaign over 100k customers) binding every id is slower than reading
    the few narrow columns of the whole table once and keeping the wanted rows, so above
    ``_SCAN_ABOVE`` ids the queries run without the IN list.
    """
    wanted = set(customer_ids)
    out = {cid: ContactHistory(reachable=set()) for cid in wanted}
    longest = max(config.marketing_window_days, config.service_window_days,
                  config.duplicate_content_days, 2)
    since = now - dt.timedelta(days=longest)
    scan = len(wanted) > _SCAN_ABOVE
    for chunk in ([None] if scan else chunks(list(wanted))):
        def only(column, _chunk=chunk):
            return column.in_(_chunk) if _chunk is not None else true()

        addressed = address_fields()
        for cid, zone, *addresses in session.execute(
                select(Customer.id, Store.timezone, *[getattr(Customer, f) for f in addressed.values()])
                .outerjoin(Store, Store.id == Customer.home_store_id).where(only(Customer.id))):
            if cid in wanted:
                out[cid].tz = zone or None
                out[cid].reachable.update(kind for kind, address in zip(addressed, addresses) if address)
        for cid, channel in session.execute(
                select(ChannelIdentity.customer_id, ChannelIdentity.channel)
                .where(only(ChannelIdentity.customer_id))):
            if cid in wanted:
                out[cid].reachable.add(channel)
        for cid, channel in session.execute(
                select(CustomerOptOut.customer_id, CustomerOptOut.channel)
                .where(only(CustomerOptOut.customer_id))):
            if cid in wanted:
                out[cid].opted_out.add(channel)
        rows = session.execute(
            select(Conversation.customer_id, Message.direction, Message.channel, Message.purpose,
                   Message.created_at, Message.body, Message.payload)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(only(Conversation.customer_id), Message.created_at > since,
                   Message.status.not_in(NOT_SENT)))
        for cid, direction, channel, purpose, at, body, payload in rows:
            if cid not in wanted:
                continue
            h = out[cid]
            if direction == Direction.inbound:
                if channel not in h.last_inbound or at > h.last_inbound[channel]:
                    h.last_inbound[channel] = at
            else:
                h.sent.append(Sent(at=at, channel=channel, purpose=purpose,
                                   content_hash=content_hash(body) if body else None,
                                   mass=bool(payload and payload.get("mass"))))
        # The OA window opens on the last inbound message, which may be older than `since`.
        for cid, channel, last in session.execute(
                select(Conversation.customer_id, Message.channel, func.max(Message.created_at))
                .join(Message, Message.conversation_id == Conversation.id)
                .where(and_(only(Conversation.customer_id), Message.direction == Direction.inbound,
                            Message.channel == "wechat-oa"))
                .group_by(Conversation.customer_id, Message.channel)):
            if cid in wanted:
                out[cid].last_inbound[channel] = last
    return out


def decide_many(session: Session, customer_ids: Sequence[int], *, purpose: str,
                now: dt.datetime, text: str | None = None, channel: str | None = None,
                mass: bool = False, reserve: bool = True, source: str = "campaign",
                texts: dict[int, str] | None = None,
                config: PolicyConfig | None = None) -> dict[int, Decision]:
    """A decision per customer; allowed ones also take their slot in the shared counters.

    Deferred decisions (quiet hours) take no slot: they are decided again when they go.
    ``texts`` gives each customer's own copy for the duplicate check (else ``text``).
    """
    config = config or load_config(session)
    tz = brand_timezone_name()
    hist = histories(session, customer_ids, now, config)
    usable = open_channels(session)
    decisions: dict[int, Decision] = {}
    for cid in customer_ids:
        d = decide(hist[cid], purpose=purpose, now=now, config=config, tz=tz,
                   text=texts.get(cid, text) if texts else text, channel=channel, mass=mass,
                   source=source, open_channels=usable)
        if d.allowed and reserve and not _reserve(cid, purpose, config):
            days = config.marketing_window_days if purpose == MARKETING else config.service_window_days
            d = Decision(False, None, "cap", f"{days} 天内的发送名额已被其他任务占用")
        decisions[cid] = d
    return decisions


def open_channels(session: Session) -> frozenset[str]:
    """The channels the brand can send on: an enabled account, or one that needs none (demo loopback)."""
    kinds = session.scalars(select(ChannelAccount.kind).where(ChannelAccount.enabled.is_(True)).distinct())
    return frozenset(kinds) | accountless_kinds()


def _reserve(customer_id: int, purpose: str, config: PolicyConfig) -> bool:
    if purpose == MARKETING:
        cap, days = config.marketing_cap, config.marketing_window_days
    else:
        cap, days = config.service_cap, config.service_window_days
    return counters().acquire(f"contact:{customer_id}:{purpose}", cap, days * 86400)


def skip_summary(decisions: dict[int, Decision]) -> dict[str, int]:
    """How many were refused, by reason code."""
    out: dict[str, int] = defaultdict(int)
    for d in decisions.values():
        if not d.allowed:
            out[d.code] += 1
    return dict(out)


# A clerk's message to a customer who wrote in within this window is a reply (service): it goes
# at once, whatever the hour. Anything else the clerk starts is marketing and waits out quiet hours.
REPLY_WINDOW = dt.timedelta(hours=48)


@dataclass(frozen=True)
class ClerkSendTiming:
    purpose: str
    until: dt.datetime | None  # set when the message would wait for quiet hours to end
    label: str | None          # when it would go, for the clerk: "09:00", "明天 09:00"


def clerk_send_timing(session: Session, customer_id: int, last_inbound_at: dt.datetime | None,
                      now: dt.datetime) -> ClerkSendTiming:
    """When a clerk's message to this customer would go: now (a reply, or outside quiet hours)
    or at the end of quiet hours. Raises ``Invalid`` when head office chose "skip" for clerks."""
    if last_inbound_at is not None and now - last_inbound_at <= REPLY_WINDOW:
        return ClerkSendTiming(SERVICE, None, None)
    config = load_config(session)
    zone = session.scalar(select(Store.timezone).join(Customer, Customer.home_store_id == Store.id)
                          .where(Customer.id == customer_id)) or brand_timezone_name()
    until = quiet_hours_end(now, config, zone)
    if until is None:
        return ClerkSendTiming(MARKETING, None, None)
    if config.quiet_action("clerk") == "skip":
        raise Invalid("quiet hours", {"body": f"免打扰时段（{config.quiet_start:%H:%M}–{config.quiet_end:%H:%M}）"
                                              "不能主动发送，请在结束后再发"})
    return ClerkSendTiming(MARKETING, until, until_label(until, now, zone))
