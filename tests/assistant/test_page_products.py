"""The order of a personal page's products for its customer (assistant.page_products)."""
from __future__ import annotations

import datetime as dt

from assistant.page_products import price_band, rank_page_products, usual_price
from assistant.recommend import CatalogueItem, CoPurchaseSimilarity, CustomerHistory, Purchase, Recommender

NOW = dt.datetime(2026, 11, 18, 2, 30, tzinfo=dt.timezone.utc)
BANDS = (10_000, 50_000)  # ¥100 and ¥500, as the price: tags cut


def item(id_, sku, price, category="skincare", usage_days=None, in_stock=True):
    return CatalogueItem(id_, sku, sku, category, price, usage_days, in_stock, None, None, None)


CATALOGUE = {i.id: i for i in (
    item(1, "CREAM", 26800, usage_days=30), item(2, "SERUM", 36800), item(3, "TONER", 12800, in_stock=False),
    item(4, "DEVICE", 299900, category="device"), item(5, "MASK", 9900, category="device"))}


def recommender(pairs=((1, 1),)) -> Recommender:
    sim = CoPurchaseSimilarity().fit([c for c, _ in pairs], [p for _, p in pairs])
    return Recommender(CATALOGUE, sim, NOW)


def history(*purchases) -> CustomerHistory:
    return CustomerHistory(7, [Purchase(pid, qty, NOW - dt.timedelta(days=days)) for pid, qty, days in purchases])


def test_what_runs_out_comes_first_then_the_price_band_then_nearest_the_usual_price():
    ranked = rank_page_products(recommender(), history((1, 1, 40)), ["DEVICE", "MASK", "SERUM", "TONER", "CREAM"],
                                BANDS, in_band_reason="在您常买的价位")
    assert [p.item.sku for p in ranked] == ["CREAM", "SERUM", "MASK", "DEVICE"]  # no out-of-stock toner
    assert ranked[0].reason == "CREAM按周期该补货了"
    assert ranked[-1].reason is None


def test_only_the_picked_products_are_shown_never_others():
    ranked = rank_page_products(recommender(), history((1, 1, 40)), ["DEVICE", "NOPE"], BANDS)
    assert [p.item.sku for p in ranked] == ["DEVICE"]


def test_a_customer_without_purchases_keeps_the_picked_order():
    ranked = rank_page_products(recommender(), history(), ["DEVICE", "SERUM", "MASK"], BANDS)
    assert [p.item.sku for p in ranked] == ["DEVICE", "SERUM", "MASK"]


def test_price_bands_cut_like_the_tags():
    assert [price_band(x, *BANDS) for x in (9_999, 10_000, 49_999, 50_000)] == ["low", "mid", "mid", "high"]
    assert usual_price(history((1, 2, 40), (4, 1, 10)), CATALOGUE) == (26800 * 2 + 299900) / 3
    assert usual_price(history(), CATALOGUE) is None
