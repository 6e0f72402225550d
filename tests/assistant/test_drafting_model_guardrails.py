"""A model's invented prices and products, in every form, never reach the clerk (real SDK, fake server).

Each bad answer is refused twice (the retry names it), the template is used, and the reason is the
code head office reads as a sentence.
"""
from __future__ import annotations

import pytest

from assistant.drafting import ModelConfig, ModelDrafter, TemplateBook, write_draft
from assistant.drafting.fallbacks import sentence_keys
from tests.assistant.drafting_helpers import MASK, make_context
from tests.assistant.fake_openai import FakeChatServer

BOOK = TemplateBook.with_overrides(None)
CATALOGUE = ("玻尿酸补水面膜", "修护精华液", "螺蛳粉 5袋", "纯棉圆领T恤 白色")


@pytest.fixture
def llm():
    server = FakeChatServer().start()
    yield server
    server.stop()


def drafter(server):
    return ModelDrafter(ModelConfig(base_url=server.base_url, api_key="test-key", model="fake-model"))


def twice(server, text, products=("MASK-10",)):
    server.answer(text, list(products))
    server.answer(text, list(products))


@pytest.mark.parametrize("text", [
    "王女士，面膜今天9.9，要不要带一盒？",
    "王女士，面膜今天只要9.9！",
    "王女士，面膜今天9块9，先到先得。",
    "王女士，面膜今天九块九，先到先得。",
    "王女士，面膜今天99元。",
    "王女士，面膜今天¥99。",
    "王女士，面膜今天￥99。",
    "王女士，面膜今天99块。",
])
def test_an_invented_price_in_any_form_falls_back_to_the_template(llm, text):
    twice(llm, text)
    result = write_draft(make_context(), BOOK, model=drafter(llm))
    assert (result.source, result.fallback_reason) == ("template", "guardrail:price")
    assert text not in result.text
    assert "不在商品价格或已配置的优惠里" in llm.requests[1]["messages"][-1]["content"]  # the retry named it
    assert sentence_keys(result.fallback_reason) == [("drafts.fallback.guardrail.price", {})]


@pytest.mark.parametrize("text", ["王女士，面膜¥129.00。", "王女士，面膜129元。", "王女士，面膜129块。",
                                  "王女士，面膜一百二十九元。", "王女士，面膜只要129！"])
def test_the_offered_products_real_price_passes_in_any_form(llm, text):
    llm.answer(text, ["MASK-10"])
    result = write_draft(make_context(), BOOK, model=drafter(llm))
    assert (result.source, result.text) == ("llm", text)


def test_a_product_named_only_in_the_text_falls_back_when_nothing_was_offered(llm):
    twice(llm, "王女士，新出的玫瑰精油面霜很适合您，有空来试试。", products=())
    ctx = make_context("winback", products=(), offers=())
    ctx.catalogue_names = CATALOGUE
    result = write_draft(ctx, BOOK, model=drafter(llm))
    assert (result.source, result.fallback_reason) == ("template", "guardrail:unknown_product")
    assert "玫瑰精油面霜" in llm.requests[1]["messages"][-1]["content"]
    assert "玫瑰" not in result.text


def test_a_catalogue_product_that_was_not_offered_falls_back(llm):
    twice(llm, "王女士，店里的螺蛳粉卖得很好，要不要试试？")
    ctx = make_context(products=(MASK,))
    ctx.catalogue_names = CATALOGUE
    result = write_draft(ctx, BOOK, model=drafter(llm))
    assert (result.source, result.fallback_reason) == ("template", "guardrail:unknown_product")


def test_naming_the_offered_and_the_bought_products_passes(llm):
    text = "王女士，上次的玻尿酸补水面膜快用完了吧？修护精华液也可以一起看看。"
    llm.answer(text, ["MASK-10"])
    ctx = make_context()
    ctx.catalogue_names = CATALOGUE
    result = write_draft(ctx, BOOK, model=drafter(llm))
    assert (result.source, result.text) == ("llm", text)


def test_fallback_codes_map_to_sentence_keys():
    assert sentence_keys("guardrail:price,unknown_product") == [("drafts.fallback.guardrail.price", {}),
                                                                ("drafts.fallback.guardrail.unknown_product", {})]
    assert sentence_keys("http_401") == [("drafts.fallback.http", {"status": "401"})]
    assert sentence_keys("timeout") == [("drafts.fallback.timeout", {})]
    assert sentence_keys("something_new") == [("drafts.fallback.other", {})]


def test_every_fallback_code_reads_as_a_sentence_in_every_locale():
    from app.i18n import load_catalogues
    from assistant.drafting.fallbacks import all_sentence_keys

    for locale, catalogue in load_catalogues().items():
        missing = [key for key in all_sentence_keys() if not catalogue.get(key)]
        assert missing == [], (locale, missing)
    zh = load_catalogues()["zh-CN"]
    assert all("guardrail" not in zh[key] and "_" not in zh[key] for key in all_sentence_keys())
