"""Drafts and reasons that agree with themselves, pinned on the demo brand (issue 15, point 13).

- a replenishment draft names the product that is due, with its own days (never "576天前带走的…"
  beside another product, never "0天前带走的…差不多该用完了" when it runs out in 13 days);
- "new in the categories they buy" stays in those categories (a pork-jerky regular gets no T-shirt);
- "老客" is said only of a customer with two paid orders or more, on every card and draft;
- every card quotes one "last purchase": the customer's own, in today's days, days after the score.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest
from sqlalchemy import select

from app.demo import generate_demo
from app.demo.finish import seed_segments
from app.drafts.settings import describe_ranker_reason
from app.model import service
from app.today.query import today_rows
from app.today.serialize import today_item
from assistant.drafting import DraftingSettings, DraftRequest, TemplateBook, build_contexts, template_draft
from assistant.lifecycle import REPEAT_MIN_PAID_ORDERS
from assistant.recommend import Recommender, fit_copurchase, load_catalogue, load_histories
from models import Customer, Role, Staff
from tests.timing import SHANGHAI

SETTINGS = DraftingSettings(brand="演示品牌", sms_signature="演示品牌")
BOOK = TemplateBook.with_overrides(None)
# Every way a card or a draft says how long ago the last purchase was.
LAST_PURCHASE_WORDS = (r"上次购买 (\d+) 天前", r"(\d+) 天前刚买过", r"已沉睡 (\d+) 天", r"已 (\d+) 天未购买")


@pytest.fixture
def demo(app, db, clock):
    """300 demo customers, scored three days ago (the nightly batch is never fresh when read)."""
    scored_at = clock.now() - dt.timedelta(days=3)
    clock.freeze(scored_at - dt.timedelta(hours=1))
    generate_demo(db, customers=300, seed=7, now=clock.now())
    clock.freeze(scored_at)
    service.score_all(app, now=scored_at)
    clock.freeze(scored_at + dt.timedelta(days=3))
    return db


def local_days_since(when: dt.datetime, now: dt.datetime) -> int:
    return (now.astimezone(SHANGHAI).date() - when.astimezone(SHANGHAI).date()).days


def contexts_for(app, db, now, scenario):
    with app.app_context(), db.Session() as s:
        ids = list(s.scalars(select(Customer.id).order_by(Customer.id)))
        recommender = Recommender(load_catalogue(s), fit_copurchase(s), now)
        return build_contexts(s, [DraftRequest(cid, scenario, "wecom") for cid in ids], SETTINGS, recommender, now,
                              describe_reason=describe_ranker_reason)


def every_card(app, db, now):
    """Each clerk's whole Today list, as the route builds it."""
    with app.test_request_context(), db.Session() as s:
        clerks = list(s.scalars(select(Staff).where(Staff.role == Role.clerk)))
        return [today_item(row, now, SHANGHAI) for clerk in clerks
                for row in today_rows(s, clerk, clerk.id, now, 100, 0, now.astimezone(SHANGHAI).date())]


def test_a_replenishment_draft_names_the_due_product_in_words_that_agree_with_its_reason(app, demo, clock):
    now = clock.now()
    due_drafts = other_drafts = 0
    for ctx in contexts_for(app, demo, now, "replenish").values():
        for variant in BOOK.variant_ids("replenish"):
            ctx.variant_history = [v for v in BOOK.variant_ids("replenish") if v != variant]
            draft = template_draft(ctx, BOOK)
            assert draft.variant == variant and not draft.warnings, draft.text
            if ctx.due is None:
                # nothing runs out: no product is said to, however old the last purchase
                assert "带走的" not in draft.text and "用完了" not in draft.text, draft.text
                other_drafts += 1
                continue
            due_drafts += 1
            assert ctx.products[0].sku == ctx.due.sku  # the product offered is the one that runs out
            days_ago = local_days_since(ctx.due.paid_at, now)
            days_left = -local_days_since(ctx.due.due_at, now)
            assert ctx.due.name in draft.text and ctx.due.name in draft.reason
            for when, name in re.findall(r"您(今天|昨天|\d+天前)带走的(.+?)(?:按用量|差不多)", draft.text):
                assert name == ctx.due.name and when == {0: "今天", 1: "昨天"}.get(days_ago, f"{days_ago}天前")
            assert ("差不多该用完了" in draft.text) == (0 <= days_left <= 1), (days_left, draft.text)
            if days_left > 1:
                assert f"还能用{days_left}天" in draft.text and f"约{days_left}天后用完" in draft.reason
            elif days_left < 0:
                assert f"用完{-days_left}天" in draft.text and f"已用完约{-days_left}天" in draft.reason
    assert due_drafts >= 30 and other_drafts >= 30


def test_new_in_the_categories_they_buy_stays_in_those_categories(demo, clock):
    with demo.Session() as s:
        catalogue = load_catalogue(s)
        recommender = Recommender(catalogue, fit_copurchase(s), clock.now())
        histories = load_histories(s, list(s.scalars(select(Customer.id))))
    jerky = next(p.id for p in catalogue.values() if p.name.startswith("猪肉脯"))
    checked = jerky_regulars = 0
    for history in histories.values():
        occasions = Counter(category for category, _day in
                            {(catalogue[p.product_id].category, p.paid_at) for p in history.purchases})
        spent = Counter()
        for p in history.purchases:
            spent[catalogue[p.product_id].category] += catalogue[p.product_id].price_fen * p.quantity
        if not occasions:
            continue
        # those they came back to, and their main one (most occasions, then most spent)
        theirs = {c for c, n in occasions.items() if n >= 2} | {max(occasions, key=lambda c: (occasions[c], spent[c]))}
        for rec in recommender.for_customer(history, "new_arrival"):
            assert rec.product.category in theirs, (dict(occasions), rec.product.name, rec.reason)
            checked += 1
        for rec in recommender.for_customer(history, "winback"):
            if rec.kind in ("affinity", "new_arrival"):
                assert rec.product.category in theirs, (dict(occasions), rec.product.name, rec.reason)
        if jerky in {p.product_id for p in history.purchases} and theirs == {"snacks"}:
            jerky_regulars += 1
            offered = recommender.for_customer(history, "new_arrival") + recommender.for_customer(history, "winback")
            assert not [r.product.name for r in offered if r.product.category == "apparel"]
    assert checked >= 100 and jerky_regulars >= 1


def test_lao_ke_means_two_paid_orders_or_more_on_every_card_draft_stage_and_segment(app, demo, clock):
    now = clock.now()
    with demo.Session() as s:
        paid = dict(s.execute(select(Customer.id, Customer.paid_orders)).all())
        stages = dict(s.execute(select(Customer.id, Customer.stage)).all())
    assert all(paid[c] >= REPEAT_MIN_PAID_ORDERS for c, st in stages.items() if st and st.value in ("repeat", "fan"))
    said = Counter()
    for card in every_card(app, demo, now):
        for reason in card["reasons"]:
            if "老客" in reason["text"]:
                assert paid[card["customer_id"]] >= REPEAT_MIN_PAID_ORDERS, reason["text"]
                said["repeat"] += 1
            if reason["code"] == "bought_once":
                assert paid[card["customer_id"]] == 1 and reason["text"].startswith("已购买 1 次")
                said["once"] += 1
    assert said["repeat"] and said["once"]  # both kinds of customer were there to be told apart
    for ctx in contexts_for(app, demo, now, "winback").values():
        draft = template_draft(ctx, BOOK)
        if "老客" in draft.reason + draft.text:
            assert paid[ctx.request.customer_id] >= REPEAT_MIN_PAID_ORDERS, draft.reason
    called_lao_ke = [f for name, _why, f in seed_segments(now) if "老客" in name]
    assert called_lao_ke and all({"field": "paid_orders", "op": ">=", "value": REPEAT_MIN_PAID_ORDERS} in
                                 (f.get("all") or [f]) for f in called_lao_ke)


def test_every_card_and_draft_quotes_one_last_purchase_in_todays_days(app, demo, clock):
    now = clock.now()
    with demo.Session() as s:
        last_paid = dict(s.execute(select(Customer.id, Customer.last_paid_at)).all())
    quoted = 0
    for card in every_card(app, demo, now):
        last = last_paid[card["customer_id"]]
        for reason in card["reasons"]:
            for pattern in LAST_PURCHASE_WORDS:
                for days in re.findall(pattern, reason["text"]):
                    assert int(days) == local_days_since(last, now), (reason, last)
                    quoted += 1
        if card["last_interaction"] and card["last_interaction"]["kind"] == "order":
            assert card["last_interaction"]["at"] == last.isoformat()
    for ctx in contexts_for(app, demo, now, "winback").values():
        last = last_paid[ctx.request.customer_id]
        for said in ctx.ranker_reasons:
            for pattern in LAST_PURCHASE_WORDS:
                for days in re.findall(pattern, said):
                    assert int(days) == local_days_since(last, now), said
                    quoted += 1
    assert quoted >= 50
