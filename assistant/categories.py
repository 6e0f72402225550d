"""The category vocabulary: every category key the product knows, how it reads, and its defaults.

One home for the facts that tag thresholds, tag labels, the demo catalogue and the synthetic
transaction log all use, so "appliances" cannot be spelt "appliance" in one place and silently
fall back to the default dormancy in another (seed 003: appliances are bought every two years or
so, snacks every few weeks). A brand's own catalogue may use other keys; thresholds may name
those too (see ``known_categories``), and any other key is refused with its name.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    key: str
    zh: str
    en: str
    dormant_days: int | None = None          # no repurchase for this long → 休眠 (product without a cycle)
    rfm_days: tuple[int, int] | None = None  # (active within, lost after) days; None → the brand default


CATEGORIES: dict[str, Category] = {c.key: c for c in (
    Category("skincare", "护肤", "Skincare", dormant_days=120),
    Category("masks", "面膜", "Masks"),
    Category("makeup", "彩妆", "Makeup"),
    Category("snacks", "零食", "Snacks", dormant_days=60, rfm_days=(30, 120)),
    Category("food", "食品", "Food"),
    Category("beverages", "饮品", "Beverages"),
    Category("apparel", "服饰", "Apparel", dormant_days=180),
    Category("shoes", "鞋履", "Shoes"),
    Category("bags", "箱包", "Bags"),
    Category("jewelry", "珠宝", "Jewellery"),
    Category("appliances", "家电", "Appliances", dormant_days=720, rfm_days=(365, 1095)),
    Category("baby", "母婴", "Baby"),
    Category("home", "家居", "Home"),
)}


def category_label(key: str, locale: str = "zh-CN") -> str:
    """How a category reads to a person; a brand's own key shows as it is."""
    found = CATEGORIES.get(key)
    if found is None:
        return key
    return found.en if locale.startswith("en") else found.zh


def default_dormant_days() -> dict[str, int]:
    return {c.key: c.dormant_days for c in CATEGORIES.values() if c.dormant_days is not None}


def default_rfm_days() -> dict[str, tuple[int, int]]:
    return {c.key: c.rfm_days for c in CATEGORIES.values() if c.rfm_days is not None}


def known_categories(catalogue: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """The vocabulary plus the categories the brand's own catalogue uses."""
    return set(CATEGORIES) | set(catalogue)
