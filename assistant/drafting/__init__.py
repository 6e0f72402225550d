"""Drafted copy (草稿) for one customer and one scenario: a model when configured, templates always.

The flow of ``write_draft`` (``write``):

1. When an OpenAI-compatible endpoint is configured, ask it for structured output (JSON schema:
   text, products featured, reason) with a prompt carrying the customer's stage, tags with reasons,
   last purchases and their cycle, the scenario or care task goal, the clerk's name and tone, the
   offers head office allows, the channel's limits and the products to feature (``model``).
2. Frame the text for the channel and run the guardrails (``assistant.guardrails``): prices in any
   form, offers, phone numbers, other customers, products not offered. On a violation ask once
   more, naming it; if it still fails, use the template.
3. Timeouts, 429, 5xx and invalid JSON fall back to the template; the whole model path is held to
   a time budget (≈3 s) with no SDK retries, so the clerk never waits longer. Why it fell back is a
   code (``fallbacks``) that people read as a sentence.
4. Templates are curated zh-CN variants per scenario rendered in a sandboxed Jinja2; the variant
   is rotated per customer (least recently drafted for them first) so two sends differ
   (``templates``). Their facts come from ``context`` / ``gather``, in words that agree with the
   draft's reason.

Nothing here imports Flask: the app passes settings in and stores the result.
"""
from __future__ import annotations

from assistant.drafting.context import (DraftContext, DraftingSettings, DraftRequest, PurchaseLine, TaskBrief,
                                        task_brief)
from assistant.drafting.gather import MAX_PRODUCTS, ROTATION_MEMORY, OrderView, build_contexts
from assistant.drafting.model import (DRAFT_SCHEMA, MODEL_BUDGET_SECONDS, ModelAnswer, ModelConfig, ModelDrafter,
                                      ModelUnavailable, parse_answer, prompt_messages)
from assistant.drafting.offers import OFFER_KINDS, Offer, parse_offers
from assistant.drafting.scenarios import (SCENARIO_ALIASES, SCENARIOS, SERVICE_SCENARIOS, STAGE_LABELS, TONES,
                                          festival_for, normalise_scenario, salutation)
from assistant.drafting.templates import (MAX_RENDERED_CHARS, TEMPLATES_PATH, BoundedSandbox, TemplateBook,
                                          choose_variant, default_templates, preview_template, render_bounded,
                                          sample_variables, template_variables, validate_templates)
from assistant.drafting.write import (MIN_CALL_SECONDS, DraftResult, draft_reason, other_customer_names,
                                      template_draft, write_draft)

__all__ = [
    "DRAFT_SCHEMA", "MAX_PRODUCTS", "MAX_RENDERED_CHARS", "MIN_CALL_SECONDS", "MODEL_BUDGET_SECONDS", "OFFER_KINDS",
    "ROTATION_MEMORY", "SCENARIOS", "SCENARIO_ALIASES", "SERVICE_SCENARIOS", "STAGE_LABELS", "TEMPLATES_PATH", "TONES",
    "BoundedSandbox", "DraftContext", "DraftRequest", "DraftResult", "DraftingSettings", "ModelAnswer", "ModelConfig",
    "ModelDrafter", "ModelUnavailable", "Offer", "OrderView", "PurchaseLine", "TaskBrief", "TemplateBook",
    "build_contexts", "choose_variant", "default_templates", "draft_reason", "festival_for", "normalise_scenario",
    "other_customer_names", "parse_answer", "parse_offers", "preview_template", "prompt_messages", "render_bounded",
    "salutation", "sample_variables", "task_brief", "template_draft", "template_variables", "validate_templates",
    "write_draft",
]
