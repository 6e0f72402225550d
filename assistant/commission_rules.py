"""Commission rules (提成规则): what each kind pays, and checking a rule head office writes.

Rule kinds:

- ``percent``: ``rate_bp`` of the order lines it matches — a ``sku``, else a ``category``, else
  every line. Each line earns under its most specific matching rule (sku > category > all), then
  the higher ``priority``, then the newer rule.
- ``fixed``: ``amount_fen`` once per order that holds a matching commissionable line.
- ``tier``: monthly tiers by attributed sales, marginal like tax brackets: the part of a clerk's
  month-to-date commissionable sales above ``from_fen`` earns ``rate_bp``. An order earns
  R(before + its sales) − R(before), so a clerk's month totals R(month sales) whatever the order
  in which orders arrive. One tier rule applies per order (highest priority, then newest).
- ``exclusion``: lines of a sku or category (clearance…) earn nothing and do not count for tiers.

A rule applies to orders paid in ``[effective_from, effective_to)``: changing a rule ends it and
starts a new one, so the change reaches only later orders. Amounts are integer fen.

This module holds the rules (their kinds, validation, and the ``RuleSpec`` the arithmetic
reads); the arithmetic that turns attributed orders into ledger lines under them is
``assistant.commission_compute``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from models.money import parse_yuan, yuan

KINDS = ("percent", "fixed", "tier", "exclusion")
MAX_RATE_BP = 10_000
MAX_FIXED_FEN = 100_000_00  # ¥100,000 per order is already a typo, not a bonus


@dataclass(frozen=True)
class RuleSpec:
    """A commission rule as the arithmetic needs it (built from ``models.CommissionRule``)."""

    id: int
    name: str
    kind: str
    effective_from: dt.datetime
    effective_to: dt.datetime | None = None
    category: str | None = None
    sku: str | None = None
    rate_bp: int | None = None
    amount_fen: int | None = None
    tiers: tuple[tuple[int, int], ...] = field(default_factory=tuple)  # (from_fen, rate_bp), ascending
    priority: int = 100

    @property
    def specificity(self) -> int:
        return 2 if self.sku else 1 if self.category else 0




def _parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else None
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


FIELDS = {"name", "kind", "category", "sku", "rate_bp", "amount", "tiers", "priority",
          "effective_from", "effective_to"}


def validate_rule(payload: Any, now: dt.datetime) -> tuple[dict[str, Any], dict[str, str]]:
    """Check a rule from the API; return the model's column values and ``{field: reason}``.

    Money comes in yuan strings (``amount``, ``tiers[].from``), rates in basis points, times in
    ISO 8601 with an offset. ``effective_from`` defaults to now.
    """
    errors: dict[str, str] = {}
    if not isinstance(payload, dict):
        return {}, {"": "must be an object"}
    for key in sorted(set(payload) - FIELDS):
        errors[key] = "unknown field"
    out: dict[str, Any] = {}

    name = payload.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 120:
        errors["name"] = "required, at most 120 characters"
    else:
        out["name"] = name.strip()
    kind = payload.get("kind")
    if kind not in KINDS:
        errors["kind"] = f"one of {', '.join(KINDS)}"
        return out, errors
    out["kind"] = kind

    _check_scope(payload, kind, out, errors)
    _check_amounts(payload, kind, out, errors)
    priority = payload.get("priority", 100)
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 1000:
        errors["priority"] = "a whole number from 0 to 1000"
    else:
        out["priority"] = priority
    _check_period(payload, now, out, errors)
    return out, errors


def _check_scope(payload: dict[str, Any], kind: str, out: dict[str, Any], errors: dict[str, str]) -> None:
    """The lines a rule matches: a category or a sku (or every line)."""
    for key, limit in (("category", 40), ("sku", 64)):
        v = payload.get(key)
        if v is not None and (not isinstance(v, str) or not v.strip() or len(v) > limit):
            errors[key] = f"a non-empty string of at most {limit} characters, or null"
        out[key] = v.strip() if isinstance(v, str) and v.strip() else None
    if out.get("category") and out.get("sku"):
        errors["sku"] = "give a sku or a category, not both"
    if kind == "exclusion" and not (out.get("category") or out.get("sku")):
        errors["category"] = "an exclusion names a category or a sku"
    if kind == "tier" and (out.get("category") or out.get("sku")):
        errors["category"] = "tiers count all of a clerk's sales; use exclusions to leave some out"


def _check_amounts(payload: dict[str, Any], kind: str, out: dict[str, Any], errors: dict[str, str]) -> None:
    """What the rule pays: a rate, a fixed amount or tiers, each only for its own kind."""
    for key, owner, check in (("rate_bp", "percent", _rate), ("amount", "fixed", _amount), ("tiers", "tier", _tiers)):
        value = payload.get(key)
        if kind == owner:
            values, problems = check(value)
            out.update(values)
            errors.update(problems)
        elif value is not None:
            errors[key] = f"only for {owner} rules"


def _rate(rate: Any) -> tuple[dict[str, Any], dict[str, str]]:
    if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= MAX_RATE_BP:
        return {}, {"rate_bp": f"basis points from 0 to {MAX_RATE_BP} (300 = 3%)"}
    return {"rate_bp": rate}, {}


def _amount(amount: Any) -> tuple[dict[str, Any], dict[str, str]]:
    fen = parse_yuan(amount)
    if fen is None or not 0 < fen <= MAX_FIXED_FEN:
        return {}, {"amount": f"yuan per order, e.g. \"5.00\", above 0 and at most {yuan(MAX_FIXED_FEN)}"}
    return {"amount_fen": fen}, {}


def _tiers(tiers: Any) -> tuple[dict[str, Any], dict[str, str]]:
    parsed, reason = _parse_tiers(tiers)
    if reason:
        return {}, reason
    return {"tiers": [{"from_fen": f, "rate_bp": r} for f, r in parsed]}, {}


def _check_period(payload: dict[str, Any], now: dt.datetime, out: dict[str, Any], errors: dict[str, str]) -> None:
    """``[effective_from, effective_to)`` in UTC; from defaults to now, to to open-ended."""
    start = payload.get("effective_from")
    start_at = now if start is None else _parse_time(start)
    if start_at is None:
        errors["effective_from"] = "ISO 8601 time with an offset, e.g. 2026-12-01T00:00:00+08:00"
    else:
        out["effective_from"] = start_at.astimezone(dt.timezone.utc)
    end = payload.get("effective_to")
    if end is not None:
        end_at = _parse_time(end)
        if end_at is None:
            errors["effective_to"] = "ISO 8601 time with an offset, or null"
        elif start_at is not None and end_at <= start_at:
            errors["effective_to"] = "must be after effective_from"
        else:
            out["effective_to"] = end_at.astimezone(dt.timezone.utc)
    else:
        out["effective_to"] = None


def _parse_tiers(tiers: Any) -> tuple[list[tuple[int, int]], dict[str, str]]:
    if not isinstance(tiers, list) or not 1 <= len(tiers) <= 20:
        return [], {"tiers": "a list of 1 to 20 {\"from\": yuan, \"rate_bp\": n}, from ascending"}
    parsed: list[tuple[int, int]] = []
    errors: dict[str, str] = {}
    for i, tier in enumerate(tiers):
        if not isinstance(tier, dict) or set(tier) - {"from", "rate_bp"}:
            errors[f"tiers[{i}]"] = "an object with from and rate_bp"
            continue
        start = parse_yuan(tier.get("from"))
        rate = tier.get("rate_bp")
        if start is None or start < 0:
            errors[f"tiers[{i}].from"] = "month-to-date sales in yuan, 0 or more"
        elif parsed and start <= parsed[-1][0]:
            errors[f"tiers[{i}].from"] = "must be above the previous tier's"
        if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= MAX_RATE_BP:
            errors[f"tiers[{i}].rate_bp"] = f"basis points from 0 to {MAX_RATE_BP}"
        if f"tiers[{i}].from" not in errors and f"tiers[{i}].rate_bp" not in errors and start is not None:
            parsed.append((start, rate))
    if not errors and parsed[0][0] != 0:
        errors["tiers[0].from"] = "the first tier starts at 0"
    return parsed, errors


def rule_spec(row: Any) -> RuleSpec:
    """A ``RuleSpec`` from a ``CommissionRule`` row (or anything with the same attributes)."""
    tiers = tuple((int(t["from_fen"]), int(t["rate_bp"])) for t in (row.tiers or []))
    return RuleSpec(id=row.id, name=row.name, kind=row.kind, effective_from=row.effective_from,
                    effective_to=row.effective_to, category=row.category, sku=row.sku,
                    rate_bp=row.rate_bp, amount_fen=row.amount_fen, tiers=tiers, priority=row.priority)

