"""Build drafting contexts from plain values, for tests that need no database."""
from __future__ import annotations

import datetime as dt

from assistant import guardrails
from assistant.drafting import DraftContext, DraftRequest, Offer, PurchaseLine
from assistant.recommend import CatalogueItem

NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.timezone.utc)

MASK = CatalogueItem(1, "MASK-10", "玻尿酸补水面膜", "skincare", 12900, 10, True, "https://img.example/mask.jpg",
                     "https://shop.example/p/MASK-10", None)
SERUM = CatalogueItem(2, "SERUM-30", "修护精华液", "skincare", 26800, 60, True, None, "https://shop.example/p/SERUM-30", None)
COUPON = Offer("M300J50", "满300减50券", "coupon", 5000, 30000)


def make_context(scenario: str = "replenish", channel: str = "wecom", *, products=(MASK, SERUM), offers=(COUPON,),
                 customer_id: int = 7, history=(), unpaid_fen: int | None = None, signature: str = "美肤演示",
                 sms_segments: int = 2, task=None) -> DraftContext:
    marketing = scenario not in ("unpaid", "aftercare")
    return DraftContext(
        request=DraftRequest(customer_id, scenario, channel, clerk_id=3, task=task),
        clerk_id=3, customer_name="王小美", salutation="王女士", stage="repeat",
        tags=[("补货提醒", "面膜预计3天后用完"), ("老客", "已购2次")],
        purchases=[PurchaseLine("玻尿酸补水面膜", "MASK-10", 2, NOW - dt.timedelta(days=17), 10,
                                NOW + dt.timedelta(days=3))],
        unpaid_fen=unpaid_fen, unpaid_items="修护精华液" if unpaid_fen else None,
        unpaid_created_at=NOW - dt.timedelta(hours=3) if unpaid_fen else None,
        clerk_name="小林", store_name="南京西路店", brand="美肤演示", offers=list(offers),
        rules=guardrails.channel_rules(channel, marketing=marketing, signature=signature,
                                       sms_segments_allowed=sms_segments),
        products=list(products), product_reasons={p.sku: "测试" for p in products}, festival="国庆节",
        own_phone="13800000007", now=NOW, variant_history=list(history))
