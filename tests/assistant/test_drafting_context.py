"""build_contexts: one customer's facts gathered in bulk from the database."""
from __future__ import annotations

import datetime as dt

from assistant.drafting import (DraftingSettings, DraftRequest, Offer, TemplateBook, build_contexts,
                                template_draft)
from assistant.recommend import Recommender, fit_copurchase, load_catalogue
from models import CustomerScore, Role, Stage
from models.drafting import Draft, DraftSource
from tests import factories

NOW = dt.datetime(2026, 11, 22, 2, tzinfo=dt.timezone.utc)
SETTINGS = DraftingSettings(brand="美肤演示", sms_signature="美肤演示",
                            offers=(Offer("BDAY", "生日满300减50券", scenarios=("birthday",)),
                                    Offer("OLD", "过期券", valid_until=dt.date(2026, 1, 1))))


def test_context_carries_the_customers_own_facts(db):
    with db.transaction() as s:
        store = factories.store(s, name="南京西路店")
        clerk = factories.staff(s, Role.clerk, store, display_name="小林")
        wang = factories.customer(s, name="王小美", gender="F", stage=Stage.repeat)
        other = factories.customer(s, name="李建国")
        factories.follow(s, wang, clerk)
        mask = factories.product(s, sku="MASK", name="面膜", usage_days=10, price_fen=12900)
        serum = factories.product(s, sku="SERUM", name="精华", price_fen=26800)
        factories.order(s, wang, [(mask, 2)], paid_at=NOW - dt.timedelta(days=17))
        factories.order(s, wang, [(serum, 1), (mask, 1)], status="created", created_at=NOW - dt.timedelta(hours=5))
        factories.order(s, other, [(mask, 1), (serum, 1)], paid_at=NOW - dt.timedelta(days=3))
        s.add(CustomerScore(customer_id=wang.id, propensity=0.8, reasons=[
            {"code": "cycle_due", "params": {"days": 17}}, {"code": "fallback", "params": {}}]))
        s.add(Draft(customer_id=wang.id, scenario="birthday", channel="wecom", source=DraftSource.template,
                    template_variant="birthday.a", text="旧草稿", products=[], created_at=NOW - dt.timedelta(days=30)))
        ids = (wang.id, clerk.id)
    with db.Session() as s:
        rec = Recommender(load_catalogue(s), fit_copurchase(s), NOW)
        contexts = build_contexts(s, [DraftRequest(ids[0], "birthday", "sms"), DraftRequest(999_999, "birthday", "sms")],
                                  SETTINGS, rec, NOW, describe_reason=lambda r: f"{r['code']}:{r['params']['days']}")
    assert list(contexts) == [ids[0]]  # an unknown customer is skipped, not an error
    ctx = contexts[ids[0]]
    assert (ctx.salutation, ctx.stage, ctx.clerk_id, ctx.clerk_name, ctx.store_name) == ("王女士", "repeat", ids[1], "小林", "南京西路店")
    assert [(p.name, p.quantity, p.cycle_days) for p in ctx.purchases] == [("面膜", 2, 10)]
    assert ctx.purchases[0].due_at == NOW + dt.timedelta(days=3)
    assert (ctx.unpaid_fen, ctx.unpaid_items) == (26800 + 12900, "精华等2件")
    assert [o.code for o in ctx.offers] == ["BDAY"]  # expired and other-scenario offers are left out
    assert ctx.variant_history == ["birthday.a"]
    assert ctx.ranker_reasons == ["cycle_due:17"]
    assert ctx.rules.signature == "【美肤演示】" and ctx.rules.opt_out == "回T退订"
    assert "SERUM" in {p.sku for p in ctx.products}  # bought together by the other customer
    result = template_draft(ctx, TemplateBook.with_overrides(None))
    assert result.variant != "birthday.a"
    assert "cycle_due:17" in result.reason
    assert "李建国" not in result.text
