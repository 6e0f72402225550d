"""The model path: one OpenAI-compatible chat completion with JSON-schema output, and its prompt.

No SDK retries and a per-call timeout: ``write_draft`` holds the whole model path to a budget
(≈3 s) and falls back to the template, naming why (``assistant.drafting.fallbacks``).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import openai

from assistant import guardrails
from assistant.drafting.context import DraftContext, purchase_fact
from assistant.drafting.scenarios import SCENARIOS, STAGE_LABELS, TONES
from models.money import yuan

MODEL_BUDGET_SECONDS = 3.0

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
    """The model gave no usable answer; ``reason`` is a fallback code (timeout, rate_limited…)."""

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
    system = (
        f"你是{ctx.brand}门店导购“{ctx.clerk_name}”的写作助手，为导购起草一条发给顾客的消息，导购会确认后发送。"
        f"语气：{TONES.get(tone, TONES['friendly'])}。用中文，以导购第一人称。"
        "规则：只能提到下面列出的商品（用列出的名称）和它们的价格，不要提任何没有列出的商品；"
        "只能提到下面列出的优惠，没有列出就不要提任何优惠、折扣、券或红包；"
        "不要编造价格（无论写成¥、元、块还是数字）、库存、活动或承诺；不要出现任何手机号，也不要提到其他顾客；"
        f"不要使用这些词：{'、'.join(list(banned_words)[:40])}。"
        f"渠道要求：{ctx.rules.describe()}。"
        "只输出 JSON：text 为消息正文，products 为正文里推荐的商品 SKU 列表，reason 用一句话说明为什么这样写。"
    )
    facts: dict[str, Any] = {
        "场景": _scenario_line(ctx),
        "顾客称呼": ctx.salutation,
        "生命周期阶段": STAGE_LABELS.get(ctx.stage or "", "未知"),
        "标签": [f"{label}（{reason}）" if reason else label for label, reason in ctx.tags[:8]],
        "最近购买": [purchase_fact(ctx, p) for p in ctx.purchases[:5]],
        "可推荐商品": [{"sku": p.sku, "名称": p.name, "价格": f"¥{yuan(p.price_fen)}",
                        "推荐理由": ctx.product_reasons.get(p.sku, "")} for p in ctx.products],
        "可用优惠": [o.label for o in ctx.offers] or "无（不要提任何优惠）",
        "门店": ctx.store_name,
    }
    if ctx.due is not None:
        facts["该补货的商品"] = purchase_fact(ctx, ctx.due)
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
