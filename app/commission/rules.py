"""What head office sets for commission: the commission rules and the attribution rules.

Rules are versioned by time, never edited in place: changing a rule ends the old one when the
new one starts (now or later), so orders already paid keep the commission they were promised.
Only head office changes these (``require_head_office``); a store manager reads them. Each
action runs inside the caller's transaction and never commits itself.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import brand_timezone as brand_zone
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.i18n import field_sentences, t
from app.ingest.validate import FieldError, moment
from assistant import attribution as attr
from assistant import commission_rules as cr
from models import CommissionRule, Order, Role, Setting, Staff, utcnow

SETTING_KEY = "attribution"


def require_head_office(staff: Staff, what: str) -> None:
    """Brand-wide commission settings (rules, attribution, closing a month) are head office's alone;
    a store manager reads them and adjusts their own clerks, nothing more."""
    if staff.role != Role.hq:
        raise Forbidden(t(f"commission.forbidden.{what}"), {"role": t("commission.forbidden.head_office_only")})


def attribution_config(session: Session) -> dict[str, Any]:
    """The brand's attribution rules (defaults until head office saves its own)."""
    row = session.get(Setting, SETTING_KEY)
    config, _ = attr.validate_config(row.value if row else {})
    return config


def set_attribution_config(session: Session, staff: Staff, value: Any) -> dict[str, Any]:
    """Validate and save the attribution rules; they apply to orders attributed from now on."""
    require_head_office(staff, "attribution")
    config, errors = attr.validate_config(value)
    if errors:
        raise Invalid(t("commission.attribution.invalid"), field_sentences(errors, "commission.attribution.error"))
    row = session.get(Setting, SETTING_KEY)
    if row is None:
        session.add(Setting(key=SETTING_KEY, value=config, updated_by=staff.id))
    else:
        row.value = config
        row.updated_by = staff.id
    session.flush()
    return config


def active_rules(session: Session) -> list[cr.RuleSpec]:
    return [cr.rule_spec(r) for r in session.scalars(select(CommissionRule).order_by(CommissionRule.id))]


DEFAULT_RULES = (
    {"name": "全场 3%", "kind": "percent", "rate_bp": 300},
    {"name": "护肤 5%", "kind": "percent", "category": "skincare", "rate_bp": 500},
    {"name": "每单 2 元", "kind": "fixed", "amount_fen": 200},
    {"name": "月销 3 万起阶梯奖励", "kind": "tier",
     "tiers": [{"from_fen": 0, "rate_bp": 0}, {"from_fen": 3_000_000, "rate_bp": 50}, {"from_fen": 8_000_000, "rate_bp": 100}]},
)


def seed_default_rules(session: Session) -> list[CommissionRule]:
    """A starting rule set, effective from the first order on, when the brand has no rules yet."""
    if session.scalar(select(CommissionRule.id).limit(1)) is not None:
        return []
    first = session.scalar(select(func.min(Order.created_at))) or utcnow()
    rules = [CommissionRule(**values, effective_from=first) for values in DEFAULT_RULES]
    session.add_all(rules)
    session.flush()
    return rules


def create_rule(session: Session, staff: Staff, payload: Any, now: dt.datetime | None = None) -> CommissionRule:
    """Add a commission rule; it applies to orders paid from its ``effective_from`` on."""
    require_head_office(staff, "rules")
    values, errors = cr.validate_rule(_in_brand_time(payload), now or utcnow())
    if errors:
        raise _invalid_rule(errors)
    rule = CommissionRule(**values, created_by=staff.id, created_at=now or utcnow())
    session.add(rule)
    session.flush()
    return rule


def replace_rule(session: Session, staff: Staff, rule_id: int, payload: Any,
                 now: dt.datetime | None = None) -> CommissionRule:
    """Change a rule: the old one ends when the new one starts (now or later, never earlier),
    so orders already paid keep the commission they were promised."""
    require_head_office(staff, "rules")
    now = now or utcnow()
    old = _open_rule(session, rule_id, now)
    values, errors = cr.validate_rule(_in_brand_time(payload), now)
    if errors:
        raise _invalid_rule(errors)
    if values["effective_from"] < now:
        raise Invalid(t("commission.rule.invalid"), {"effective_from": t("commission.rule.change_from_now")})
    old.effective_to = max(values["effective_from"], old.effective_from)
    rule = CommissionRule(**values, created_by=staff.id, created_at=now)
    session.add(rule)
    session.flush()
    return rule


def _in_brand_time(payload: Any) -> Any:
    """The rule with its times read as DESIGN.md says: a time without an offset is in the brand's
    timezone (a date picker sends "2026-12-01T00:00"). Anything unreadable is left to the validator."""
    if not isinstance(payload, dict):
        return payload
    out = dict(payload)
    for key in ("effective_from", "effective_to"):
        try:
            out[key] = moment(payload[key], brand_zone()).isoformat()
        except (KeyError, FieldError):
            pass
    return out


def _invalid_rule(errors: dict[str, str]) -> Invalid:
    return Invalid(t("commission.rule.invalid"), field_sentences(errors, "commission.rule.error"))


def end_rule(session: Session, staff: Staff, rule_id: int, now: dt.datetime | None = None) -> CommissionRule:
    """Stop a rule for orders paid from now on."""
    require_head_office(staff, "rules")
    now = now or utcnow()
    rule = _open_rule(session, rule_id, now)
    rule.effective_to = max(now, rule.effective_from)
    session.flush()
    return rule


def _open_rule(session: Session, rule_id: int, now: dt.datetime) -> CommissionRule:
    rule = session.get(CommissionRule, rule_id)
    if rule is None:
        raise NotFound("no such rule", {"rule_id": "no such rule"})
    if rule.effective_to is not None and rule.effective_to <= now:
        raise Conflict("rule already ended", {"rule_id": "this rule has ended; create a new one"})
    return rule
