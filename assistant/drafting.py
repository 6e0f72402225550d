"""Drafted copy (草稿) for one customer and one scenario: a model when configured, templates always.

The flow of ``write_draft``:

1. When an OpenAI-compatible endpoint is configured, ask it for structured output (JSON schema:
   text, products featured, reason) with a prompt carrying the customer's stage, tags with reasons,
   last purchases and their cycle, the scenario or care task goal, the clerk's name and tone, the
   offers head office allows, the channel's limits and the products to feature.
2. Frame the text for the channel and run the guardrails (``assistant.guardrails``). On a
   violation ask once more, naming it; if it still fails, use the template.
3. Timeouts, 429, 5xx and invalid JSON fall back to the template; the whole model path is held to
   a time budget (≈3 s) with no SDK retries, so the clerk never waits longer.
4. Templates are curated zh-CN variants per scenario rendered in a sandboxed Jinja2; the variant
   is rotated per customer (least recently drafted for them first) so two sends differ.

Nothing here imports Flask: the app passes settings in and stores the result.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openai
from jinja2 import StrictUndefined, Template, TemplateError, TemplateRuntimeError
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from assistant import guardrails
from assistant.recommend import NEW_ARRIVAL_DAYS, CatalogueItem, CustomerHistory, Purchase, Recommender
from models import (CareTask, Customer, CustomerScore, CustomerTag, Draft, FollowerBinding, Order, OrderItem,
                    Staff, Store, Tag)
from models.commerce import PAID_STATUSES
from models.drafting import DraftSource
from models.money import parse_yuan, yuan

TEMPLATES_PATH = Path(__file__).resolve().parent / "templates" / "zh-CN.json"

SCENARIOS: dict[str, str] = {
    "unpaid": "催付",
    "replenish": "补货",
    "birthday": "生日",
    "festival": "节日",
    "winback": "休眠唤醒",
    "new_arrival": "新品",
    "aftercare": "售后关怀",
    "task": "关怀任务",
}
# Chinese names, the ranker's action words and the console's button names all map to one key.
SCENARIO_ALIASES = {label: key for key, label in SCENARIOS.items()} | {
    "唤醒": "winback", "生日关怀": "birthday", "新品推荐": "new_arrival", "补货提醒": "replenish",
    "节日问候": "festival", "replenishment": "replenish", "holiday": "festival", "payment": "unpaid"}
# Service messages answer something the customer did (an order, a purchase); the rest is
# marketing, which on SMS must carry the opt-out.
SERVICE_SCENARIOS = frozenset({"unpaid", "aftercare"})
TONES = {"friendly": "亲切自然，像熟悉的朋友", "professional": "专业稳重，简洁有礼", "lively": "活泼热情，可以用一个表情"}
STAGE_LABELS = {"prospect": "潜客", "new": "新客", "repeat": "老客", "dormant": "休眠流失", "fan": "粉丝"}

MODEL_BUDGET_SECONDS = 3.0
# Below this much time left, a retry cannot finish; go straight to the template.
MIN_CALL_SECONDS = 0.4
MAX_PRODUCTS = 3
# How far back the rotation remembers which variant a customer got (a year of drafts is plenty).
ROTATION_MEMORY = dt.timedelta(days=365)

# Fixed-date and (for the next years) lunar festivals, for the 节日 scenario's default occasion.
_FIXED_FESTIVALS = ((1, 1, "元旦"), (2, 14, "情人节"), (3, 8, "妇女节"), (5, 1, "劳动节"), (6, 1, "儿童节"),
                    (9, 10, "教师节"), (10, 1, "国庆节"), (11, 11, "双十一"), (12, 12, "双十二"), (12, 25, "圣诞节"))
_LUNAR_FESTIVALS = {dt.date(2026, 2, 17): "春节", dt.date(2026, 6, 19): "端午节", dt.date(2026, 8, 19): "七夕",
                    dt.date(2026, 9, 25): "中秋节", dt.date(2027, 2, 6): "春节", dt.date(2027, 6, 9): "端午节",
                    dt.date(2027, 8, 8): "七夕", dt.date(2027, 9, 15): "中秋节", dt.date(2028, 1, 26): "春节"}


def normalise_scenario(value: str | None) -> str | None:
    """The scenario key for a key or its Chinese name (催付 → unpaid); None when unknown."""
    if not value:
        return None
    value = value.strip()
    return value if value in SCENARIOS else SCENARIO_ALIASES.get(value)


def _fen(value: Any) -> int | None:
    return parse_yuan(value, negative=False)


# Offers ---------------------------------------------------------------------------------------

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
            amounts[key] = _fen(item[key])
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


# Templates ------------------------------------------------------------------------------------

_VARIANT_ID = re.compile(r"^[a-z_]+\.[A-Za-z0-9_-]{1,20}$")
# What one rendering may produce: a chat message is a few hundred characters; a template whose
# output runs past this is refused (a loop over range(99999), "x" * 10**9) instead of filling
# memory or failing the request.
MAX_RENDERED_CHARS = 100_000
_MAX_EXPONENT = 1000


class BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox, also refusing one-step arithmetic that builds a value larger than any
    message could be (``render_bounded`` caps the output, but only after a value exists)."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*" and _repeat_size(left, right) > MAX_RENDERED_CHARS:
            raise SecurityError(f"the product is longer than {MAX_RENDERED_CHARS} characters")
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > _MAX_EXPONENT:
            raise SecurityError(f"exponent above {_MAX_EXPONENT}")
        if (operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple))
                and len(left) + len(right) > MAX_RENDERED_CHARS):
            raise SecurityError(f"the sum is longer than {MAX_RENDERED_CHARS} characters")
        return super().call_binop(context, operator, left, right)


def _repeat_size(left: Any, right: Any) -> int:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
            return len(seq) * times
    return 0


_env = BoundedSandbox(undefined=StrictUndefined, autoescape=False, trim_blocks=True)


def render_bounded(template: Template, variables: dict[str, Any]) -> str:
    """Render at most ``MAX_RENDERED_CHARS``; whatever a template does wrong is a ``TemplateError``.

    Rendered as a stream so a long loop stops at the bound; errors the sandbox lets through as
    plain Python ones (``range`` past its limit, 1/0, "a" - 1, runaway recursion) become
    template errors, which callers report against the template's field.
    """
    parts: list[str] = []
    size = 0
    try:
        for chunk in template.generate(**variables):
            size += len(chunk)
            if size > MAX_RENDERED_CHARS:
                raise TemplateRuntimeError(f"renders longer than {MAX_RENDERED_CHARS} characters")
            parts.append(chunk)
    except (ArithmeticError, TypeError, ValueError, LookupError, RecursionError) as exc:
        # OverflowError (range above the sandbox's MAX_RANGE) is an ArithmeticError.
        raise TemplateRuntimeError(f"{type(exc).__name__}: {exc}"[:200]) from None
    return "".join(parts).strip()


def default_templates() -> dict[str, Any]:
    return json.loads(TEMPLATES_PATH.read_text(encoding="utf-8"))["scenarios"]


class TemplateBook:
    """The templates in force: each scenario's variants, compiled once."""

    def __init__(self, scenarios: dict[str, Any]) -> None:
        self.scenarios = scenarios
        self._compiled = {v["id"]: _env.from_string(v["text"])
                          for s in scenarios.values() for v in s["variants"]}

    @classmethod
    def with_overrides(cls, overrides: dict[str, Any] | None) -> TemplateBook:
        """Defaults, with the scenarios head office replaced."""
        return cls(default_templates() | (overrides or {}))

    def variant_ids(self, scenario: str) -> list[str]:
        return [v["id"] for v in self.scenarios.get(scenario, {}).get("variants", [])]

    def render(self, variant_id: str, variables: dict[str, Any]) -> str:
        return render_bounded(self._compiled[variant_id], variables)


# What a template may quote on its own: nothing. Prices, offers and phone numbers come from
# variables ({{ product.price }}, {{ offer.label }}), so they are always the configured ones.
_LITERAL_CHECKS = frozenset({"price", "discount", "coupon", "phone", "banned_word"})


def validate_templates(scenarios: Any, banned_words: Iterable[str] = guardrails.DEFAULT_BANNED_WORDS) -> dict[str, str]:
    """Errors by path for a templates document.

    Each variant must render against a sample context (with and without the optional parts) and
    pass the guardrails there: a literal price, discount or coupon in a template would reach
    every customer whatever head office configured.
    """
    if not isinstance(scenarios, dict):
        return {"scenarios": "must be an object keyed by scenario"}
    errors: dict[str, str] = {}
    sample = sample_variables()
    sample_bare = sample_variables(bare=True)
    sample_rules = guardrails.channel_rules("wecom", marketing=True, signature="")
    sample_allowed = guardrails.Allowances(amounts_fen={12900, 5000, 30000, 26800}, offer_labels=["满300减50券"],
                                           coupons_allowed=True)
    banned = tuple(banned_words)
    ids: set[str] = set()
    for key, scenario in scenarios.items():
        path = f"scenarios.{key}"
        if key not in SCENARIOS:
            errors[path] = f"unknown scenario; one of {', '.join(SCENARIOS)}"
            continue
        variants = scenario.get("variants") if isinstance(scenario, dict) else None
        if not isinstance(variants, list) or not variants:
            errors[f"{path}.variants"] = "at least one variant"
            continue
        for i, variant in enumerate(variants):
            vpath = f"{path}.variants[{i}]"
            if not isinstance(variant, dict):
                errors[vpath] = "must be an object {id, text}"
                continue
            vid, text = variant.get("id"), variant.get("text")
            if not isinstance(vid, str) or not _VARIANT_ID.match(vid) or not vid.startswith(key + "."):
                errors[f"{vpath}.id"] = f"like \"{key}.a\" (scenario, dot, up to 20 letters or digits)"
            elif vid in ids:
                errors[f"{vpath}.id"] = "duplicate id"
            ids.add(str(vid))
            if not isinstance(text, str) or not text.strip() or len(text) > 1000:
                errors[f"{vpath}.text"] = "required, at most 1000 characters"
                continue
            try:
                template = _env.from_string(text)
                rendered = [render_bounded(template, sample), render_bounded(template, sample_bare)]
            except TemplateError as exc:
                errors[f"{vpath}.text"] = f"does not render: {exc}"
                continue
            if not all(rendered):
                errors[f"{vpath}.text"] = "renders to an empty message"
            elif max(len(r) for r in rendered) > guardrails.CHAT_MAX_CHARS:
                errors[f"{vpath}.text"] = f"renders longer than {guardrails.CHAT_MAX_CHARS} characters"
            else:
                bare_allowed = guardrails.Allowances(amounts_fen={26800})  # only the unpaid order's amount
                found = [v for text_, allowed in zip(rendered, (sample_allowed, bare_allowed))
                         for v in guardrails.check(text_, sample_rules, allowed, banned_words=banned)
                         if v.code in _LITERAL_CHECKS]
                if found:
                    hint = ("; use {{ product.price }} / {{ offer.label }} instead of writing prices or offers"
                            if found[0].code in ("price", "discount", "coupon") else "")
                    errors[f"{vpath}.text"] = found[0].detail + hint
    return errors


def preview_template(text: str) -> tuple[list[str], str | None]:
    """The template rendered against the sample context (with and without optional parts), or the error."""
    try:
        template = _env.from_string(text)
        return [render_bounded(template, sample_variables()),
                render_bounded(template, sample_variables(bare=True))], None
    except TemplateError as exc:
        return [], str(exc)


def sample_variables(bare: bool = False) -> dict[str, Any]:
    """A sample context every template must render against (``bare``: no optional parts)."""
    product = {"name": "玻尿酸补水面膜", "price": "129.00", "sku": "SAMPLE-1", "link": None, "image": None, "is_new": True}
    return {
        "customer": {"name": "王小美", "salutation": "王女士", "stage_label": "老客"},
        "clerk": {"name": "小林"}, "brand": "示例品牌", "store": "南京西路店",
        "product": None if bare else product, "products": [] if bare else [product],
        "offer": None if bare else {"label": "满300减50券", "code": "M300J50"},
        "last_purchase": None if bare else {"name": "玻尿酸补水面膜", "days_ago": 18, "cycle_days": 20},
        "unpaid": {"amount": "268.00", "goods": "玻尿酸补水面膜等2件", "hours_ago": 3},
        "festival": "国庆节", "task": None if bare else {"title": "国庆老客关怀", "goal": "邀请老客回店"},
    }


def choose_variant(variant_ids: Sequence[str], history: Sequence[str], customer_id: int) -> str:
    """The variant this customer has not had (or had longest ago); ``history`` is newest first.

    Among unused variants the customer id picks one, so a batch spreads over the variants and head
    office can compare them.
    """
    unused = [v for v in variant_ids if v not in history]
    if unused:
        return unused[customer_id % len(unused)]
    return max(variant_ids, key=history.index)


# Context ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskBrief:
    id: int
    title: str
    goal: str | None
    scenario: str | None
    template: str | None
    product_skus: tuple[str, ...] = ()


@dataclass(frozen=True)
class DraftRequest:
    customer_id: int
    scenario: str
    channel: str
    clerk_id: int | None = None
    task: TaskBrief | None = None
    tone: str = "friendly"
    occasion: str | None = None


@dataclass(frozen=True)
class DraftingSettings:
    brand: str
    sms_signature: str
    offers: tuple[Offer, ...] = ()
    banned_words: tuple[str, ...] = guardrails.DEFAULT_BANNED_WORDS
    sms_segments: int = 2
    timezone: str = "Asia/Shanghai"


@dataclass
class PurchaseLine:
    name: str
    sku: str
    quantity: int
    paid_at: dt.datetime
    cycle_days: int | None
    due_at: dt.datetime | None


@dataclass
class DraftContext:
    """Everything one draft is written from; built in bulk by ``build_contexts``."""

    request: DraftRequest
    clerk_id: int | None  # who the draft is for: the asking clerk, else the customer's owner
    customer_name: str
    salutation: str
    stage: str | None
    tags: list[tuple[str, str | None]]
    purchases: list[PurchaseLine]
    unpaid_fen: int | None
    unpaid_items: str | None
    unpaid_created_at: dt.datetime | None
    clerk_name: str
    store_name: str
    brand: str
    offers: list[Offer]
    rules: guardrails.ChannelRules
    products: list[CatalogueItem]
    product_reasons: dict[str, str]
    festival: str
    own_phone: str | None
    now: dt.datetime
    variant_history: list[str] = field(default_factory=list)  # this customer's template variants, newest first
    ranker_reasons: list[str] = field(default_factory=list)    # why the ranker put them on Today, in words

    @property
    def scenario(self) -> str:
        return self.request.scenario

    def allowances(self) -> guardrails.Allowances:
        amounts = {p.price_fen for p in self.products}
        for offer in self.offers:
            amounts.update(a for a in (offer.amount_fen, offer.threshold_fen) if a is not None)
        if self.unpaid_fen is not None:
            amounts.add(self.unpaid_fen)
        return guardrails.Allowances(amounts_fen=amounts, offer_labels=[o.label for o in self.offers],
                                     coupons_allowed=any(o.kind == "coupon" for o in self.offers),
                                     product_skus={p.sku for p in self.products}, own_phone=self.own_phone)


def salutation(name: str, gender: str | None) -> str:
    """王女士 / 李先生 for a Chinese name with a known gender, else the name itself."""
    if gender in ("F", "M") and 2 <= len(name) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in name):
        return name[0] + ("女士" if gender == "F" else "先生")
    return name


def festival_for(today: dt.date) -> str:
    """The festival within the next two weeks (or today), else a generic 节日."""
    for offset in range(0, 15):
        day = today + dt.timedelta(days=offset)
        if day in _LUNAR_FESTIVALS:
            return _LUNAR_FESTIVALS[day]
        for month, dom, name in _FIXED_FESTIVALS:
            if (day.month, day.day) == (month, dom):
                return name
    return "节日"


def build_contexts(session: Session, requests: Sequence[DraftRequest], settings: DraftingSettings,
                   recommender: Recommender, now: dt.datetime,
                   describe_reason: Callable[[dict[str, Any]], str] | None = None) -> dict[int, DraftContext]:
    """Contexts for many customers with a fixed number of queries (not one per customer).

    ``describe_reason`` turns one of the ranker's reasons (``{"code", "params"}``) into words;
    without it the ranker's reasons are left out.
    """
    ids = [r.customer_id for r in requests]
    # Plain rows, not ORM objects: building thousands of instances would cost more than drafting.
    customers = {row.id: row for row in session.execute(
        select(Customer.id, Customer.name, Customer.gender, Customer.phone, Customer.stage)
        .where(Customer.id.in_(ids)))}
    tags: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for cid, label, name, reason in session.execute(
            select(CustomerTag.customer_id, Tag.label_zh, Tag.name, CustomerTag.reason)
            .join(Tag, Tag.id == CustomerTag.tag_id).where(CustomerTag.customer_id.in_(ids))):
        tags[cid].append((label or name, reason))
    orders: dict[int, list[OrderView]] = defaultdict(list)
    current: OrderView | None = None
    for row in session.execute(
            select(Order.id, Order.customer_id, Order.status, Order.amount_fen, Order.created_at, Order.paid_at,
                   OrderItem.product_id, OrderItem.quantity)
            .outerjoin(OrderItem, OrderItem.order_id == Order.id).where(Order.customer_id.in_(ids))
            .order_by(Order.customer_id, Order.created_at.desc(), Order.id.desc(), OrderItem.id)):
        if current is None or current.id != row.id:
            current = OrderView(row.id, row.status.value, row.amount_fen, row.created_at, row.paid_at, [])
            orders[row.customer_id].append(current)
        item = recommender.catalogue.get(row.product_id) if row.product_id is not None else None
        if item is not None:
            current.items.append((item, row.quantity))
    owners = {row.customer_id: row for row in session.execute(
        select(FollowerBinding.customer_id, Staff.id.label("clerk_id"), Staff.display_name, Store.name.label("store"))
        .join(Staff, Staff.id == FollowerBinding.clerk_id).outerjoin(Store, Store.id == Staff.store_id)
        .where(FollowerBinding.customer_id.in_(ids), FollowerBinding.current_owner()))}
    asked_clerks = {r.clerk_id for r in requests if r.clerk_id}
    clerks = {row.id: row for row in session.execute(
        select(Staff.id, Staff.display_name, Store.name.label("store"))
        .outerjoin(Store, Store.id == Staff.store_id).where(Staff.id.in_(asked_clerks)))} if asked_clerks else {}
    history: dict[int, list[str]] = defaultdict(list)
    for cid, variant in session.execute(
            select(Draft.customer_id, Draft.template_variant)
            .where(Draft.customer_id.in_(ids), Draft.source == DraftSource.template,
                   Draft.template_variant.is_not(None), Draft.created_at >= now - ROTATION_MEMORY)
            .order_by(Draft.created_at.desc(), Draft.id.desc())):
        history[cid].append(variant)
    ranker: dict[int, list[str]] = {}
    if describe_reason is not None:
        for cid, reasons in session.execute(select(CustomerScore.customer_id, CustomerScore.reasons)
                                            .where(CustomerScore.customer_id.in_(ids))):
            ranker[cid] = [describe_reason(r) for r in reasons or []
                           if isinstance(r, dict) and r.get("code") not in (None, "fallback")]

    local_today = now.astimezone(ZoneInfo(settings.timezone)).date()
    festival = festival_for(local_today)
    by_sku = {item.sku: item for item in recommender.catalogue.values()}
    contexts: dict[int, DraftContext] = {}
    for req in requests:
        customer = customers.get(req.customer_id)
        if customer is None:
            continue
        mine = orders.get(customer.id, [])
        paid = [o for o in mine if o.status in PAID_STATUSES and o.paid_at is not None]
        unpaid = next((o for o in mine if o.status == "created"), None)
        clerk = clerks.get(req.clerk_id) if req.clerk_id else None
        owner = owners.get(customer.id)
        clerk_name = clerk.display_name if clerk else owner.display_name if owner else settings.brand
        store_name = (clerk.store if clerk else owner.store if owner else None) or settings.brand
        offers = [o for o in settings.offers if o.applies(req.scenario, local_today)]
        if req.task is not None and req.task.scenario:
            offers = [o for o in settings.offers if o.applies(req.task.scenario, local_today)] or offers
        products, reasons = _products_for(req, paid, unpaid, recommender, by_sku)
        contexts[customer.id] = DraftContext(
            request=req, clerk_id=req.clerk_id or (owner.clerk_id if owner else None),
            customer_name=customer.name, salutation=salutation(customer.name, customer.gender),
            stage=customer.stage.value if customer.stage else None, tags=tags.get(customer.id, []),
            purchases=_purchase_lines(paid[:5]),
            unpaid_fen=unpaid.amount_fen if unpaid else None,
            unpaid_items=_items_phrase(unpaid) if unpaid else None,
            unpaid_created_at=unpaid.created_at if unpaid else None,
            clerk_name=clerk_name, store_name=store_name, brand=settings.brand, offers=offers,
            rules=guardrails.channel_rules(req.channel, marketing=req.scenario not in SERVICE_SCENARIOS,
                                           signature=settings.sms_signature,
                                           sms_segments_allowed=settings.sms_segments),
            products=products, product_reasons=reasons,
            festival=req.occasion or festival, own_phone=customer.phone, now=now,
            variant_history=history.get(customer.id, []), ranker_reasons=ranker.get(customer.id, []))
    return contexts


@dataclass
class OrderView:
    id: int
    status: str
    amount_fen: int
    created_at: dt.datetime
    paid_at: dt.datetime | None
    items: list[tuple[CatalogueItem, int]]


def _purchase_lines(paid: list[OrderView]) -> list[PurchaseLine]:
    lines = []
    for order in paid:
        for p, quantity in order.items:
            due = (order.paid_at + dt.timedelta(days=p.usage_days * max(quantity, 1))) if p.usage_days else None
            lines.append(PurchaseLine(p.name, p.sku, quantity, order.paid_at, p.usage_days, due))
    return lines


def _items_phrase(order: OrderView) -> str:
    if not order.items:
        return "宝贝"
    count = sum(q for _, q in order.items)
    return order.items[0][0].name if count == 1 else f"{order.items[0][0].name}等{count}件"


def _products_for(req: DraftRequest, paid: list[OrderView], unpaid: OrderView | None, recommender: Recommender,
                  by_sku: dict[str, CatalogueItem]) -> tuple[list[CatalogueItem], dict[str, str]]:
    if req.task is not None and req.task.product_skus:
        chosen = [by_sku[s] for s in req.task.product_skus if s in by_sku and by_sku[s].in_stock]
        return chosen[:MAX_PRODUCTS], {p.sku: "总部为本次任务选定" for p in chosen[:MAX_PRODUCTS]}
    if req.scenario == "unpaid" and unpaid is not None:
        items = [p for p, _ in unpaid.items]
        return items[:MAX_PRODUCTS], {p.sku: "未付款订单里的商品" for p in items[:MAX_PRODUCTS]}
    history = CustomerHistory(req.customer_id, [Purchase(p.id, q, o.paid_at) for o in paid for p, q in o.items])
    scenario = req.task.scenario if req.task is not None and req.task.scenario else req.scenario
    recs = recommender.for_customer(history, scenario, limit=MAX_PRODUCTS)
    return [r.product for r in recs], {r.product.sku: r.reason for r in recs}


def template_variables(ctx: DraftContext) -> dict[str, Any]:
    """What a template sees: only this customer's own facts, in display form."""
    new_since = ctx.now - dt.timedelta(days=NEW_ARRIVAL_DAYS)
    cards = [{"name": p.name, "price": yuan(p.price_fen), "sku": p.sku, "link": p.url, "image": p.image_url,
              "is_new": bool(p.launched_at and new_since <= p.launched_at <= ctx.now)} for p in ctx.products]
    last = ctx.purchases[0] if ctx.purchases else None
    task = ctx.request.task
    return {
        "customer": {"name": ctx.customer_name, "salutation": ctx.salutation,
                     "stage_label": STAGE_LABELS.get(ctx.stage or "", "")},
        "clerk": {"name": ctx.clerk_name}, "brand": ctx.brand, "store": ctx.store_name,
        "product": cards[0] if cards else None, "products": cards,
        "offer": {"label": ctx.offers[0].label, "code": ctx.offers[0].code} if ctx.offers else None,
        "last_purchase": {"name": last.name, "days_ago": max((ctx.now - last.paid_at).days, 0),
                          "cycle_days": last.cycle_days} if last else None,
        "unpaid": {"amount": yuan(ctx.unpaid_fen) if ctx.unpaid_fen is not None else None,
                   "goods": ctx.unpaid_items or "宝贝",
                   "hours_ago": int((ctx.now - ctx.unpaid_created_at).total_seconds() // 3600)
                   if ctx.unpaid_created_at else None},
        "festival": ctx.festival,
        "task": {"title": task.title, "goal": task.goal or ""} if task else None,
    }


# The model -------------------------------------------------------------------------------------

DRAFT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "description": "the message body, in Chinese"},
        "products": {"type": "array", "items": {"type": "string"}, "description": "SKUs featured"},
        "reason": {"type": "string", "description": "why this message for this customer, one line"},
    },
    "required": ["text", "products", "reason"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class ModelConfig:
    base_url: str | None
    api_key: str | None
    model: str
    budget_seconds: float = MODEL_BUDGET_SECONDS


@dataclass(frozen=True)
class ModelAnswer:
    text: str
    products: list[str]
    reason: str


class ModelUnavailable(Exception):
    """The model gave no usable answer; ``reason`` says why (timeout, rate_limited…)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ModelDrafter:
    """Chat completions with JSON-schema output through the openai SDK, no SDK retries."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    def answer(self, messages: list[dict[str, str]], timeout: float) -> ModelAnswer:
        try:
            with openai.OpenAI(api_key=self.config.api_key or "not-needed", base_url=self.config.base_url,
                               timeout=timeout, max_retries=0) as client:
                completion = client.chat.completions.create(
                    model=self.config.model, messages=messages, temperature=0.7, timeout=timeout,
                    response_format={"type": "json_schema",
                                     "json_schema": {"name": "draft", "strict": True, "schema": DRAFT_SCHEMA}})
        except openai.APITimeoutError as exc:
            raise ModelUnavailable("timeout") from exc
        except openai.RateLimitError as exc:
            raise ModelUnavailable("rate_limited") from exc
        except openai.APIStatusError as exc:
            raise ModelUnavailable("server_error" if exc.status_code >= 500 else f"http_{exc.status_code}") from exc
        except openai.APIConnectionError as exc:
            raise ModelUnavailable("unreachable") from exc
        except openai.APIError as exc:  # e.g. a body that is not a completion at all
            raise ModelUnavailable("invalid_response") from exc
        return parse_answer(completion.choices[0].message.content if completion.choices else None)


def parse_answer(content: str | None) -> ModelAnswer:
    """The structured answer, or ModelUnavailable("invalid_json")."""
    try:
        data = json.loads(content or "")
    except json.JSONDecodeError as exc:
        raise ModelUnavailable("invalid_json") from exc
    if (not isinstance(data, dict) or not isinstance(data.get("text"), str) or not data["text"].strip()
            or not isinstance(data.get("products", []), list)
            or not all(isinstance(s, str) for s in data.get("products", []))):
        raise ModelUnavailable("invalid_json")
    return ModelAnswer(data["text"].strip(), list(data.get("products", [])), str(data.get("reason") or "").strip())


def prompt_messages(ctx: DraftContext, tone: str, banned_words: Sequence[str] = guardrails.DEFAULT_BANNED_WORDS,
                    violations: Sequence[guardrails.Violation] = ()) -> list[dict[str, str]]:
    """System rules and the customer's facts; on a retry, the violations to fix."""
    rules = ctx.rules
    system = (
        f"你是{ctx.brand}门店导购“{ctx.clerk_name}”的写作助手，为导购起草一条发给顾客的消息，导购会确认后发送。"
        f"语气：{TONES.get(tone, TONES['friendly'])}。用中文，以导购第一人称。"
        "规则：只能提到下面列出的商品和它们的价格；只能提到下面列出的优惠，没有列出就不要提任何优惠、折扣、券或红包；"
        "不要编造价格、库存、活动或承诺；不要出现任何手机号，也不要提到其他顾客；"
        f"不要使用这些词：{'、'.join(list(banned_words)[:40])}。"
        f"渠道要求：{rules.describe()}。"
        "只输出 JSON：text 为消息正文，products 为正文里推荐的商品 SKU 列表，reason 用一句话说明为什么这样写。"
    )
    facts: dict[str, Any] = {
        "场景": _scenario_line(ctx),
        "顾客称呼": ctx.salutation,
        "生命周期阶段": STAGE_LABELS.get(ctx.stage or "", "未知"),
        "标签": [f"{label}（{reason}）" if reason else label for label, reason in ctx.tags[:8]],
        "最近购买": [_purchase_fact(p, ctx.now) for p in ctx.purchases[:5]],
        "可推荐商品": [{"sku": p.sku, "名称": p.name, "价格": f"¥{yuan(p.price_fen)}",
                        "推荐理由": ctx.product_reasons.get(p.sku, "")} for p in ctx.products],
        "可用优惠": [o.label for o in ctx.offers] or "无（不要提任何优惠）",
        "门店": ctx.store_name,
    }
    if ctx.ranker_reasons:
        facts["今日推荐理由"] = ctx.ranker_reasons[:3]
    if ctx.unpaid_fen is not None and ctx.scenario == "unpaid":
        facts["未付款订单"] = {"商品": ctx.unpaid_items, "金额": f"¥{yuan(ctx.unpaid_fen)}"}
    messages = [{"role": "system", "content": system},
                {"role": "user", "content": json.dumps(facts, ensure_ascii=False, indent=1)}]
    if violations:
        messages.append({"role": "user", "content": "上一稿不合格，请改正后重写：" + "；".join(v.detail for v in violations)})
    return messages


def _scenario_line(ctx: DraftContext) -> str:
    task = ctx.request.task
    if task is not None:
        return f"总部关怀任务“{task.title}”，目标：{task.goal or '与顾客重新建立联系'}"
    line = SCENARIOS[ctx.scenario]
    if ctx.scenario == "festival":
        line += f"（{ctx.festival}）"
    return line


def _purchase_fact(p: PurchaseLine, now: dt.datetime) -> str:
    fact = f"{p.name} ×{p.quantity}，{max((now - p.paid_at).days, 0)}天前"
    if p.cycle_days and p.due_at:
        days = (p.due_at - now).days
        fact += f"，使用周期{p.cycle_days}天/件，" + (f"约{days}天后用完" if days >= 0 else f"已用完约{-days}天")
    return fact


# Writing one draft ------------------------------------------------------------------------------

@dataclass
class DraftResult:
    text: str
    products: list[CatalogueItem]
    reason: str
    source: str                          # "llm" | "template"
    variant: str | None = None
    fallback_reason: str | None = None   # why the model's answer was not used
    warnings: list[str] = field(default_factory=list)


def write_draft(ctx: DraftContext, book: TemplateBook, *, model: ModelDrafter | None = None,
                banned_words: Iterable[str] = guardrails.DEFAULT_BANNED_WORDS,
                names_in_text: Callable[[str], list[str]] = lambda text: [],
                clock: Callable[[], float] = time.monotonic) -> DraftResult:
    """The draft for one context: the model's if it passes the guardrails in time, else a template's."""
    banned = tuple(banned_words)
    fallback_reason = None
    if model is not None:
        deadline = clock() + model.config.budget_seconds
        violations: list[guardrails.Violation] = []
        for _attempt in range(2):
            remaining = deadline - clock()
            if remaining < MIN_CALL_SECONDS:
                fallback_reason = fallback_reason or "timeout"
                break
            try:
                answer = model.answer(prompt_messages(ctx, ctx.request.tone, banned, violations), timeout=remaining)
            except ModelUnavailable as exc:
                fallback_reason = exc.reason
                break
            text = guardrails.compose(answer.text, ctx.rules)
            names = [n for n in names_in_text(text) if n not in (ctx.customer_name, ctx.clerk_name)]
            violations = guardrails.check(text, ctx.rules, ctx.allowances(), banned_words=banned,
                                          other_customer_names=names, featured_skus=answer.products)
            if not violations:
                by_sku = {p.sku: p for p in ctx.products}
                featured = [by_sku[s] for s in answer.products if s in by_sku] or ctx.products
                return DraftResult(text, featured, answer.reason or _reason(ctx), "llm")
            fallback_reason = "guardrail:" + ",".join(sorted({v.code for v in violations}))
    result = template_draft(ctx, book, banned)
    result.fallback_reason = fallback_reason
    return result


def template_draft(ctx: DraftContext, book: TemplateBook, banned_words: Iterable[str] = guardrails.DEFAULT_BANNED_WORDS) -> DraftResult:
    """Render the rotated variant; if it breaks a channel rule, the next one that does not."""
    scenario = ctx.scenario
    if ctx.request.task is not None:
        scenario = ctx.request.task.scenario if ctx.request.task.scenario in SCENARIOS else "task"
    ids = book.variant_ids(scenario) or book.variant_ids("task")
    first = choose_variant(ids, ctx.variant_history, ctx.request.customer_id)
    order = ids[ids.index(first):] + ids[:ids.index(first)]
    variables = template_variables(ctx)
    allowances = ctx.allowances()
    candidates: list[tuple[str, str, list[guardrails.Violation]]] = []
    task_template = ctx.request.task.template if ctx.request.task is not None else None
    if task_template:
        try:
            text = guardrails.compose(render_bounded(_env.from_string(task_template), variables), ctx.rules)
            candidates.append((f"task{ctx.request.task.id}.custom", text,
                               guardrails.check(text, ctx.rules, allowances, banned_words=banned_words)))
        except TemplateError:
            pass  # head office's own copy did not render for this customer: use the curated variants
    for variant in order:
        text = guardrails.compose(book.render(variant, variables), ctx.rules)
        violations = guardrails.check(text, ctx.rules, allowances, banned_words=banned_words)
        candidates.append((variant, text, violations))
        if not violations:
            break
    variant, text, violations = next((c for c in candidates if not c[2]), candidates[0])
    return DraftResult(text, list(ctx.products), _reason(ctx), "template", variant=variant,
                       warnings=[v.detail for v in violations])


def _reason(ctx: DraftContext) -> str:
    task = ctx.request.task
    if task is not None:
        return f"关怀任务：{task.title}"
    parts = [SCENARIOS[ctx.scenario]]
    if ctx.ranker_reasons:
        parts.append(ctx.ranker_reasons[0])
    elif ctx.scenario == "replenish" and ctx.purchases and ctx.purchases[0].due_at:
        days = (ctx.purchases[0].due_at - ctx.now).days
        parts.append(f"{ctx.purchases[0].name}" + (f"约{days}天后用完" if days >= 0 else f"已用完约{-days}天"))
    elif ctx.scenario == "unpaid" and ctx.unpaid_fen is not None:
        parts.append(f"有¥{yuan(ctx.unpaid_fen)}的订单未付款")
    elif ctx.scenario == "festival":
        parts.append(ctx.festival)
    if ctx.stage:
        parts.append(STAGE_LABELS.get(ctx.stage, ctx.stage))
    if ctx.products and ctx.scenario != "unpaid":  # for 催付 the products are the order's own
        parts.append("推荐" + "、".join(p.name for p in ctx.products[:2]))
    return "；".join(parts)


def other_customer_names(session: Session, text: str, customer_id: int, limit: int = 5) -> list[str]:
    """Names of other customers that occur in ``text`` (one indexed-free scan; model drafts only)."""
    position = func.strpos if session.get_bind().dialect.name == "postgresql" else func.instr
    return list(session.scalars(
        select(Customer.name).where(Customer.id != customer_id, func.length(Customer.name) >= 2,
                                    position(literal(text), Customer.name) > 0).limit(limit)))


def task_brief(task: CareTask) -> TaskBrief:
    return TaskBrief(task.id, task.title, task.goal, normalise_scenario(task.scenario), task.template,
                     tuple(task.product_skus or ()))

