"""Curated zh-CN templates per scenario, rendered in a bounded Jinja2 sandbox and rotated per customer.

What a template sees (``template_variables``) is only this customer's own facts in display form;
prices, offers and phone numbers come from variables, never from the template's own text
(``validate_templates`` refuses a literal one).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateRuntimeError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from assistant import guardrails
from assistant.drafting.context import DraftContext, bought_when, running_out_words
from assistant.drafting.scenarios import SCENARIOS, STAGE_LABELS
from assistant.recommend import NEW_ARRIVAL_DAYS
from models.money import yuan

TEMPLATES_PATH = Path(__file__).resolve().parent.parent / "templates" / "zh-CN.json"
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


sandbox = BoundedSandbox(undefined=StrictUndefined, autoescape=False, trim_blocks=True)


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
        self._compiled = {v["id"]: sandbox.from_string(v["text"])
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
            problem = _variant_problem(text, tuple(banned_words))
            if problem:
                errors[f"{vpath}.text"] = problem
    return errors


def _variant_problem(text: Any, banned: tuple[str, ...]) -> str | None:
    """What is wrong with one variant's text, rendered for the sample customer (None: fine)."""
    if not isinstance(text, str) or not text.strip() or len(text) > 1000:
        return "required, at most 1000 characters"
    try:
        template = sandbox.from_string(text)
        rendered = [render_bounded(template, sample_variables()), render_bounded(template, sample_variables(bare=True))]
    except TemplateError as exc:
        return f"does not render: {exc}"
    if not all(rendered):
        return "renders to an empty message"
    if max(len(r) for r in rendered) > guardrails.CHAT_MAX_CHARS:
        return f"renders longer than {guardrails.CHAT_MAX_CHARS} characters"
    rules = guardrails.channel_rules("wecom", marketing=True, signature="")
    full = guardrails.Allowances(amounts_fen={12900, 5000, 30000, 26800}, offer_labels=["满300减50券"],
                                 coupons_allowed=True)
    bare = guardrails.Allowances(amounts_fen={26800})  # only the unpaid order's amount
    found = [v for text_, allowed in zip(rendered, (full, bare))
             for v in guardrails.check(text_, rules, allowed, banned_words=banned) if v.code in _LITERAL_CHECKS]
    if not found:
        return None
    hint = ("; use {{ product.price }} / {{ offer.label }} instead of writing prices or offers"
            if found[0].code in ("price", "discount", "coupon") else "")
    return found[0].detail + hint


def preview_template(text: str) -> tuple[list[str], str | None]:
    """The template rendered against the sample context (with and without optional parts), or the error."""
    try:
        template = sandbox.from_string(text)
        return [render_bounded(template, sample_variables()),
                render_bounded(template, sample_variables(bare=True))], None
    except TemplateError as exc:
        return [], str(exc)


def sample_variables(bare: bool = False) -> dict[str, Any]:
    """A sample context every template must render against (``bare``: no optional parts)."""
    product = {"name": "玻尿酸补水面膜", "price": "129.00", "sku": "SAMPLE-1", "link": None, "image": None, "is_new": True}
    due = {"name": "玻尿酸补水面膜", "sku": "SAMPLE-1", "price": "129.00", "quantity": 2, "days_ago": 18,
           "bought": bought_when(18), "days_left": 2, "running_out": running_out_words(2)}
    return {
        "customer": {"name": "王小美", "salutation": "王女士", "stage_label": "老客"},
        "clerk": {"name": "小林"}, "brand": "示例品牌", "store": "南京西路店",
        "product": None if bare else product, "products": [] if bare else [product],
        "offer": None if bare else {"label": "满300减50券", "code": "M300J50"},
        "last_purchase": None if bare else {"name": "玻尿酸补水面膜", "days_ago": 18, "bought": bought_when(18),
                                            "cycle_days": 20},
        "due": None if bare else due,
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
        "last_purchase": {"name": last.name, "days_ago": ctx.days_ago(last.paid_at),
                          "bought": bought_when(ctx.days_ago(last.paid_at)), "cycle_days": last.cycle_days}
        if last else None,
        "due": _due_variables(ctx, cards),
        "unpaid": {"amount": yuan(ctx.unpaid_fen) if ctx.unpaid_fen is not None else None,
                   "goods": ctx.unpaid_items or "宝贝",
                   "hours_ago": int((ctx.now - ctx.unpaid_created_at).total_seconds() // 3600)
                   if ctx.unpaid_created_at else None},
        "festival": ctx.festival,
        "task": {"title": task.title, "goal": task.goal or ""} if task else None,
    }


def _due_variables(ctx: DraftContext, cards: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The purchase that runs out, in words that agree with the draft's reason; only when its
    product is the one the draft features."""
    due = ctx.due
    card = next((c for c in cards if due is not None and c["sku"] == due.sku), None)
    if due is None or due.due_at is None or card is None:
        return None
    days_ago, days_left = ctx.days_ago(due.paid_at), ctx.days_left(due.due_at)
    return {"name": due.name, "sku": due.sku, "price": card["price"], "quantity": due.quantity,
            "days_ago": days_ago, "bought": bought_when(days_ago), "days_left": days_left,
            "running_out": running_out_words(days_left)}
