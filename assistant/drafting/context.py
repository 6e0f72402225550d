"""What one draft is written from (``DraftContext``), and the words that state its purchase facts.

Templates, the model's prompt and the draft's reason all say "how long ago" and "how long until
it runs out" through ``DraftContext.days_ago`` / ``days_left`` and the phrases below, so a draft
can never say "该用完了" where its reason says "约13天后用完".
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from assistant import guardrails
from assistant.drafting.offers import Offer
from assistant.drafting.scenarios import normalise_scenario
from assistant.lifecycle import days_since
from assistant.recommend import CatalogueItem
from models import CareTask

# Within this many days of running out (or on the day) a product is "差不多该用完了".
ALMOST_OUT_DAYS = 1


@dataclass(frozen=True)
class TaskBrief:
    id: int
    title: str
    goal: str | None
    scenario: str | None
    template: str | None
    product_skus: tuple[str, ...] = ()


def task_brief(task: CareTask) -> TaskBrief:
    return TaskBrief(task.id, task.title, task.goal, normalise_scenario(task.scenario), task.template,
                     tuple(task.product_skus or ()))


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
    # The replenishment draft's subject: the purchase that runs out, whose product is products[0].
    due: PurchaseLine | None = None
    timezone: str = "Asia/Shanghai"
    catalogue_names: Sequence[str] = ()  # every product name the brand sells (model drafts are checked against it)

    @property
    def scenario(self) -> str:
        return self.request.scenario

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(ZoneInfo(self.timezone)).date()

    def days_ago(self, at: dt.datetime) -> int:
        """Calendar days (brand timezone) since ``at``, as every card counts them."""
        return max(days_since(at, self.today, ZoneInfo(self.timezone)) or 0, 0)

    def days_left(self, due_at: dt.datetime) -> int:
        """Calendar days until ``due_at``; negative once it has passed."""
        return -(days_since(due_at, self.today, ZoneInfo(self.timezone)) or 0)

    def allowances(self) -> guardrails.Allowances:
        amounts = {p.price_fen for p in self.products}
        for offer in self.offers:
            amounts.update(a for a in (offer.amount_fen, offer.threshold_fen) if a is not None)
        if self.unpaid_fen is not None:
            amounts.add(self.unpaid_fen)
        # Products a draft may name: the ones it features and the ones the customer already bought.
        names = [p.name for p in self.products] + [p.name for p in self.purchases]
        return guardrails.Allowances(amounts_fen=amounts, offer_labels=[o.label for o in self.offers],
                                     coupons_allowed=any(o.kind == "coupon" for o in self.offers),
                                     product_skus={p.sku for p in self.products}, own_phone=self.own_phone,
                                     product_names=tuple(dict.fromkeys(names)))


def bought_when(days_ago: int) -> str:
    """今天 / 昨天 / 18天前."""
    return {0: "今天", 1: "昨天"}.get(days_ago, f"{days_ago}天前")


def running_out_words(days_left: int) -> str:
    """How a template says when a purchase runs out, from the days left (negative: overdue)."""
    if days_left > ALMOST_OUT_DAYS:
        return f"按用量大约还能用{days_left}天"
    if days_left >= 0:
        return "差不多该用完了"
    return f"按用量应该已经用完{-days_left}天左右了"


def runs_out_fact(days_left: int) -> str:
    """How the reason and the prompt state the same fact: 约13天后用完 / 今天用完 / 已用完约5天."""
    if days_left > 0:
        return f"约{days_left}天后用完"
    return "今天用完" if days_left == 0 else f"已用完约{-days_left}天"


def purchase_fact(ctx: DraftContext, line: PurchaseLine) -> str:
    """One purchase as the prompt and the reason state it."""
    fact = f"{line.name} ×{line.quantity}，{bought_when(ctx.days_ago(line.paid_at))}购买"
    if line.cycle_days and line.due_at:
        fact += f"，使用周期{line.cycle_days}天/件，{runs_out_fact(ctx.days_left(line.due_at))}"
    return fact
