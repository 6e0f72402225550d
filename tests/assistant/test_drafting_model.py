"""The model path through the real openai SDK against a local OpenAI-compatible server.

Good answers are used; answers that break a guardrail get one retry naming the violation, then
the template; invalid JSON, 429, 500 and answers slower than the budget fall back to the template.
"""
from __future__ import annotations

import json
import time

import pytest

from assistant.drafting import (ModelConfig, ModelDrafter, TemplateBook, prompt_messages, write_draft)
from tests.assistant.drafting_helpers import make_context
from tests.assistant.fake_openai import FakeChatServer

BOOK = TemplateBook.with_overrides(None)
GOOD = "王女士，您的面膜差不多用完啦，玻尿酸补水面膜¥129.00，需要我帮您留一份吗？"


@pytest.fixture
def llm():
    server = FakeChatServer().start()
    yield server
    server.stop()


def drafter(server, budget=3.0):
    return ModelDrafter(ModelConfig(base_url=server.base_url, api_key="test-key", model="fake-model",
                                    budget_seconds=budget))


def test_good_answer_is_used_with_its_products_and_reason(llm):
    llm.answer(GOOD, ["MASK-10"], "面膜按周期快用完")
    result = write_draft(make_context(), BOOK, model=drafter(llm))
    assert (result.source, result.text, result.reason) == ("llm", GOOD, "面膜按周期快用完")
    assert [p.sku for p in result.products] == ["MASK-10"]
    sent = llm.requests[0]
    assert sent["model"] == "fake-model"
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"]["required"] == ["text", "products", "reason"]


def test_prompt_carries_the_customer_and_the_rules():
    messages = prompt_messages(make_context("replenish", "sms"), "friendly")
    system, facts = messages[0]["content"], json.loads(messages[1]["content"])
    assert "小林" in system and "【美肤演示】" in system and "回T退订" in system and "全网最低" in system
    assert facts["场景"] == "补货" and facts["生命周期阶段"] == "老客"
    assert "补货提醒（面膜预计3天后用完）" in facts["标签"]
    assert "使用周期10天/件" in facts["最近购买"][0]
    assert facts["可用优惠"] == ["满300减50券"]
    assert {p["sku"] for p in facts["可推荐商品"]} == {"MASK-10", "SERUM-30"}


@pytest.mark.parametrize("bad, code", [
    ("王女士，面膜今天只要¥99！", "price"),
    ("王女士，全场8折，快来！", "discount"),
    ("王女士，李建国也买了这款面膜。", "other_customer"),
    ("王女士，有事打13912345678找我。", "phone"),
    ("王女士，这是全网最低价的面膜。", "banned_word"),
    ("王女士，" + "面膜很好用。" * 60, "length"),
])
def test_guardrail_violation_is_named_in_one_retry_and_the_fix_is_used(llm, bad, code):
    llm.answer(bad, ["MASK-10"])
    llm.answer(GOOD, ["MASK-10"])
    result = write_draft(make_context(), BOOK, model=drafter(llm),
                         names_in_text=lambda text: ["李建国"] if "李建国" in text else [])
    assert result.source == "llm" and result.text == GOOD
    assert len(llm.requests) == 2
    retry = llm.requests[1]["messages"][-1]["content"]
    assert retry.startswith("上一稿不合格")


def test_two_violating_answers_fall_back_to_the_template(llm):
    llm.answer("王女士，今天只要¥99！", ["MASK-10"])
    llm.answer("王女士，今天只要¥88！", ["MASK-10"])
    result = write_draft(make_context(), BOOK, model=drafter(llm))
    assert result.source == "template" and result.variant.startswith("replenish.")
    assert result.fallback_reason == "guardrail:price"
    assert "¥99" in llm.requests[1]["messages"][-1]["content"]


def test_unknown_product_sku_is_a_violation(llm):
    llm.answer(GOOD, ["NOT-IN-CATALOGUE"])
    llm.answer(GOOD, ["NOT-IN-CATALOGUE"])
    result = write_draft(make_context(), BOOK, model=drafter(llm))
    assert (result.source, result.fallback_reason) == ("template", "guardrail:unknown_product")


def test_sms_answer_is_framed_and_checked(llm):
    llm.answer("王女士，面膜该补货啦，需要我帮您留一份吗？", ["MASK-10"])
    result = write_draft(make_context("replenish", "sms"), BOOK, model=drafter(llm))
    assert result.source == "llm"
    assert result.text == "【美肤演示】王女士，面膜该补货啦，需要我帮您留一份吗？ 回T退订"


@pytest.mark.parametrize("script, reason", [
    (lambda s: s.raw("这不是 JSON"), "invalid_json"),
    (lambda s: s.raw('{"text": 42}'), "invalid_json"),
    (lambda s: s.status(429), "rate_limited"),
    (lambda s: s.status(500), "server_error"),
    (lambda s: s.status(503), "server_error"),
])
def test_bad_answers_fall_back_to_the_template_without_retrying(llm, script, reason):
    script(llm)
    result = write_draft(make_context(), BOOK, model=drafter(llm))
    assert (result.source, result.fallback_reason) == ("template", reason)
    assert len(llm.requests) == 1  # max_retries=0: no SDK retry on 429/5xx


def test_slow_answer_past_the_budget_falls_back_in_time(llm):
    llm.slow(1.0)
    started = time.monotonic()
    result = write_draft(make_context(), BOOK, model=drafter(llm, budget=0.45))
    elapsed = time.monotonic() - started
    assert (result.source, result.fallback_reason) == ("template", "timeout")
    assert elapsed < 0.95  # the answer would only come after 1 s


def test_no_retry_when_the_budget_is_spent():
    class Clock:
        now = 0.0

        def __call__(self):
            return self.now

    clock = Clock()

    class SlowBadModel(ModelDrafter):
        calls = 0

        def answer(self, messages, timeout):
            SlowBadModel.calls += 1
            clock.now += 2.8  # the first answer used almost all of the 3 s budget
            from assistant.drafting import ModelAnswer
            return ModelAnswer("只要¥1！", [], "")

    model = SlowBadModel(ModelConfig(None, "k", "m", budget_seconds=3.0))
    result = write_draft(make_context(), BOOK, model=model, clock=clock)
    assert SlowBadModel.calls == 1 and result.source == "template"


def test_unreachable_endpoint_falls_back(llm):
    url = llm.base_url
    llm.stop()
    model = ModelDrafter(ModelConfig(base_url=url, api_key="k", model="m", budget_seconds=1.0))
    result = write_draft(make_context(), BOOK, model=model)
    assert (result.source, result.fallback_reason) == ("template", "unreachable")
