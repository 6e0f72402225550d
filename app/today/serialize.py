"""JSON shape of one Today suggestion (the only place it is built)."""
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from app.customers.serialize import yuan
from app.i18n import t
from assistant.reasons import PurchaseFacts, current_reasons


def reason_text(reason: dict[str, Any], locale: str | None = None) -> str:
    """One of the ranker's reasons in the reader's words."""
    return t(f"today.reason.{reason['code']}", locale, **reason.get("params", {}))


def reason_json(reason: dict[str, Any]) -> dict[str, Any]:
    return {"code": reason["code"], "text": reason_text(reason), "effect": reason.get("effect")}


def today_item(row, now: dt.datetime, zone: ZoneInfo) -> dict[str, Any]:
    """One card; every purchase fact its reasons quote comes from the customer's own columns."""
    (score, name, paid_orders, total_spent_fen, last_contacted_at, last_paid_at,
     conversation_id, last_message_at, preview) = row
    if last_message_at is not None:
        last = {"kind": "message", "at": last_message_at.isoformat(), "preview": preview}
    elif last_paid_at is not None:
        last = {"kind": "order", "at": last_paid_at.isoformat(), "preview": None}
    else:
        last = None
    facts = PurchaseFacts.of(paid_orders, last_paid_at, now, zone, total_spent_fen)
    return {
        "customer_id": score.customer_id,
        "name": name,
        "propensity": round(score.propensity, 4),
        "expected_value": yuan(score.expected_value_fen),
        "action": score.action,
        "action_label": t(f"today.action.{score.action}") if score.action else None,
        "reasons": [reason_json(r) for r in current_reasons(score.reasons or [], facts, score.scored_at)],
        "last_interaction": last,
        "last_contacted_at": last_contacted_at.isoformat() if last_contacted_at else None,
        "conversation_id": conversation_id,
        "scored_at": score.scored_at.isoformat(),
    }
