"""The automatic tags' vocabulary: their names and labels, and the places and days the rules speak of.

Tag names are stable identifiers (segments and the API use them); labels are for people. Both
ways of computing tags (``assistant.tags`` over columns, ``assistant.tags_few`` row by row)
and the segment filters read these.
"""
from __future__ import annotations

import datetime as dt

from assistant.categories import CATEGORIES, category_label

FIXED_TAGS: dict[str, tuple[str, str, str]] = {  # name: (group, zh, en)
    "stage:prospect": ("stage", "潜客", "Prospect"),
    "stage:new": ("stage", "新客", "New"),
    "stage:repeat": ("stage", "老客", "Repeat"),
    "stage:dormant": ("stage", "休眠流失", "Dormant"),
    "stage:fan": ("stage", "粉丝", "Fan"),
    "rfm:active": ("rfm", "活跃客户", "Active"),
    "rfm:sleeping": ("rfm", "沉睡客户", "Sleeping"),
    "rfm:lost": ("rfm", "流失客户", "Lost"),
    "replenish_due": ("replenish", "该补货了", "Replenishment due"),
    "unpaid": ("unpaid", "待催付", "Unpaid order"),
    "campus": ("address", "校园地址", "Campus address"),
    "birthday_soon": ("birthday", "近期生日", "Birthday soon"),
    "high_value": ("value", "高价值", "High value"),
    "price:low": ("price_band", "平价", "Budget"),
    "price:mid": ("price_band", "中端", "Mid-range"),
    "price:high": ("price_band", "高端", "Premium"),
    "new_follower": ("follower", "新好友", "New follower"),
    "engaged": ("engagement", "近期互动", "Engaged"),
}
# How the catalogue's category keys read to a clerk (the vocabulary in assistant.categories).
CATEGORY_LABELS_ZH = {key: c.zh for key, c in CATEGORIES.items()}


# Open-ended families: the suffix is data (a category, a province).
FAMILY_TAGS: dict[str, tuple[str, str, str]] = {
    "affinity:": ("affinity", "偏好 ", "Likes "),
    "region:": ("region", "地区 ", "Region "),
}

PROVINCES = ("北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江",
             "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州",
             "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门")
LONG_PROVINCES = {p for p in PROVINCES if len(p) == 3}


def tag_meta(name: str) -> tuple[str, str, str]:
    """(group, label_zh, label_en) of an automatic tag name."""
    if name in FIXED_TAGS:
        return FIXED_TAGS[name]
    for prefix, (group, zh, en) in FAMILY_TAGS.items():
        if name.startswith(prefix):
            suffix = name[len(prefix):]
            return group, zh + (category_label(suffix) if group == "affinity" else suffix), en + suffix
    raise KeyError(name)


def birthday_offsets(today: dt.date, within_days: int) -> dict[int, int]:
    """month*100+day → days until that birthday, for the next ``within_days`` days.

    A 29 February birthday is celebrated on 28 February in other years.
    """
    offsets: dict[int, int] = {}
    for n in range(within_days + 1):
        day = today + dt.timedelta(days=n)
        offsets.setdefault(day.month * 100 + day.day, n)
        if day.month == 2 and day.day == 28 and not _is_leap(day.year):
            offsets.setdefault(229, n)
    return offsets


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
