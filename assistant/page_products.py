"""The order of a personal page's products for its customer (专属商品页的排序).

The page shows the products the clerk, task or campaign picked — never others — ranked for this
customer: first those the recommender would suggest to them anyway (running out, then bought
together, their favourite category, new in what they buy), in its order; then those in the customer's price
band (the same bands as the ``price:`` tags); then the rest, nearest their usual price first.
Out-of-stock products are left out; a customer with no purchases keeps the picked order.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.recommend import CatalogueItem, CustomerHistory, Recommender


@dataclass(frozen=True)
class PageProduct:
    item: CatalogueItem
    reason: str | None  # one line for the customer, or None


def price_band(price_fen: float, low_fen: int, high_fen: int) -> str:
    """``low``, ``mid`` or ``high``, the way the ``price:`` tags cut (low ≤ x < high is mid)."""
    return "low" if price_fen < low_fen else "high" if price_fen >= high_fen else "mid"


def usual_price(history: CustomerHistory, catalogue: dict[int, CatalogueItem]) -> float | None:
    """The customer's average price of one item bought, or None before their first purchase."""
    spent = quantity = 0
    for p in history.purchases:
        item = catalogue.get(p.product_id)
        if item is not None:
            spent += item.price_fen * p.quantity
            quantity += p.quantity
    return spent / quantity if quantity else None


def rank_page_products(recommender: Recommender, history: CustomerHistory, skus: Sequence[str],
                       band_limits: tuple[int, int], in_band_reason: str | None = None,
                       scenario: str = "replenish") -> list[PageProduct]:
    """The picked ``skus`` in stock, best for this customer first (see the module docstring).

    ``scenario`` orders the recommender's sources; by default what they use up comes first (seed
    004: the page shows "what this customer used and may need next")."""
    by_sku = {item.sku: item for item in recommender.catalogue.values()}
    picked = [by_sku[s] for s in dict.fromkeys(skus) if s in by_sku and by_sku[s].in_stock]
    if not picked:
        return []
    suggested = {rec.product.id: (rank, rec.reason) for rank, rec in enumerate(
        recommender.for_customer(history, scenario, limit=len(recommender.catalogue)))}
    usual = usual_price(history, recommender.catalogue)
    band = price_band(usual, *band_limits) if usual is not None else None

    def key(pair: tuple[int, CatalogueItem]) -> tuple:
        position, item = pair
        rank = suggested.get(item.id, (len(suggested), None))[0]
        in_band = band is not None and price_band(item.price_fen, *band_limits) == band
        distance = abs(item.price_fen - usual) if usual is not None else 0
        return (item.id not in suggested, rank, not in_band, distance, position)

    ranked = sorted(enumerate(picked), key=key)
    out = []
    for _, item in ranked:
        reason = suggested[item.id][1] if item.id in suggested else None
        if reason is None and band is not None and price_band(item.price_fen, *band_limits) == band:
            reason = in_band_reason
        out.append(PageProduct(item, reason))
    return out
