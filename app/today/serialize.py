"""JSON shape of one Today suggestion (the only place it is built)."""
from __future__ import annotations

from typing import Any

from app.customers.serialize import yuan
from app.i18n import t


def reason_json(reason: dict[str, Any]) -> dict[str, Any]:
    return {"code": reason["code"], "text": t(f"today.reason.{reason['code']}", **reason.get("params", {})),
            "effect": reason.get("effect")}


def today_item(row) -> dict[str, Any]:
    score, name, last_contacted_at, last_paid_at, conversation_id, last_message_at, preview = row
    if last_message_at is not None:
        last = {"kind": "message", "at": last_message_at.isoformat(), "preview": preview}
    elif last_paid_at is not None:
        last = {"kind": "order", "at": last_paid_at.isoformat(), "preview": None}
    else:
        last = None
    return {
        "customer_id": score.customer_id,
        "name": name,
        "propensity": round(score.propensity, 4),
        "expected_value": yuan(score.expected_value_fen),
        "action": score.action,
        "action_label": t(f"today.action.{score.action}") if score.action else None,
        "reasons": [reason_json(r) for r in score.reasons],
        "last_interaction": last,
        "last_contacted_at": last_contacted_at.isoformat() if last_contacted_at else None,
        "conversation_id": conversation_id,
        "scored_at": score.scored_at.isoformat(),
    }
