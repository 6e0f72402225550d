"""Checks every drafted message passes before a clerk sees it, and the channel framing.

A draft may only quote prices of the products it was given, offers head office configured, and the
customer's own unpaid order — a price in any form a Chinese sentence writes it (¥99, 99元, 99块,
9块9, 九块九, 只要9.9: ``assistant.price_mentions``); a model's draft may name only the products it
was given or the customer bought (``assistant.product_mentions``); no draft may carry another
customer's name or any phone number that is not the customer's own; it must fit the channel (SMS
segments, 【signature】 first, 回T退订 on marketing) and avoid the banned words (广告法 absolute
claims and the brand's own list). Each failed check is a ``Violation`` whose ``detail`` is worded
for the model's retry prompt.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from assistant.price_mentions import price_mentions
from assistant.product_mentions import unnamed_products

# Chinese SMS: one message holds 70 characters; a long message is split into 67-character parts
# (3 characters of each part carry the concatenation header). Operators bill per part.
SMS_SINGLE_CHARS = 70
SMS_PART_CHARS = 67
SMS_OPT_OUT = "回T退订"

# Generous for a chat bubble, far below WeChat's 2,048-byte text limit: drafts are meant to be read.
CHAT_MAX_CHARS = 300
EMAIL_MAX_CHARS = 2000

DEFAULT_BANNED_WORDS = (
    # 广告法 第九条: absolute claims are not allowed in advertising.
    "国家级", "世界级", "最高级", "最佳", "最低价", "全网最低", "史上最低", "第一品牌", "销量第一",
    "绝对", "万能", "顶级", "极品", "100%有效", "根治", "包治", "秒杀全网", "假一赔十",
    # Pressure that reads as spam to customers and to carriers' filters.
    "最后一天", "错过再等一年", "点击领取", "免费领取",
)

_DISCOUNTS = (
    re.compile(r"满\s*\d+(?:\.\d+)?\s*元?\s*[减送]\s*\d+(?:\.\d+)?\s*元?"),
    re.compile(r"\d+(?:\.\d+)?\s*折"),
    re.compile(r"[一二三四五六七八九]{1,2}折"),
    re.compile(r"\d+\s*%\s*off", re.I),
    re.compile(r"(?:立减|直降|立省|减免)\s*\d+(?:\.\d+)?\s*元?"),
    re.compile(r"半价|买一送一|买\S送\S|第二件\S{0,3}价|免单|包邮|免运费|赠品|赠送|送礼品"),
)
_COUPON_WORDS = re.compile(r"券|红包|优惠码|折扣码|coupon|积分兑换", re.I)
_PHONE = re.compile(r"(?<!\d)1[3-9]\d(?:[\s-]?\d){8}(?!\d)")
_BRACKETED = re.compile(r"【[^】]{1,20}】")


VIOLATION_CODES = ("price", "discount", "coupon", "other_customer", "phone", "length", "signature", "opt_out",
                   "banned_word", "unknown_product")


@dataclass(frozen=True)
class Violation:
    code: str    # one of VIOLATION_CODES
    detail: str  # zh-CN, names what was wrong so the model can fix it on the retry

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


@dataclass(frozen=True)
class ChannelRules:
    """What a message must look like on one channel."""

    channel: str
    max_chars: int
    marketing: bool = False
    signature: str | None = None       # SMS: "【品牌】", required first
    opt_out: str | None = None         # SMS marketing: "回T退订", required last
    max_segments: int | None = None    # SMS parts allowed

    def describe(self) -> str:
        """The limits in words, for the prompt."""
        if self.max_segments:
            total = sms_capacity(self.max_segments)
            parts = [f"短信，最多{self.max_segments}条计费（含签名与退订共{total}字以内）",
                     f"系统会自动在开头加签名{self.signature}"]
            if self.opt_out:
                parts.append(f"并在结尾加“{self.opt_out}”，正文里不要再写")
            return "，".join(parts)
        return f"{self.channel} 聊天消息，{self.max_chars}字以内，不要带【】签名"


def sms_capacity(segments: int) -> int:
    return SMS_SINGLE_CHARS if segments <= 1 else SMS_PART_CHARS * segments


def sms_segments(text: str) -> int:
    """Billed parts of a Chinese SMS (UCS-2: 70 single, 67 per part when concatenated)."""
    n = len(text)
    if n <= SMS_SINGLE_CHARS:
        return 1
    return -(-n // SMS_PART_CHARS)


def channel_rules(channel: str, *, marketing: bool, signature: str, sms_segments_allowed: int = 2) -> ChannelRules:
    """The rules for ``channel``; SMS carries the brand signature and, for marketing, the opt-out."""
    if channel == "sms":
        return ChannelRules("sms", sms_capacity(sms_segments_allowed), marketing=marketing,
                            signature=f"【{signature.strip('【】')}】",
                            opt_out=SMS_OPT_OUT if marketing else None,
                            max_segments=sms_segments_allowed)
    if channel == "email":
        return ChannelRules(channel, EMAIL_MAX_CHARS, marketing=marketing)
    return ChannelRules(channel, CHAT_MAX_CHARS, marketing=marketing)


def compose(body: str, rules: ChannelRules) -> str:
    """Frame a message body for its channel: SMS gets the signature first and the opt-out last."""
    text = " ".join(body.split()) if rules.channel == "sms" else body.strip()
    if rules.signature:
        if text.startswith(rules.signature):
            text = text[len(rules.signature):].lstrip()
        text = rules.signature + text
    if rules.opt_out and not text.rstrip("。. ").endswith(rules.opt_out):
        text = text.rstrip() + " " + rules.opt_out
    return text


@dataclass
class Allowances:
    """What a draft may mention: these amounts (fen), these offer labels, these products."""

    amounts_fen: set[int] = field(default_factory=set)
    offer_labels: list[str] = field(default_factory=list)
    coupons_allowed: bool = False
    product_skus: set[str] = field(default_factory=set)
    own_phone: str | None = None
    product_names: tuple[str, ...] = ()  # the products it may name: offered, or bought by this customer


def _normal(s: str) -> str:
    return re.sub(r"[\s元]", "", s).lower()


def check(text: str, rules: ChannelRules, allowances: Allowances, *,
          banned_words: Iterable[str] = DEFAULT_BANNED_WORDS,
          other_customer_names: Iterable[str] = (),
          featured_skus: Iterable[str] = (),
          catalogue_names: Iterable[str] | None = None) -> list[Violation]:
    """Every rule ``text`` breaks (empty when it may be shown to the clerk).

    ``catalogue_names`` turns on the check of products named in the text (model drafts: a
    template names products only through its variables).
    """
    found: list[Violation] = []
    found += _money(text, allowances)
    found += _discounts(text, allowances)
    found += _people(text, allowances, other_customer_names)
    found += _shape(text, rules)
    lowered = text.lower()
    for word in banned_words:
        if word and word.lower() in lowered:
            found.append(Violation("banned_word", f"使用了禁用词“{word}”"))
    for sku in featured_skus:
        if sku not in allowances.product_skus:
            found.append(Violation("unknown_product", f"商品 {sku} 不在可推荐的商品里"))
    if catalogue_names is not None:
        for name in unnamed_products(text, allowances.product_names, catalogue_names):
            found.append(Violation("unknown_product", f"提到了“{name}”，它不在可推荐的商品里；只能用列出的商品名称"))
    return found


def _money(text: str, allowances: Allowances) -> list[Violation]:
    return [Violation("price", f"金额“{m.text}”不在商品价格或已配置的优惠里")
            for m in price_mentions(text) if m.fen not in allowances.amounts_fen]


def _discounts(text: str, allowances: Allowances) -> list[Violation]:
    labels = [_normal(label) for label in allowances.offer_labels]
    found = []
    for pattern in _DISCOUNTS:
        for match in pattern.finditer(text):
            token = _normal(match.group(0))
            if not any(token in label for label in labels):
                found.append(Violation("discount", f"优惠“{match.group(0)}”不在已配置的优惠里"))
    if not allowances.coupons_allowed:
        match = _COUPON_WORDS.search(text)
        if match:
            found.append(Violation("coupon", f"提到了“{match.group(0)}”，但当前没有可用的优惠券"))
    return found


def _people(text: str, allowances: Allowances, other_customer_names: Iterable[str]) -> list[Violation]:
    found = []
    own = re.sub(r"\D", "", allowances.own_phone or "")
    for match in _PHONE.finditer(text):
        if re.sub(r"\D", "", match.group(0)) != own:
            found.append(Violation("phone", f"包含手机号“{match.group(0)}”，不能出现其他人的联系方式"))
    for name in other_customer_names:
        if name and name in text:
            found.append(Violation("other_customer", f"出现了其他顾客的名字“{name}”"))
    return found


def _shape(text: str, rules: ChannelRules) -> list[Violation]:
    found = []
    if not text.strip():
        return [Violation("length", "内容为空")]
    if rules.max_segments:
        parts = sms_segments(text)
        if parts > rules.max_segments:
            found.append(Violation("length", f"短信共{len(text)}字、{parts}条，超过{rules.max_segments}条"
                                             f"（{rules.max_chars}字）的上限"))
    elif len(text) > rules.max_chars:
        found.append(Violation("length", f"共{len(text)}字，超过{rules.max_chars}字的上限"))
    brackets = _BRACKETED.findall(text)
    if rules.signature:
        if not text.startswith(rules.signature):
            found.append(Violation("signature", f"短信必须以签名{rules.signature}开头"))
        others = [b for b in brackets if b != rules.signature]
        if others or brackets.count(rules.signature) > 1:
            found.append(Violation("signature", f"只能有一个签名{rules.signature}，不要写其他【】"))
    elif brackets:
        found.append(Violation("signature", f"聊天消息不要带{brackets[0]}这样的签名"))
    if rules.opt_out and not text.rstrip("。. ").endswith(rules.opt_out):
        found.append(Violation("opt_out", f"营销短信必须以“{rules.opt_out}”结尾"))
    return found
