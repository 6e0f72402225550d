"""Find the products a sentence names, so a model's draft cannot recommend one it was not given.

Two readings, both practical rather than linguistic:

- the catalogue: any product name the brand sells (its name before the size, "螺蛳粉" of
  "螺蛳粉 5袋") that appears in the text;
- a noun phrase: a product word (面霜, 精华液, 牛肉干, T恤, 吹风机…) with the words that qualify it
  ("玫瑰精油面霜" in "新出的玫瑰精油面霜"). A bare product word ("您的面膜") names no product.

A mention is allowed when a product the draft may name (offered, or bought by this customer)
carries it: "补水面膜" fits "玻尿酸补水面膜", "烟酰胺精华" fits "烟酰胺亮肤精华 30ml".
"""
from __future__ import annotations

import re
from collections.abc import Iterable

# Product words of the brands we serve (cosmetics, food, apparel, small appliances), longest first
# within each family so "精华液" wins over "精华".
PRODUCT_WORDS = (
    # skincare and makeup
    "精华液", "精华水", "精华乳", "精华霜", "精华", "面霜", "乳液", "面膜", "泥膜", "爽肤水", "化妆水", "柔肤水",
    "洁面乳", "洁面", "洗面奶", "卸妆油", "卸妆水", "卸妆乳", "卸妆膏", "防晒霜", "防晒喷雾", "防晒乳", "眼霜",
    "口红", "唇膏", "唇釉", "粉底液", "气垫", "眼影", "睫毛膏", "香水", "身体乳", "护手霜", "洗发水", "护发素",
    "沐浴露", "精油", "面油", "肌底液", "安瓶", "冻干粉", "美容液", "喷雾",
    # food and drink
    "牛肉干", "猪肉脯", "肉脯", "果干", "坚果", "夏威夷果", "碧根果", "巴旦木", "饼干", "面包", "蛋糕", "巧克力",
    "咖啡液", "咖啡", "茶叶", "奶茶", "花茶", "冷泡茶", "乌龙茶", "普洱", "龙井", "燕麦片", "麦片", "酸奶粉",
    "酸奶", "牛奶", "奶粉", "零食", "礼包", "螺蛳粉", "火锅", "鸭脖", "芝麻丸", "燕窝", "月饼", "粽子", "鲜花饼",
    # apparel
    "T恤", "卫衣", "外套", "羽绒服", "大衣", "毛衣", "围巾", "牛仔裤", "西裤", "开衫", "衬衫", "连衣裙", "卫裤",
    "内衣", "家居服", "运动鞋", "跑步鞋", "小白鞋", "托特包", "通勤包", "双肩包",
    # small appliances
    "吹风机", "卷发棒", "电动牙刷", "牙刷", "刷头", "冲牙器", "空气炸锅", "料理机", "电饭煲", "榨汁杯", "热水壶",
    "吸尘器", "净化器", "加湿器", "取暖器", "按摩仪", "筋膜枪", "美容仪", "剃须刀", "音箱", "胶囊机", "咖啡机",
    # any family
    "礼盒", "套装",
)
_WORD = re.compile("|".join(sorted(map(re.escape, PRODUCT_WORDS), key=len, reverse=True)))
# Characters that end the words qualifying a product word (function words, pronouns, measure
# words, verbs of buying): "新出的玫瑰精油面霜" → "玫瑰精油面霜", "两瓶面霜" → "面霜".
_BOUNDARY = set("的了着过您你我他她它们这那哪此该每个款种样瓶盒支片袋件套罐包份双只颗些是在有买用给和与及或跟把被就都也还再很更最太挺超真好上次刚请要想会能可让帮送")
# Leading words that name no particular product: "新品面霜" is any new cream, "搭配面霜" is a verb
# and a cream.
LEADING_WORDS = ("新品", "新款", "新出", "新到", "新", "爆款", "同款", "热销", "人气", "经典", "常用", "日常", "当季",
                 "秋冬", "春夏", "搭配", "推荐", "试试", "试用", "入手", "带走", "来点", "看看", "囤", "挑", "选",
                 "配", "喝", "吃", "涂", "抹", "敷")
MAX_QUALIFIER = 8
MIN_CATALOGUE_NAME = 3


def _normal(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def product_phrases(text: str) -> list[str]:
    """Product words with the words that qualify them ("玫瑰精油面霜"); bare ones are left out."""
    phrases = []
    for match in _WORD.finditer(text):
        start = match.start()
        while (start > 0 and match.start() - start < MAX_QUALIFIER and "\u4e00" <= text[start - 1] <= "\u9fff"
               and text[start - 1] not in _BOUNDARY):
            start -= 1
        qualifier = text[start:match.start()]
        while qualifier.startswith(LEADING_WORDS):
            qualifier = qualifier[len(next(w for w in LEADING_WORDS if qualifier.startswith(w))):]
        if qualifier:
            phrases.append(qualifier + match.group(0))
    # "玫瑰精油面霜" also yields "玫瑰精油" (精油 is a product word): keep the longest reading.
    return [p for p in dict.fromkeys(phrases) if not any(p != q and p in q for q in phrases)]


def catalogue_core(name: str) -> str:
    """A catalogue name before its size or variant: "螺蛳粉 5袋" → "螺蛳粉"."""
    return name.split()[0] if name.split() else name


def unnamed_products(text: str, allowed: Iterable[str], catalogue: Iterable[str]) -> list[str]:
    """Products ``text`` names that no name in ``allowed`` carries, in the order found."""
    allowed_names = [_normal(name) for name in allowed if name]
    found: list[str] = []
    for phrase in product_phrases(text):
        if not _carried(_normal(phrase), allowed_names):
            found.append(phrase)
    normal_text = _normal(text)
    for name in catalogue:
        core = _normal(catalogue_core(name))
        if (len(core) >= MIN_CATALOGUE_NAME and core in normal_text and not _carried(core, allowed_names)
                and not any(core in _normal(f) or _normal(f) in core for f in found)):
            found.append(catalogue_core(name))
    return found


def _carried(phrase: str, allowed_names: list[str]) -> bool:
    """Whether an allowed product carries the phrase: whole, or its qualifier and its product word."""
    if any(phrase in name or name in phrase for name in allowed_names if name):
        return True
    word = _WORD.search(phrase)
    if word is None:
        return False
    qualifier, head = phrase[:word.start()], word.group(0)
    return any(head in name and qualifier and qualifier in name for name in allowed_names)
