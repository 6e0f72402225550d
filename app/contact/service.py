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

from flask import current_app
from sqlalchemy import and_, func, select, true
from sqlalchemy.orm import Session

from app.counters import counters
from assistant.policy import (MARKETING, ContactHistory, Decision, PolicyConfig, Sent,
                              content_hash, decide)
from models import (ChannelIdentity, Conversation, Customer, CustomerOptOut, Direction, Message,
                    Setting)

SETTING_KEY = "contact_policy"
_CHUNK = 900  # stays under SQLite's bound-parameter limit for IN lists
_SCAN_ABOVE = 5000


def load_config(session: Session) -> PolicyConfig:
    row = session.get(Setting, SETTING_KEY)
    return PolicyConfig.from_dict(row.value) if row else PolicyConfig()


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


def _chunks(ids: Sequence[int]):
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


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
    for chunk in ([None] if scan else _chunks(list(wanted))):
        def only(column, _chunk=chunk):
            return column.in_(_chunk) if _chunk is not None else true()

        for cid, phone, email in session.execute(
                select(Customer.id, Customer.phone, Customer.email).where(only(Customer.id))):
            if cid in wanted:
                if phone:
                    out[cid].reachable.add("sms")
                if email:
                    out[cid].reachable.add("email")
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
            .where(only(Conversation.customer_id), Message.created_at > since))
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
                mass: bool = False, reserve: bool = True,
                config: PolicyConfig | None = None) -> dict[int, Decision]:
    """A decision per customer; allowed ones also take their slot in the shared counters."""
    config = config or load_config(session)
    tz = current_app.config.get("BRAND_TIMEZONE", "Asia/Shanghai")
    hist = histories(session, customer_ids, now, config)
    decisions: dict[int, Decision] = {}
    for cid in customer_ids:
        d = decide(hist[cid], purpose=purpose, now=now, config=config, tz=tz, text=text,
                   channel=channel, mass=mass)
        if d.allowed and reserve and not _reserve(cid, purpose, config):
            days = config.marketing_window_days if purpose == MARKETING else config.service_window_days
            d = Decision(False, None, "cap", f"{days} 天内的发送名额已被其他任务占用")
        decisions[cid] = d
    return decisions


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
