"""Each guardrail on its own: what a draft may not say, and the channel's shape."""
from __future__ import annotations

import pytest

from assistant import guardrails
from assistant.guardrails import Allowances, channel_rules, check, compose, sms_segments

WECHAT = channel_rules("wecom", marketing=True, signature="美肤演示")
SMS_MARKETING = channel_rules("sms", marketing=True, signature="美肤演示", sms_segments_allowed=2)
SMS_SERVICE = channel_rules("sms", marketing=False, signature="美肤演示", sms_segments_allowed=1)
ALLOWED = Allowances(amounts_fen={12900, 5000, 30000}, offer_labels=["满300减50券"], coupons_allowed=True,
                     product_skus={"MASK-10"}, own_phone="13800000007")


def codes(text, rules=WECHAT, allowances=ALLOWED, **kw):
    return sorted({v.code for v in check(text, rules, allowances, **kw)})


def test_catalogue_price_and_configured_offer_pass():
    assert codes("王女士，面膜¥129.00，现在可用满300减50券，满300元可减50元。") == []


@pytest.mark.parametrize("text", ["面膜只要¥99！", "面膜现价99元", "￥ 88.8 带回家", "只要RMB 59"])
def test_price_not_in_catalogue_or_offers_is_refused(text):
    assert codes(text) == ["price"]


@pytest.mark.parametrize("text", ["全场8折", "今天八折", "满200减30", "立减20元", "第二件半价", "买一送一", "下单包邮"])
def test_discount_not_configured_is_refused(text):
    assert "discount" in codes(text)


def test_coupon_mentioned_when_none_is_configured_is_refused():
    no_offers = Allowances(amounts_fen={12900}, product_skus={"MASK-10"})
    assert codes("给您发个红包，记得领", allowances=no_offers) == ["coupon"]
    assert codes("可以用满300减50券哦", allowances=no_offers) == ["coupon", "discount"]


def test_other_phone_numbers_are_refused_but_the_customers_own_passes():
    assert codes("有问题打 139 1234 5678 找我") == ["phone"]
    assert codes("您留的号码13800000007已登记") == []


def test_other_customer_name_is_refused():
    assert codes("李建国上周也买了这款", other_customer_names=["李建国"]) == ["other_customer"]


def test_banned_words_use_the_configured_list():
    assert codes("这是全网最低价") == ["banned_word"]
    assert codes("这款面膜很好用", banned_words=["好用"]) == ["banned_word"]


def test_unknown_featured_product_is_refused():
    assert codes("推荐这款", featured_skus=["MADE-UP"]) == ["unknown_product"]


def test_chat_length_limit():
    assert codes("好" * guardrails.CHAT_MAX_CHARS) == []
    assert codes("好" * (guardrails.CHAT_MAX_CHARS + 1)) == ["length"]


def test_sms_segments_count_like_carriers():
    assert sms_segments("字" * 70) == 1
    assert sms_segments("字" * 71) == 2
    assert sms_segments("字" * 134) == 2
    assert sms_segments("字" * 135) == 3


def test_compose_frames_sms_with_signature_and_opt_out():
    text = compose("王女士您好，面膜该补货啦", SMS_MARKETING)
    assert text == "【美肤演示】王女士您好，面膜该补货啦 回T退订"
    assert codes(text, SMS_MARKETING) == []
    assert compose(text, SMS_MARKETING) == text  # framing twice changes nothing
    assert compose("您的订单还未付款", SMS_SERVICE) == "【美肤演示】您的订单还未付款"


def test_sms_without_signature_or_opt_out_is_refused():
    assert codes("王女士您好 回T退订", SMS_MARKETING) == ["signature"]
    assert codes("【美肤演示】王女士您好", SMS_MARKETING) == ["opt_out"]
    assert codes("【美肤演示】【别家】王女士您好 回T退订", SMS_MARKETING) == ["signature"]


def test_sms_longer_than_allowed_segments_is_refused():
    long = compose("好" * 140, SMS_MARKETING)
    assert "length" in codes(long, SMS_MARKETING)
    assert codes(compose("好" * 60, SMS_SERVICE), SMS_SERVICE) == []
    assert "length" in codes(compose("好" * 70, SMS_SERVICE), SMS_SERVICE)


def test_chat_message_with_a_signature_bracket_is_refused():
    assert codes("【美肤演示】王女士您好") == ["signature"]
