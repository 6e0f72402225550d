"""Offers (优惠) head office configured: the only benefits a draft may mention."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from assistant.drafting.scenarios import SCENARIOS
from models.money import parse_yuan, yuan

OFFER_KINDS = ("coupon", "discount", "gift")


@dataclass(frozen=True)
class Offer:
    """A benefit head office configured (models.Setting "offers"); drafts may mention only these."""

    code: str
    label: str                      # as customers read it: "满300减50券", "会员9折"
    kind: str = "coupon"
    amount_fen: int | None = None
    threshold_fen: int | None = None
    scenarios: tuple[str, ...] = ()  # empty: any scenario
    valid_until: dt.date | None = None

    def applies(self, scenario: str, today: dt.date) -> bool:
        return (not self.scenarios or scenario in self.scenarios) and (self.valid_until is None or today <= self.valid_until)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label, "kind": self.kind,
                "amount": yuan(self.amount_fen) if self.amount_fen is not None else None,
                "threshold": yuan(self.threshold_fen) if self.threshold_fen is not None else None,
                "scenarios": list(self.scenarios),
                "valid_until": self.valid_until.isoformat() if self.valid_until else None}


def parse_offers(raw: Any) -> tuple[list[Offer], dict[str, str]]:
    """Offers from their JSON form, and the errors by path (``offers[1].amount``)."""
    errors: dict[str, str] = {}
    if not isinstance(raw, list):
        return [], {"offers": "must be a list"}
    offers: list[Offer] = []
    codes: set[str] = set()
    for i, item in enumerate(raw):
        path = f"offers[{i}]"
        if not isinstance(item, dict):
            errors[path] = "must be an object"
            continue
        code, label = str(item.get("code") or "").strip(), str(item.get("label") or "").strip()
        if not code or len(code) > 40:
            errors[f"{path}.code"] = "required, at most 40 characters"
        elif code in codes:
            errors[f"{path}.code"] = "duplicate code"
        codes.add(code)
        if not label or len(label) > 40:
            errors[f"{path}.label"] = "required, at most 40 characters"
        kind = item.get("kind", "coupon")
        if kind not in OFFER_KINDS:
            errors[f"{path}.kind"] = f"one of {', '.join(OFFER_KINDS)}"
        amounts = {}
        for key in ("amount", "threshold"):
            if item.get(key) in (None, ""):
                amounts[key] = None
                continue
            amounts[key] = parse_yuan(item[key], negative=False)
            if amounts[key] is None:
                errors[f"{path}.{key}"] = "a yuan amount such as \"50.00\""
        scenarios = item.get("scenarios") or []
        if not isinstance(scenarios, list) or any(s not in SCENARIOS for s in scenarios):
            errors[f"{path}.scenarios"] = f"a list of: {', '.join(SCENARIOS)}"
            scenarios = []
        valid_until = None
        if item.get("valid_until"):
            try:
                valid_until = dt.date.fromisoformat(str(item["valid_until"]))
            except ValueError:
                errors[f"{path}.valid_until"] = "a date YYYY-MM-DD"
        if not any(k.startswith(path) for k in errors):
            offers.append(Offer(code, label, kind, amounts["amount"], amounts["threshold"], tuple(scenarios), valid_until))
    return offers, errors
