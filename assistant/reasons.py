"""The ranker's reasons, brought up to date with the customer's purchase facts when they are shown.

A score is computed at night; a card is read the next afternoon, a draft a week later. The
reasons quote facts that move in between (days since a purchase, how many orders), and two
reasons on one card must never quote two different "last purchases". So every fact a card says
about purchases comes from one place, ``PurchaseFacts`` — the customer's own ``paid_orders``,
``total_spent_fen`` and ``last_paid_at`` columns, days counted in the brand's calendar — and
``current_reasons`` rewrites
the stored reasons from it:

- "last purchase N days ago" (recent_buyer, due_by_habit, lapsed, dormant_vip) is that one fact;
- a product-cycle reason says "上次购买" only when its purchase *is* the last purchase, otherwise
  "N 天前买的", and whether it runs out soon, later or already is decided from today's days;
- "老客" is said only of a repeat customer (``assistant.lifecycle.is_repeat``), with today's count
  and total.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from assistant.lifecycle import days_since, is_repeat

# A purchase within this many days makes a "recent buyer"; past it the customer has lapsed.
RECENT_BUYER_DAYS = 45
# A cycle that ends within this many days is "about to run out" (the replenishment window).
RUNS_OUT_SOON_DAYS = 7
LAST_PURCHASE_CODES = frozenset({"recent_buyer", "due_by_habit", "lapsed", "dormant_vip"})
CYCLE_CODES = frozenset({"cycle_due", "cycle_overdue", "cycle_ahead",
                         "cycle_due_earlier", "cycle_overdue_earlier", "cycle_ahead_earlier"})
LOYALTY_CODES = frozenset({"loyal", "bought_once"})


@dataclass(frozen=True)
class PurchaseFacts:
    """What a card may say about a customer's purchases, as of ``today`` in ``zone``."""

    paid_orders: int
    last_paid_at: dt.datetime | None
    today: dt.date
    zone: ZoneInfo
    total_spent_fen: int | None = None

    @classmethod
    def of(cls, paid_orders: int | None, last_paid_at: dt.datetime | None, now: dt.datetime,
           zone: ZoneInfo | str, total_spent_fen: int | None = None) -> PurchaseFacts:
        zone = ZoneInfo(zone) if isinstance(zone, str) else zone
        return cls(int(paid_orders or 0), last_paid_at, now.astimezone(zone).date(), zone, total_spent_fen)

    @property
    def days_since_last(self) -> int | None:
        return days_since(self.last_paid_at, self.today, self.zone)

    def days_since(self, when: dt.datetime | None) -> int | None:
        return days_since(when, self.today, self.zone)


def current_reasons(reasons: list[dict[str, Any]], facts: PurchaseFacts | None,
                    scored_at: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The reasons with their purchase facts taken from ``facts``; a reason that no longer
    holds (an order count of 0 after a refund) is left out. Without facts, as stored."""
    if facts is None:
        return [dict(r) for r in reasons]
    out = []
    for reason in reasons:
        current = _current(reason, facts, scored_at)
        if current is not None:
            out.append(current)
    return out


def _current(reason: dict[str, Any], facts: PurchaseFacts, scored_at: dt.datetime | None) -> dict[str, Any] | None:
    code, params = reason.get("code"), dict(reason.get("params") or {})
    last = facts.days_since_last
    if code in LAST_PURCHASE_CODES and last is not None:
        params["days"] = last
        if code == "recent_buyer" and last > RECENT_BUYER_DAYS:
            code = "lapsed"
    elif code in LOYALTY_CODES:
        if facts.paid_orders < 1:
            return None
        params["orders"] = facts.paid_orders
        if facts.total_spent_fen is not None:
            params["amount"] = str(round(facts.total_spent_fen / 100))  # whole yuan, as the ranker writes it
        code = "loyal" if is_repeat(facts.paid_orders) else "bought_once"
    elif code in CYCLE_CODES and {"quantity", "usage_days", "days"} <= params.keys():
        code, params = _cycle(params, facts, scored_at)
    return {**reason, "code": code, "params": params}


def _cycle(params: dict[str, Any], facts: PurchaseFacts, scored_at: dt.datetime | None) -> tuple[str, dict[str, Any]]:
    """A product-cycle reason as of today: its days counted on from the score, "上次购买" only
    when nothing was bought after that purchase, and soon / later / over decided afresh."""
    days = int(params["days"])
    is_last = True  # reasons stored before "gap" existed speak of the last purchase, as they always did
    if "gap" in params:
        elapsed = facts.days_since(scored_at) if scored_at is not None else 0
        bought_since = scored_at is not None and facts.last_paid_at is not None and facts.last_paid_at > scored_at
        is_last = int(params["gap"]) == 0 and not bought_since and facts.last_paid_at is not None
        days = facts.days_since_last if is_last else days + max(elapsed or 0, 0)
    span = int(params["quantity"]) * int(params["usage_days"])
    current = {k: v for k, v in params.items() if k not in ("over", "left")} | {"days": days}
    if days > span:
        code, current["over"] = "cycle_overdue", days - span
    elif span - days > RUNS_OUT_SOON_DAYS:
        code, current["left"] = "cycle_ahead", span - days
    else:
        code = "cycle_due"
    return (code if is_last else code + "_earlier"), current
