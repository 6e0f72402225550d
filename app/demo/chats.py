"""The demo's chat history: threads between clerks and their followers (first chunk only).

clerk1 gets a full inbox, a second clerk of the flagship and the first clerk of every other
store a few threads: questions and answers, 催付 and replenishment nudges, some left unread.
The chosen customers' ``last_inbound_at`` and ``last_contacted_at`` follow their threads.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.demo import catalogue as cat
from app.demo.brand import Brand
from app.demo.columns import DAY_US, HOUR_US, NaT, from_us
from app.demo.orders import Chunk

MINUTE_US = 60_000_000
Thread = list[tuple[str, str, str]]  # (direction, body, purpose)


@dataclass
class Chats:
    conversations: list[dict[str, Any]]
    messages: list[dict[str, Any]]


def generate_chats(rng: np.random.Generator, brand: Brand, chunk: Chunk, now_us: int) -> Chats:
    """Threads of questions and answers, 催付 and replenishment nudges, some left unread."""
    names = [p[1] for p in cat.PRODUCTS]
    clerks = [(int(brand.clerk_ids[0, 0]), 36), (int(brand.clerk_ids[0, 1]), 10)] + \
        [(int(brand.clerk_ids[s, 0]), 8) for s in range(1, len(brand.store_ids))]
    unpaid = set(chunk.unpaid_recent.tolist())
    chats = Chats([], [])
    last_in = chunk.customers["last_inbound_at"].view(np.int64)
    last_out = chunk.customers["last_contacted_at"].view(np.int64)
    for clerk_id, wanted in clerks:
        book = np.flatnonzero(chunk.owner_clerk == clerk_id)
        # Prefer followers who bought recently or hold an unpaid order: those are the chats.
        recency = np.where(chunk.last_paid_us[book] == NaT, 0, chunk.last_paid_us[book])
        recency = recency + np.isin(book, chunk.unpaid_recent) * (1 << 60)
        chosen = book[np.argsort(-recency, kind="stable")[:wanted]]
        for pos in sorted(chosen.tolist()):
            product = names[chunk.fav[pos]] if chunk.fav[pos] >= 0 else names[int(rng.integers(0, len(names)))]
            thread, t, unread = _thread(rng, chunk, pos, product, pos in unpaid, now_us)
            times = t + np.cumsum(rng.integers(MINUTE_US, 6 * HOUR_US, len(thread)))
            times = np.minimum(times, now_us - MINUTE_US * (len(thread) - np.arange(len(thread))))
            times = times // 1_000_000 * 1_000_000  # whole seconds, like every demo timestamp
            inbound, outbound = _record(chats, thread, times.tolist(), clerk_id,
                                        int(chunk.customers["id"][pos]), unread)
            if inbound:
                last_in[pos] = max(inbound)
            if outbound:
                last_out[pos] = max(outbound)
    return chats


def _thread(rng: np.random.Generator, chunk: Chunk, pos: int, product: str, unpaid: bool,
            now_us: int) -> tuple[Thread, int, int]:
    """One customer's thread, when it starts, and how many of its last messages are unread."""
    t = now_us - int(rng.integers(2 * DAY_US, 20 * DAY_US))
    thread: Thread = []
    if unpaid:
        thread.append(("out", cat.NUDGE_UNPAID, "marketing"))
        t = now_us - int(rng.integers(2 * HOUR_US, 20 * HOUR_US))
    elif chunk.fav[pos] >= 0 and rng.random() < 0.3:
        thread.append(("out", cat.NUDGE_REPLENISH.format(product=product), "marketing"))
    else:
        k = int(rng.integers(0, len(cat.INBOUND_OPENERS)))
        thread.append(("in", cat.INBOUND_OPENERS[k].format(product=product), "service"))
        thread.append(("out", cat.OUTBOUND_REPLIES[k].format(product=product), "service"))
    for _ in range(int(rng.integers(0, 3))):
        thread.append(("in", cat.FOLLOW_UPS_IN[int(rng.integers(0, len(cat.FOLLOW_UPS_IN)))], "service"))
        thread.append(("out", cat.FOLLOW_UPS_OUT[int(rng.integers(0, len(cat.FOLLOW_UPS_OUT)))], "service"))
    unread = 0
    if rng.random() < 0.4:  # the customer wrote last and the clerk has not read it yet
        unread = int(rng.integers(1, 3))
        for _ in range(unread):
            thread.append(("in", cat.INBOUND_OPENERS[int(rng.integers(0, len(cat.INBOUND_OPENERS)))]
                           .format(product=product), "service"))
    return thread, t, unread


def _record(chats: Chats, thread: Thread, times: list[int], clerk_id: int, customer_id: int,
            unread: int) -> tuple[list[int], list[int]]:
    """Append the thread's messages and conversation; return its inbound and outbound times."""
    from app.messaging.actions import PREVIEW_CHARS

    conv_id = len(chats.conversations) + 1
    for i, ((direction, body, purpose), when) in enumerate(zip(thread, times)):
        msg_id = len(chats.messages) + 1
        later_inbound = any(d == "in" for d, _, _ in thread[i + 1:])
        chats.messages.append(dict(
            id=msg_id, conversation_id=conv_id, direction=direction, channel="loopback",
            account=None, type="text", body=body, payload=None,
            external_id=f"demo-{direction}-{msg_id}", client_id=None,
            sender_id=clerk_id if direction == "out" else None, purpose=purpose,
            status="received" if direction == "in" else ("read" if later_inbound else "delivered"),
            error=None, created_at=from_us(when),
            status_at=from_us(when + 2_000_000) if direction == "out" else None))
    inbound = [w for (d, _, _), w in zip(thread, times) if d == "in"]
    outbound = [w for (d, _, _), w in zip(thread, times) if d == "out"]
    chats.conversations.append(dict(
        id=conv_id, customer_id=customer_id, clerk_id=clerk_id,
        last_channel="loopback", last_message_at=from_us(int(times[-1])),
        last_message_preview=thread[-1][1][:PREVIEW_CHARS],
        last_inbound_at=from_us(max(inbound)) if inbound else None,
        unread_count=unread, created_at=from_us(int(times[0]))))
    return inbound, outbound
