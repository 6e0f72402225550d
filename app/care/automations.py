"""Routine automations (常规化服务营销, seed 001): rules that fire on their own, each once.

Each rule finds its candidates with one query, drops those it already handled (an
``AutomationRun`` row keyed by rule and event — the idempotency key), asks the contact policy
under the rule's own class (service or marketing), and sends through the outbox with the key as
the message's client id. Running a rule twice, or on two workers at once, never sends twice:
the key is unique in ``automation_runs`` and in ``messages.client_id``.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.config import brand_timezone
from app import db
from app.care.actions import render_copy
from app.contact.service import decide_many
from app.customers.serialize import yuan
from app.errors import DomainError
from app.i18n import t
from app.messaging.actions import owner_clerk_ids, send_message
from models import (AutomationRun, Customer, Order, OrderItem, Product, Setting, Stage, Staff,
                    utcnow)

log = logging.getLogger("daogou.automations")
SETTING_KEY = "automations"


@dataclass(frozen=True)
class Rule:
    key: str
    label: str
    purpose: str  # service | marketing: which budget of the contact policy it spends
    enabled: bool
    params: dict[str, int]
    template: str


RULES: tuple[Rule, ...] = (
    Rule("unpaid_reminder", "实时催付", "service", True, {"after_minutes": 30, "min_amount_yuan": 100},
         "{{ customer_name }}您好，您有一笔 ¥{{ amount }} 的订单还未付款，商品已为您保留，有问题随时找我～"),
    Rule("shipping_notice", "发货通知", "service", True, {"within_hours": 24},
         "{{ customer_name }}您好，您的订单（¥{{ amount }}）已发货，请留意查收。"),
    Rule("delivery_notice", "签收提醒", "service", True, {"within_hours": 24},
         "{{ customer_name }}您好，您的订单已送达，签收后有任何问题都可以找我。"),
    Rule("review_care", "签收后关怀", "service", True, {"after_days": 3},
         "{{ customer_name }}您好，收到的商品用得还习惯吗？有任何使用问题随时问我。"),
    Rule("honeymoon", "新客回访", "marketing", True, {"after_days": 7},
         "{{ customer_name }}您好，我是您的专属导购{{ clerk_name }}，第一次购买的商品用着怎么样？"),
    Rule("replenishment", "补货提醒", "marketing", True, {"days_before": 3},
         "{{ customer_name }}您好，您上次买的{{ product_name }}大约还能用 {{ days_left }} 天，需要帮您留一份吗？"),
    Rule("birthday", "生日关怀", "marketing", True, {"days_before": 3},
         "{{ customer_name }}，提前祝您生日快乐！门店为您准备了一份生日小礼，欢迎来取～"),
    Rule("dormant_reactivation", "休眠唤醒", "marketing", False, {"quiet_days": 30},
         "{{ customer_name }}您好，好久不见！店里到了几款新品，想着您可能会喜欢，有空来看看？"),
)
RULES_BY_KEY = {r.key: r for r in RULES}


def load_rules(session: Session) -> dict[str, Rule]:
    """The built-in rules with head office's overrides (enabled, params, template) applied."""
    row = session.get(Setting, SETTING_KEY)
    overrides = row.value if row else {}
    out = {}
    for r in RULES:
        o = overrides.get(r.key, {})
        out[r.key] = Rule(r.key, r.label, r.purpose, o.get("enabled", r.enabled),
                          {**r.params, **o.get("params", {})}, o.get("template", r.template))
    return out


def validate_overrides(data: Any) -> dict[str, str]:
    """Problems with a settings payload, by path; empty when it is fine."""
    if not isinstance(data, dict):
        return {"body": "expected an object keyed by rule"}
    problems: dict[str, str] = {}
    for key, o in data.items():
        if key not in RULES_BY_KEY:
            problems[key] = "unknown rule"
            continue
        if not isinstance(o, dict):
            problems[key] = "expected an object"
            continue
        for name in set(o) - {"enabled", "params", "template"}:
            problems[f"{key}.{name}"] = "unknown setting"
        if "enabled" in o and not isinstance(o["enabled"], bool):
            problems[f"{key}.enabled"] = "true or false"
        for p, v in (o.get("params") or {}).items():
            if p not in RULES_BY_KEY[key].params:
                problems[f"{key}.params.{p}"] = "unknown parameter"
            elif isinstance(v, bool) or not isinstance(v, int) or v < 0:
                problems[f"{key}.params.{p}"] = t("hq.automations.error.whole_number")
        if "template" in o:
            try:
                render_copy(str(o["template"]), _sample_context())
            except TemplateError as exc:
                problems[f"{key}.template"] = t("hq.automations.error.template", reason=exc)
    return problems


def template_variables() -> tuple[str, ...]:
    """The names a rule's copy may use ({{ customer_name }}…)."""
    return tuple(_sample_context())


def _sample_context() -> dict[str, Any]:
    return {"customer_name": "张三", "clerk_name": "小王", "amount": "268.00", "product_name": "面膜",
            "days_left": 3}


# Candidate finders: each returns (event key, customer id, template context) for one rule ------

Candidate = tuple[str, int, dict[str, Any]]


def _unpaid(s: Session, rule: Rule, now: dt.datetime) -> list[Candidate]:
    p = rule.params
    rows = s.execute(select(Order.id, Order.customer_id, Order.amount_fen).where(
        Order.status == "created", Order.amount_fen >= p["min_amount_yuan"] * 100,
        Order.created_at <= now - dt.timedelta(minutes=p["after_minutes"]),
        Order.created_at > now - dt.timedelta(days=2)))
    return [(f"order:{oid}", cid, {"amount": yuan(amt)}) for oid, cid, amt in rows]


def _status_notice(column) -> Callable[[Session, Rule, dt.datetime], list[Candidate]]:
    def find(s: Session, rule: Rule, now: dt.datetime) -> list[Candidate]:
        since = now - dt.timedelta(hours=rule.params["within_hours"])
        rows = s.execute(select(Order.id, Order.customer_id, Order.amount_fen).where(
            column.is_not(None), column > since, column <= now))
        return [(f"order:{oid}", cid, {"amount": yuan(amt)}) for oid, cid, amt in rows]
    return find


def _review(s: Session, rule: Rule, now: dt.datetime) -> list[Candidate]:
    due = now - dt.timedelta(days=rule.params["after_days"])
    rows = s.execute(select(Order.id, Order.customer_id).where(
        Order.delivered_at.is_not(None), Order.delivered_at <= due,
        Order.delivered_at > due - dt.timedelta(days=1), Order.status.in_(("delivered", "completed"))))
    return [(f"order:{oid}", cid, {}) for oid, cid in rows]


def _honeymoon(s: Session, rule: Rule, now: dt.datetime) -> list[Candidate]:
    due = now - dt.timedelta(days=rule.params["after_days"])
    rows = s.execute(select(Customer.id).where(
        Customer.paid_orders == 1, Customer.first_paid_at <= due,
        Customer.first_paid_at > due - dt.timedelta(days=1)))
    return [("first", cid, {}) for (cid,) in rows]


def _replenishment(s: Session, rule: Rule, now: dt.datetime) -> list[Candidate]:
    """Consumables whose cycle (usage_days × quantity from the last paid order) ends soon."""
    last = (select(Order.customer_id, func.max(Order.paid_at).label("paid_at"))
            .where(Order.status.in_(("paid", "shipped", "delivered", "completed")))
            .group_by(Order.customer_id).subquery())
    rows = s.execute(
        select(Order.id, Order.customer_id, Order.paid_at, Product.name, Product.usage_days, OrderItem.quantity)
        .join(last, and_(last.c.customer_id == Order.customer_id, last.c.paid_at == Order.paid_at))
        .join(OrderItem, OrderItem.order_id == Order.id).join(Product, Product.id == OrderItem.product_id)
        .where(Product.usage_days.is_not(None), Order.paid_at > now - dt.timedelta(days=400)))
    out: dict[int, Candidate] = {}
    for oid, cid, paid_at, name, usage, qty in rows:
        ends = paid_at + dt.timedelta(days=usage * qty)
        left = (ends - now).days
        if 0 <= left <= rule.params["days_before"] and cid not in out:
            out[cid] = (f"order:{oid}", cid, {"product_name": name, "days_left": max(left, 1)})
    return list(out.values())


def _birthday(s: Session, rule: Rule, now: dt.datetime) -> list[Candidate]:
    local = now.astimezone(brand_timezone()).date()
    target = local + dt.timedelta(days=rule.params["days_before"])
    rows = s.execute(select(Customer.id, Customer.birthday).where(Customer.birthday.is_not(None)))
    # Birthdays are compared by month and day in Python over two small columns; the candidate
    # set is one day's birthdays, and the key includes the year so it fires once a year.
    return [(f"year:{target.year}", cid, {}) for cid, b in rows
            if (b.month, b.day) == (target.month, target.day)]


def _dormant(s: Session, rule: Rule, now: dt.datetime) -> list[Candidate]:
    quiet = now - dt.timedelta(days=rule.params["quiet_days"])
    rows = s.execute(select(Customer.id).where(
        Customer.stage == Stage.dormant,
        (Customer.last_contacted_at.is_(None)) | (Customer.last_contacted_at < quiet)))
    month = now.strftime("%Y-%m")
    return [(f"month:{month}", cid, {}) for (cid,) in rows]


FINDERS: dict[str, Callable[[Session, Rule, dt.datetime], list[Candidate]]] = {
    "unpaid_reminder": _unpaid,
    "shipping_notice": _status_notice(Order.shipped_at),
    "delivery_notice": _status_notice(Order.delivered_at),
    "review_care": _review,
    "honeymoon": _honeymoon,
    "replenishment": _replenishment,
    "birthday": _birthday,
    "dormant_reactivation": _dormant,
}


def run_rule(rule_key: str, now: dt.datetime | None = None) -> dict[str, int]:
    """Fire one rule for everything due now; each (rule, event, customer) at most once."""
    now = now or utcnow()
    counts = {"sent": 0, "deferred": 0, "skipped": 0}
    with db.get_db().transaction() as s:
        rule = load_rules(s)[rule_key]
        if not rule.enabled:
            return counts
        candidates = FINDERS[rule_key](s, rule, now)
        keys = {f"auto:{rule.key}:{event}:{cid}": (cid, ctx) for event, cid, ctx in candidates}
        done = set()
        key_list = list(keys)
        for chunk in db.chunks(key_list):
            done |= set(s.scalars(select(AutomationRun.key).where(AutomationRun.key.in_(chunk))))
        todo = {k: v for k, v in keys.items() if k not in done}
        if not todo:
            return counts
        ids = sorted({cid for cid, _ in todo.values()})
        decisions = decide_many(s, ids, purpose=rule.purpose, now=now, source="automation")
        owners = owner_clerk_ids(s, ids)
        names: dict[int, str] = {}
        for chunk in db.chunks(ids):
            names.update(s.execute(select(Customer.id, Customer.name).where(Customer.id.in_(chunk))).all())
        clerk_names = dict(s.execute(select(Staff.id, Staff.display_name)
                                     .where(Staff.id.in_(set(owners.values())))).all())
        for key, (cid, ctx) in todo.items():
            d = decisions[cid]
            clerk = owners.get(cid)
            outcome, reason = "skipped", d.reason
            if clerk is None:
                reason = "客户没有负责导购"
            elif d.allowed or d.deferred:
                context = {**_sample_context(), **ctx, "customer_name": names.get(cid, ""),
                           "clerk_name": clerk_names.get(clerk, "")}
                try:
                    send_message(s, clerk_id=clerk, customer_id=cid, body=render_copy(rule.template, context),
                                 channel=d.channel, purpose=rule.purpose, client_id=key,
                                 payload={"automation": rule.key}, defer_until=d.until, source="automation")
                    outcome, reason = ("deferred", d.reason) if d.deferred else ("sent", None)
                except DomainError as exc:
                    reason = exc.message
            s.add(AutomationRun(key=key, rule=rule.key, customer_id=cid, outcome=outcome,
                                reason=(reason or "")[:160] or None, created_at=now))
            counts[outcome] += 1
    return counts


def on_outbound_settled(session: Session, client_id: str | None, sent: bool, reason: str | None,
                        **_: Any) -> None:
    """An automation's send held for quiet hours went, or was called off (its key is the client id)."""
    if client_id and client_id.startswith("auto:"):
        session.execute(update(AutomationRun).where(AutomationRun.key == client_id,
                                                    AutomationRun.outcome == "deferred")
                        .values(outcome="sent" if sent else "skipped", reason=None if sent else (reason or "")[:160]))


def run_all() -> dict[str, dict[str, int]]:
    """The scheduler's entry point: every enabled rule in turn."""
    out = {}
    for rule in RULES:
        try:
            out[rule.key] = run_rule(rule.key)
        except IntegrityError:
            # Another worker recorded the same keys first: it sent them; nothing to redo.
            out[rule.key] = {"sent": 0, "deferred": 0, "skipped": 0}
    return out
