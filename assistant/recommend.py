"""Products to feature for one customer: what runs out, what goes with it, what they like, what is new.

Four sources, ordered per scenario:

- replenishment: a consumable bought before whose cycle (usage_days × quantity) ends within a
  week or has ended (seed 000: 2 boxes × 10 days → due on day 20);
- related: item–item cosine similarity over the customer × product matrix of paid purchases
  (co-purchase, "bought together by the same people");
- category affinity: the most bought products of the categories the customer buys;
- new arrivals: products launched recently in the categories the customer buys.

"The categories the customer buys" (``buying_categories``) are those they came back to (bought on
two occasions or more) and their main one: a snacks regular who once bought a T-shirt is not
offered apparel as "new in what you buy". The 新品 scenario draws only on those categories.

Out-of-stock products are never suggested, nor durable products (no usage_days) the customer
already owns. ``CoPurchaseSimilarity`` is a small scikit-learn-style estimator; ``Catalogue`` and
``CustomerHistory`` are plain data loaded in bulk, so one fitted model serves a thousand customers.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.metrics.pairwise import cosine_similarity
from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.categories import category_label
from models import Order, OrderItem, Product
from models.commerce import PAID_STATUSES

REPLENISH_AHEAD = dt.timedelta(days=7)
# Past three cycles a consumable is probably bought elsewhere; suggesting it again reads as noise.
REPLENISH_STALE_CYCLES = 3
NEW_ARRIVAL_DAYS = 60
DENSE_MAX_PRODUCTS = 3000  # 3,000² float32 ≈ 36 MB

SOURCE_ORDER: dict[str, tuple[str, ...]] = {
    "replenish": ("replenish", "related", "affinity", "new_arrival"),
    "new_arrival": ("new_arrival", "affinity", "replenish"),  # never outside the categories they buy
    "winback": ("replenish", "affinity", "new_arrival", "related"),
    "aftercare": ("related", "replenish", "affinity", "new_arrival"),
}
DEFAULT_ORDER = ("related", "affinity", "new_arrival", "replenish")

REASONS = {
    "replenish": "{name}按周期该补货了",
    "related": "买过{anchor}的顾客常一起买",
    "affinity": "{category}里最受欢迎的",
    "new_arrival": "{category}新品",
}


@dataclass(frozen=True)
class CatalogueItem:
    id: int
    sku: str
    name: str
    category: str
    price_fen: int
    usage_days: int | None
    in_stock: bool
    image_url: str | None
    url: str | None
    launched_at: dt.datetime | None

    @property
    def consumable(self) -> bool:
        return bool(self.usage_days)


@dataclass(frozen=True)
class Purchase:
    product_id: int
    quantity: int
    paid_at: dt.datetime


@dataclass
class CustomerHistory:
    customer_id: int
    purchases: list[Purchase] = field(default_factory=list)  # paid, newest first


@dataclass(frozen=True)
class Recommendation:
    product: CatalogueItem
    kind: str    # replenish, related, affinity, new_arrival
    score: float
    reason: str  # zh-CN, one line for the clerk
    purchase: Purchase | None = None    # replenish: the purchase that runs out
    due_at: dt.datetime | None = None   # replenish: when it runs out


class CoPurchaseSimilarity:
    """Item–item cosine similarity of products bought by the same customers.

    ``fit(customer_ids, product_ids)`` takes parallel arrays of paid purchases (one row per
    customer–product pair; repeats count once). Learned: ``product_ids_`` (column order),
    ``similarity_`` (sparse product × product, zero diagonal) and ``buyers_`` (customers per product).
    """

    def __init__(self, min_buyers: int = 1) -> None:
        self.min_buyers = min_buyers

    def fit(self, customer_ids: Sequence[int], product_ids: Sequence[int]) -> CoPurchaseSimilarity:
        customers = np.asarray(customer_ids, dtype=np.int64)
        products = np.asarray(product_ids, dtype=np.int64)
        self.product_ids_, cols = np.unique(products, return_inverse=True)
        _, rows = np.unique(customers, return_inverse=True)
        matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                                   shape=(int(rows.max(initial=-1)) + 1, len(self.product_ids_)))
        matrix.data[:] = 1.0  # duplicates were summed; a customer counts once per product
        self.buyers_ = np.asarray(matrix.getnnz(axis=0)).ravel()
        if self.min_buyers > 1:
            matrix = matrix[:, self.buyers_ >= self.min_buyers]
            self.product_ids_ = self.product_ids_[self.buyers_ >= self.min_buyers]
            self.buyers_ = self.buyers_[self.buyers_ >= self.min_buyers]
        similarity = cosine_similarity(matrix.T.tocsr(), dense_output=False) if matrix.shape[1] else sparse.csr_matrix((0, 0))
        similarity = sparse.csr_matrix(similarity)
        similarity = sparse.csr_matrix(similarity - sparse.diags(similarity.diagonal()))
        similarity.eliminate_zeros()
        self.similarity_ = similarity
        self._index = {int(pid): i for i, pid in enumerate(self.product_ids_)}
        # A brand's catalogue is small (hundreds to a few thousand products): a dense copy makes
        # each customer's lookup a row sum instead of sparse fancy indexing.
        n = len(self.product_ids_)
        self._dense = similarity.toarray() if n <= DENSE_MAX_PRODUCTS else None
        return self

    def related(self, anchors: Iterable[int], k: int = 10) -> list[tuple[int, float, int]]:
        """Products most similar to ``anchors``: (product_id, score, strongest anchor), best first."""
        idx = [self._index[a] for a in anchors if a in self._index]
        if not idx:
            return []
        block = self._dense[idx] if self._dense is not None else self.similarity_[idx].toarray()
        scores = block.sum(axis=0)
        best_anchor = block.argmax(axis=0)
        order = np.argsort(-scores)[:k]
        return [(int(self.product_ids_[j]), float(scores[j]), int(self.product_ids_[idx[best_anchor[j]]]))
                for j in order if scores[j] > 0]

    def popularity(self) -> dict[int, int]:
        return {int(p): int(n) for p, n in zip(self.product_ids_, self.buyers_)}


def load_catalogue(session: Session) -> dict[int, CatalogueItem]:
    rows = session.execute(select(Product.id, Product.sku, Product.name, Product.category, Product.price_fen,
                                  Product.usage_days, Product.in_stock, Product.image_url, Product.url,
                                  Product.launched_at))
    return {r.id: CatalogueItem(*r) for r in rows}


def fit_copurchase(session: Session) -> CoPurchaseSimilarity:
    """Fit the similarity on every paid purchase (one aggregate query)."""
    pairs = session.execute(
        select(Order.customer_id, OrderItem.product_id).join(OrderItem, OrderItem.order_id == Order.id)
        .where(Order.status.in_(PAID_STATUSES)).distinct()).all()
    return CoPurchaseSimilarity().fit([p[0] for p in pairs], [p[1] for p in pairs])


def load_histories(session: Session, customer_ids: Sequence[int]) -> dict[int, CustomerHistory]:
    """Paid purchases of many customers in one query, newest first."""
    histories = {cid: CustomerHistory(cid) for cid in customer_ids}
    if not customer_ids:
        return histories
    rows = session.execute(
        select(Order.customer_id, OrderItem.product_id, OrderItem.quantity, Order.paid_at)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(Order.customer_id.in_(list(customer_ids)), Order.status.in_(PAID_STATUSES),
               Order.paid_at.is_not(None))
        .order_by(Order.paid_at.desc()))
    for r in rows:
        histories[r.customer_id].purchases.append(Purchase(r.product_id, r.quantity, r.paid_at))
    return histories


def replenishment_due(purchase: Purchase, item: CatalogueItem) -> dt.datetime | None:
    """When a consumable purchase runs out: paid_at + usage_days × quantity."""
    if not item.usage_days:
        return None
    return purchase.paid_at + dt.timedelta(days=item.usage_days * max(purchase.quantity, 1))


class Recommender:
    """Ranks products for customers from a catalogue and a fitted co-purchase similarity."""

    def __init__(self, catalogue: dict[int, CatalogueItem], similarity: CoPurchaseSimilarity | None,
                 now: dt.datetime) -> None:
        self.catalogue = catalogue
        self.similarity = similarity
        self.now = now
        popularity = similarity.popularity() if similarity is not None else {}
        by_category: dict[str, list[CatalogueItem]] = defaultdict(list)
        for item in catalogue.values():
            if item.in_stock:
                by_category[item.category].append(item)
        for items in by_category.values():
            items.sort(key=lambda i: (-popularity.get(i.id, 0), i.id))
        self._by_category = by_category
        self._popularity = popularity
        recent = now - dt.timedelta(days=NEW_ARRIVAL_DAYS)
        self._new = sorted((i for i in catalogue.values() if i.in_stock and i.launched_at and recent <= i.launched_at <= now),
                           key=lambda i: i.launched_at, reverse=True)

    def for_customer(self, history: CustomerHistory, scenario: str | None = None, limit: int = 3) -> list[Recommendation]:
        """Up to ``limit`` products for this customer, in the scenario's order of sources."""
        owned_durables = {p.product_id for p in history.purchases
                          if p.product_id in self.catalogue and not self.catalogue[p.product_id].consumable}
        bought = {p.product_id for p in history.purchases}
        categories = self._categories(history)
        sources = {
            "replenish": lambda: self._replenish(history),
            "related": lambda: self._related(bought),
            "affinity": lambda: self._affinity(categories, bought),
            "new_arrival": lambda: self._new_arrivals(categories, bought),
        }
        chosen: list[Recommendation] = []
        seen: set[int] = set()
        for kind in SOURCE_ORDER.get(scenario or "", DEFAULT_ORDER):
            for rec in sources[kind]():
                item = rec.product
                if item.id in seen or not item.in_stock or item.id in owned_durables:
                    continue
                seen.add(item.id)
                chosen.append(rec)
                if len(chosen) >= limit:
                    return chosen
        return chosen

    def _categories(self, history: CustomerHistory) -> list[str]:
        return buying_categories(history, self.catalogue)

    def due(self, history: CustomerHistory) -> list[Recommendation]:
        """Consumables whose cycle ends within ``REPLENISH_AHEAD`` or has ended, nearest first."""
        return self._replenish(history)

    def _replenish(self, history: CustomerHistory) -> list[Recommendation]:
        latest: dict[int, Purchase] = {}
        for p in history.purchases:  # newest first: keep the latest purchase of each product
            latest.setdefault(p.product_id, p)
        found = []
        for pid, purchase in latest.items():
            item = self.catalogue.get(pid)
            due = replenishment_due(purchase, item) if item is not None else None
            if due is None or due > self.now + REPLENISH_AHEAD:
                continue
            if self.now - due > dt.timedelta(days=item.usage_days * max(purchase.quantity, 1) * REPLENISH_STALE_CYCLES):
                continue
            overdue_days = (self.now - due).days
            found.append(Recommendation(item, "replenish", 1.0 / (1 + abs(overdue_days)),
                                        REASONS["replenish"].format(name=item.name), purchase, due))
        return sorted(found, key=lambda r: -r.score)

    def _related(self, bought: set[int]) -> list[Recommendation]:
        if self.similarity is None or not bought:
            return []
        found = []
        for pid, score, anchor in self.similarity.related(bought, k=20):
            item = self.catalogue.get(pid)
            if item is None or pid in bought and not item.consumable:
                continue
            anchor_name = self.catalogue[anchor].name if anchor in self.catalogue else ""
            found.append(Recommendation(item, "related", score, REASONS["related"].format(anchor=anchor_name)))
        return found

    def _affinity(self, categories: list[str], bought: set[int]) -> list[Recommendation]:
        found = []
        for rank, category in enumerate(categories[:3]):
            # Skip what they own before taking the top ten: a regular owns the best sellers, and
            # an empty list here would let another category's products fill the slots.
            unowned = [item for item in self._by_category.get(category, []) if item.id not in bought][:10]
            found += [Recommendation(item, "affinity", 1.0 / (rank + 1),
                                     REASONS["affinity"].format(category=category_label(category)))
                      for item in unowned]
        return found

    def _new_arrivals(self, categories: list[str], bought: set[int]) -> list[Recommendation]:
        wanted = set(categories)
        return [Recommendation(i, "new_arrival", 1.0, REASONS["new_arrival"].format(category=category_label(i.category)))
                for i in self._new if i.id not in bought and (not wanted or i.category in wanted)][:10]


def buying_categories(history: CustomerHistory, catalogue: dict[int, CatalogueItem]) -> list[str]:
    """The categories a customer buys, most spent first: those bought on two occasions or more,
    and always the main one (most occasions, then most spent)."""
    spend: dict[str, int] = defaultdict(int)
    occasions: dict[str, set[dt.datetime]] = defaultdict(set)
    for p in history.purchases:
        item = catalogue.get(p.product_id)
        if item is not None:
            spend[item.category] += item.price_fen * p.quantity
            occasions[item.category].add(p.paid_at)
    if not spend:
        return []
    main = max(spend, key=lambda c: (len(occasions[c]), spend[c]))
    return sorted((c for c in spend if c == main or len(occasions[c]) >= 2), key=lambda c: -spend[c])
