"""Products a sentence names, and which of them a draft may name."""
from __future__ import annotations

from assistant.product_mentions import product_phrases, unnamed_products

CATALOGUE = ["玻尿酸补水精华液 30ml", "烟酰胺亮肤精华 30ml", "螺蛳粉 5袋", "纯棉圆领T恤 白色", "眼霜 15g"]


def test_a_qualified_product_word_is_a_product_and_a_bare_one_is_not():
    assert product_phrases("新出的玫瑰精油面霜，您一定喜欢") == ["玫瑰精油面霜"]
    assert product_phrases("您的面膜差不多用完啦，两瓶面霜也快见底") == []
    assert product_phrases("新品面霜到了，搭配保湿面霜一起用") == ["保湿面霜"]


def test_an_invented_product_is_caught_with_nothing_offered():
    assert unnamed_products("王女士，新出的玫瑰精油面霜很适合您", [], CATALOGUE) == ["玫瑰精油面霜"]


def test_offered_and_bought_products_may_be_named_in_short():
    allowed = ["玻尿酸补水面膜", "烟酰胺亮肤精华 30ml"]
    assert unnamed_products("玻尿酸补水面膜¥129.00，烟酰胺精华用着怎么样？", allowed, CATALOGUE) == []


def test_a_catalogue_product_that_was_not_offered_is_caught():
    assert unnamed_products("店里的螺蛳粉卖得很好，纯棉圆领T恤也到了", [], CATALOGUE) == ["纯棉圆领T恤", "螺蛳粉"]
    assert unnamed_products("眼霜记得早晚用", [], CATALOGUE) == []  # two characters: a kind, not a product
