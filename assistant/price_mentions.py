"""Find the prices in a Chinese sentence, however it writes them, as amounts in fen.

"¥99", "￥99", "RMB 59", "99元", "99块", "99块钱", "9块9", "9元9角", "九块九", "一百二十九元",
"今天只要9.9", "到手价99", "只要九十九": each is a price. What is not: "3块香皂" (块 counts soap),
"一块儿", "11.11" (the festival), "1.5L", "4.5分", "2件×10天". The guardrails compare what is
found here with the prices a draft may quote; this module only reads numbers.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN = "[零〇一二两三四五六七八九十百千万]+(?:点[零〇一二三四五六七八九]+)?"
_NUM = r"\d+(?:\.\d+)?万?"
_AMOUNT = f"(?P<amount>{_NUM}|{_CN})"
_JIAO = r"(?P<jiao>[0-9]|[零一二两三四五六七八九])"

# A currency sign or name before the number.
_PREFIXED = re.compile(rf"(?:¥|RMB|CNY|人民币)\s*{_AMOUNT}", re.I)
# A number and 元/块 after it, maybe with the jiao: 9块9, 9元9角, 九块九毛.
_SUFFIXED = re.compile(rf"{_AMOUNT}\s*(?P<unit>块钱|块|元|圆)(?:\s*{_JIAO}(?P<mao>毛|角)?)?")
# Words that announce a price, then a bare number: 只要99, 到手价9.9, 仅需九十九.
_CUED = re.compile(r"(?:只要|只需|仅需|仅要|仅售|才要|只卖|才卖|才|售价|现价|原价|价格|特价|到手价|到手|低至|秒杀价|"
                   rf"活动价|会员价|折后价?|优惠价|一口价|券后价?|团购价|单价|定价|卖)\s*(?:是|为|仅|只)?\s*{_AMOUNT}")
# A bare decimal with one or two places (9.9, 129.00) reads as a price in a sales message.
_DECIMAL = re.compile(r"(?<![\d.])(?P<amount>\d+\.\d{1,2})(?![\d.])")

# After a number, these make it a count or a measure, not money ("3天", "1.5L", "8折", "4.5分").
_NOT_MONEY_AFTER = re.compile(r"\s*(?:[A-Za-z%％折倍度岁米克升斤寸码号分星天年月日周点个件次层级代版款色条支瓶盒袋片份套罐双只颗粒枚张台人位]"
                              r"|小时|分钟|公斤|毫升)")
# After 块, these are what is being counted ("3块香皂", "一块儿"), not yuan.
_COUNTED_BY_KUAI = ("蛋糕", "香皂", "肥皂", "巧克力", "面包", "手表", "糖", "饼", "布", "毛巾", "石", "玉", "地",
                    "板", "砖", "冰", "肉", "姜", "屏", "表", "牌", "儿")
# Festival dates written as decimals: 11.11, 12.12, 6.18 are days, not prices.
_FESTIVAL_DATES = frozenset({"11.11", "12.12", "6.18"})


@dataclass(frozen=True)
class PriceMention:
    text: str   # as written
    fen: int
    start: int
    end: int


def price_mentions(text: str) -> list[PriceMention]:
    """Every price ``text`` states, in order; overlapping readings of one price count once."""
    normal = unicodedata.normalize("NFKC", text)  # ￥→¥, full-width digits → ASCII; same length for these
    if len(normal) != len(text):
        normal = text
    found: list[PriceMention] = []
    for reader in (_prefixed, _suffixed, _cued, _decimal):
        for mention in reader(normal):
            if not any(mention.start < m.end and m.start < mention.end for m in found):
                found.append(mention)
    return sorted(found, key=lambda m: m.start)


def _prefixed(text: str):
    for m in _PREFIXED.finditer(text):
        fen = _fen(m.group("amount"))
        if fen is not None:
            yield PriceMention(m.group(0).strip(), fen, m.start(), m.end())


def _suffixed(text: str):
    for m in _SUFFIXED.finditer(text):
        amount, unit, jiao = m.group("amount"), m.group("unit"), m.group("jiao")
        end = m.end()
        if jiao is not None and not m.group("mao") and re.match(r"\s*[\d零一二两三四五六七八九件个瓶盒支片袋套份]", text[end:]):
            jiao, end = None, m.start("jiao")  # "99元3件": the digit after 元 starts a count, not the jiao
        if unit == "块" and jiao is None and _counted_by_kuai(text, end, amount):
            continue
        fen = _fen(amount)
        if fen is None:
            continue
        if jiao is not None:
            fen += 10 * (_DIGITS[jiao] if jiao in _DIGITS else int(jiao))
        yield PriceMention(text[m.start():end].strip(), fen, m.start(), end)


def _counted_by_kuai(text: str, end: int, amount: str) -> bool:
    following = text[end:]
    if following.startswith(_COUNTED_BY_KUAI):
        return True
    # "一块去", "一块吃": 一块 is "together" unless money follows from context (一块钱 is matched as 块钱).
    return amount == "一" and bool(following[:1]) and "\u4e00" <= following[0] <= "\u9fff"


def _cued(text: str):
    for m in _CUED.finditer(text):
        if _NOT_MONEY_AFTER.match(text, m.end()):
            continue
        fen = _fen(m.group("amount"))
        if fen is not None:
            yield PriceMention(m.group(0).strip(), fen, m.start("amount"), m.end())


def _decimal(text: str):
    for m in _DECIMAL.finditer(text):
        if m.group("amount") in _FESTIVAL_DATES or _NOT_MONEY_AFTER.match(text, m.end()):
            continue
        if m.start() > 0 and text[m.start() - 1].isalpha() and text[m.start() - 1].isascii():
            continue  # SPF50.5, V2.0: part of a name
        fen = _fen(m.group("amount"))
        if fen is not None:
            yield PriceMention(m.group(0), fen, m.start(), m.end())


def _fen(amount: str) -> int | None:
    value = chinese_number(amount) if not amount[0].isdigit() else _decimal_value(amount)
    if value is None:
        return None
    return int((value * 100).to_integral_value())


def _decimal_value(amount: str) -> Decimal | None:
    try:
        return Decimal(amount[:-1]) * 10000 if amount.endswith("万") else Decimal(amount)
    except InvalidOperation:
        return None


def chinese_number(text: str) -> Decimal | None:
    """一百二十九 → 129, 九点九 → 9.9, 两百 → 200, 一百二 → 120 (the spoken short form)."""
    whole, _, fraction = text.partition("点")
    if fraction and not all(ch in _DIGITS for ch in fraction):
        return None
    total, section, number, last_unit = 0, 0, 0, 0
    for ch in whole:
        if ch in _DIGITS:
            number = _DIGITS[ch]
        elif ch in _UNITS:
            section += (number or 1) * _UNITS[ch]
            number, last_unit = 0, _UNITS[ch]
        elif ch == "万":
            total += (section + number) * 10000
            section, number, last_unit = 0, 0, 10000
        else:
            return None
    if number and last_unit >= 100 and whole[-2:-1] in ("百", "千", "万"):
        number *= last_unit // 10  # 一百二 is 120, 两千五 is 2500
    value = Decimal(total + section + number)
    if fraction:
        value += Decimal("0." + "".join(str(_DIGITS[ch]) for ch in fraction))
    return value
