"""Writing one draft: the model's when it passes the guardrails in time, else a template's."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from jinja2 import TemplateError
from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from assistant import guardrails
from assistant.drafting.context import DraftContext, bought_when, runs_out_fact
from assistant.drafting.fallbacks import guardrail_code
from assistant.drafting.model import ModelDrafter, ModelUnavailable, prompt_messages
from assistant.drafting.scenarios import SCENARIOS, STAGE_LABELS
from assistant.drafting.templates import TemplateBook, choose_variant, render_bounded, sandbox, template_variables
from assistant.recommend import CatalogueItem
from models import Customer
from models.money import yuan

# Below this much time left, a retry cannot finish; go straight to the template.
MIN_CALL_SECONDS = 0.4


@dataclass
class DraftResult:
    text: str
    products: list[CatalogueItem]
    reason: str
    source: str                          # "llm" | "template"
    variant: str | None = None
    fallback_reason: str | None = None   # why the model's answer was not used (assistant.drafting.fallbacks)
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
                                          other_customer_names=names, featured_skus=answer.products,
                                          catalogue_names=ctx.catalogue_names)
            if not violations:
                by_sku = {p.sku: p for p in ctx.products}
                featured = [by_sku[s] for s in answer.products if s in by_sku] or ctx.products
                return DraftResult(text, featured, answer.reason or draft_reason(ctx), "llm")
            fallback_reason = guardrail_code(violations)
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
            text = guardrails.compose(render_bounded(sandbox.from_string(task_template), variables), ctx.rules)
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
    return DraftResult(text, list(ctx.products), draft_reason(ctx), "template", variant=variant,
                       warnings=[v.detail for v in violations])


def draft_reason(ctx: DraftContext) -> str:
    """Why this draft, in one line; for 补货 the due purchase's own facts, as the text states them."""
    task = ctx.request.task
    if task is not None:
        return f"关怀任务：{task.title}"
    parts = [SCENARIOS[ctx.scenario]]
    if ctx.scenario == "replenish" and ctx.due is not None and ctx.due.due_at is not None:
        parts.append(f"{ctx.due.name}{bought_when(ctx.days_ago(ctx.due.paid_at))}购买，"
                     f"{runs_out_fact(ctx.days_left(ctx.due.due_at))}")
    elif ctx.ranker_reasons:
        parts.append(ctx.ranker_reasons[0])
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
