"""Templates: every default renders and passes the guardrails, rotation, sandbox, validation."""
from __future__ import annotations

import pytest

from assistant import guardrails
from assistant.drafting import (SCENARIOS, TaskBrief, TemplateBook, choose_variant, default_templates,
                                festival_for, salutation, template_draft, validate_templates)
from tests.assistant.drafting_helpers import COUPON, MASK, make_context

BOOK = TemplateBook.with_overrides(None)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("channel", ["wecom", "sms"])
def test_every_default_variant_renders_and_passes_guardrails(scenario, channel):
    task = TaskBrief(1, "双十一老客关怀", "邀请老客回店", None, None) if scenario == "task" else None
    for offers in [(COUPON,), ()]:
        ctx = make_context(scenario, channel, offers=offers, unpaid_fen=26800 if scenario == "unpaid" else None,
                           task=task)
        for variant in BOOK.variant_ids(scenario):
            ctx.variant_history = [v for v in BOOK.variant_ids(scenario) if v != variant]
            result = template_draft(ctx, BOOK)
            assert result.variant == variant
            assert result.warnings == [], (variant, result.text)
            assert "王女士" in result.text and "{{" not in result.text and "built-in" not in result.text


def test_sms_draft_carries_signature_and_marketing_opt_out():
    result = template_draft(make_context("replenish", "sms"), BOOK)
    assert result.text.startswith("【美肤演示】") and result.text.endswith("回T退订")
    service = template_draft(make_context("unpaid", "sms", unpaid_fen=26800), BOOK)
    assert service.text.startswith("【美肤演示】") and not service.text.endswith("回T退订")
    assert "¥268.00" in service.text or "修护精华液" in service.text


def test_rotation_gives_unused_variants_first_then_the_oldest():
    ids = ["birthday.a", "birthday.b", "birthday.c"]
    assert choose_variant(ids, [], 0) == "birthday.a"
    assert choose_variant(ids, [], 1) == "birthday.b"
    assert choose_variant(ids, ["birthday.b"], 1) == "birthday.c"
    # newest first: a was drafted last, then c, then b → b is the oldest
    assert choose_variant(ids, ["birthday.a", "birthday.c", "birthday.b"], 5) == "birthday.b"


def test_two_drafts_in_a_row_for_one_customer_differ():
    ctx = make_context("birthday")
    first = template_draft(ctx, BOOK)
    ctx.variant_history = [first.variant]
    second = template_draft(ctx, BOOK)
    assert first.variant != second.variant and first.text != second.text


def test_variant_that_breaks_a_channel_rule_is_skipped_for_the_next():
    long_name = MASK.__class__(**{**MASK.__dict__, "name": "超长名字" * 12})
    ctx = make_context("new_arrival", "sms", products=(long_name,), sms_segments=2)
    result = template_draft(ctx, BOOK)
    assert result.variant == "new_arrival.b" or result.warnings == []


def test_templates_are_sandboxed():
    errors = validate_templates({"birthday": {"variants": [
        {"id": "birthday.x", "text": "{{ customer.__class__.__mro__[1].__subclasses__() }}"}]}})
    assert "scenarios.birthday.variants[0].text" in errors


def test_validation_names_each_bad_part():
    errors = validate_templates({
        "birthday": {"variants": [{"id": "birthday.a", "text": "{{ customer.salutaton }}生日快乐"},
                                  {"id": "wrong", "text": "你好"}]},
        "lottery": {"variants": []},
        "festival": {"variants": [{"id": "festival.a", "text": "{% if offer %}{{ offer.label }}{% endif %}"}]},
    })
    assert "does not render" in errors["scenarios.birthday.variants[0].text"]
    assert "scenarios.birthday.variants[1].id" in errors
    assert "scenarios.lottery" in errors
    assert errors["scenarios.festival.variants[0].text"] == "renders to an empty message"
    assert validate_templates(default_templates()) == {}


def test_task_template_from_head_office_is_used_first():
    task = TaskBrief(9, "七夕关怀", "高客单老客", None, "{{ customer.salutation }}，七夕快乐！{{ clerk.name }}")
    result = template_draft(make_context("task", task=task), BOOK)
    assert result.variant == "task9.custom" and result.text == "王女士，七夕快乐！小林"


def test_salutation_and_festival():
    assert salutation("王小美", "F") == "王女士"
    assert salutation("李雷", "M") == "李先生"
    assert salutation("Amy", "F") == "Amy"
    assert salutation("王小美", None) == "王小美"
    import datetime as dt

    assert festival_for(dt.date(2026, 11, 5)) == "双十一"
    assert festival_for(dt.date(2026, 8, 10)) == "七夕"
    assert festival_for(dt.date(2026, 7, 1)) == "节日"


def test_guardrails_reject_a_price_template_cannot_invent():
    ctx = make_context("replenish")
    assert [v.code for v in guardrails.check("只要¥9.90", ctx.rules, ctx.allowances())] == ["price"]


def test_new_arrival_copy_claims_newness_only_for_new_products():
    import datetime as dt

    from tests.assistant.drafting_helpers import NOW

    fresh = MASK.__class__(**{**MASK.__dict__, "launched_at": NOW - dt.timedelta(days=5)})
    new_text = template_draft(make_context("new_arrival", products=(fresh,), history=["new_arrival.b", "new_arrival.c"]), BOOK).text
    old_text = template_draft(make_context("new_arrival", products=(MASK,), history=["new_arrival.b", "new_arrival.c"]), BOOK).text
    assert "玻尿酸补水面膜（¥129.00）刚到店" in new_text
    assert "刚到店" not in old_text and "也给您挑了玻尿酸补水面膜" in old_text


def test_templates_may_not_write_prices_offers_or_banned_words_themselves():
    def error(text, **kw):
        return validate_templates({"birthday": {"variants": [{"id": "birthday.x", "text": text}]}}, **kw).get(
            "scenarios.birthday.variants[0].text", "")

    assert "¥9.90" in error("{{ customer.salutation }}，面膜只要¥9.90")
    assert "8折" in error("{{ customer.salutation }}，生日全场8折")
    assert "券" in error("{{ customer.salutation }}，送您一张券")
    assert "顶级" in error("{{ customer.salutation }}，顶级面膜")
    assert error("生日快乐", banned_words=["生日快乐"]) == "使用了禁用词“生日快乐”"
    assert error("{{ customer.salutation }}{% if offer %}，可用{{ offer.label }}{% endif %}，面膜¥{{ product.price if product else '' }}") == ""
