"""Recommendations: co-purchase similarity, replenishment by cycle, affinity, new arrivals, exclusions."""
from __future__ import annotations

import datetime as dt

import pytest

from assistant.recommend import (CatalogueItem, CoPurchaseSimilarity, CustomerHistory, Purchase, Recommender,
                                 fit_copurchase, load_catalogue, load_histories)
from tests import factories

NOW = dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)


def item(pid, category="skincare", usage_days=None, in_stock=True, launched_days_ago=None, price=10000):
    launched = NOW - dt.timedelta(days=launched_days_ago) if launched_days_ago is not None else None
    return CatalogueItem(pid, f"SKU{pid}", f"商品{pid}", category, price, usage_days, in_stock, None, None, launched)


def bought(pid, days_ago, qty=1):
    return Purchase(pid, qty, NOW - dt.timedelta(days=days_ago))


def test_similarity_ranks_products_bought_by_the_same_customers():
    # customers 1–3 buy 10 with 20; only customer 4 buys 10 with 30
    model = CoPurchaseSimilarity().fit([1, 1, 2, 2, 3, 3, 4, 4, 5], [10, 20, 10, 20, 10, 20, 10, 30, 40])
    related = model.related([10])
    assert [pid for pid, _, _ in related] == [20, 30]
    assert related[0][1] > related[1][1]
    assert all(anchor == 10 for _, _, anchor in related)
    assert model.related([40]) == []  # bought alone: nothing goes with it
    assert model.related([999]) == []  # unknown product
    assert model.popularity()[10] == 4


def test_repeat_purchases_count_once_per_customer():
    once = CoPurchaseSimilarity().fit([1, 1, 2], [10, 20, 10])
    twice = CoPurchaseSimilarity().fit([1, 1, 1, 1, 2], [10, 20, 10, 20, 10])
    assert once.related([10]) == twice.related([10])


def catalogue(*items):
    return {i.id: i for i in items}


def test_replenishment_is_due_by_usage_days_times_quantity():
    mask = item(1, usage_days=10)
    rec = Recommender(catalogue(mask, item(2)), None, NOW)

    def replenished(*purchases):
        return [r.product.id for r in rec.for_customer(CustomerHistory(1, list(purchases)), "replenish")
                if r.kind == "replenish"]

    assert replenished(bought(1, 15, qty=2)) == [1]  # 2 boxes × 10 days, 15 days ago: due in 5 days
    assert replenished(bought(1, 5, qty=2)) == []    # due in 15 days: too early
    assert replenished(bought(1, 200)) == []         # ran out past three cycles ago: not nagged
    assert replenished(bought(1, 12)) == [1]          # overdue by 2 days


def test_out_of_stock_and_owned_durables_are_never_recommended():
    sofa, lamp, gone, mask = item(1, "home"), item(2, "home"), item(3, "home", in_stock=False), item(4, "home", usage_days=30)
    similarity = CoPurchaseSimilarity().fit([1, 1, 1, 1, 2, 2, 2], [1, 2, 3, 4, 1, 2, 3])
    rec = Recommender(catalogue(sofa, lamp, gone, mask), similarity, NOW)
    history = CustomerHistory(9, [bought(1, 40), bought(4, 31)])
    picked = rec.for_customer(history, None, limit=10)
    ids = [r.product.id for r in picked]
    assert 3 not in ids  # out of stock
    assert 1 not in ids  # a durable the customer owns
    assert 2 in ids
    assert 4 in ids  # a consumable the customer bought can come back (replenishment)


def test_category_affinity_and_new_arrivals_follow_the_customers_categories():
    shoes_old, shoes_new, food_new, shoes_hit = (item(1, "shoes"), item(2, "shoes", launched_days_ago=10),
                                                 item(3, "food", launched_days_ago=5), item(4, "shoes"))
    similarity = CoPurchaseSimilarity().fit([1, 2, 3, 4], [4, 4, 4, 1])
    rec = Recommender(catalogue(shoes_old, shoes_new, food_new, shoes_hit), similarity, NOW)
    history = CustomerHistory(9, [bought(1, 30)])
    new = rec.for_customer(history, "new_arrival", limit=1)
    assert [(r.product.id, r.kind) for r in new] == [(2, "new_arrival")]
    affinity = [r for r in rec.for_customer(history, None, limit=5) if r.kind == "affinity"]
    assert affinity[0].product.id == 4  # the most bought shoes
    assert all(r.product.id != 3 for r in rec.for_customer(history, "new_arrival", limit=5))  # food: not theirs


def test_scenario_decides_the_order_of_sources():
    mask, serum = item(1, usage_days=10), item(2, launched_days_ago=3)
    rec = Recommender(catalogue(mask, serum), None, NOW)
    history = CustomerHistory(1, [bought(1, 9)])
    assert [r.kind for r in rec.for_customer(history, "replenish")] == ["replenish", "affinity"]
    assert [r.kind for r in rec.for_customer(history, "new_arrival")] == ["new_arrival", "replenish"]


def test_loading_from_the_database(db):
    with db.transaction() as s:
        a, b = factories.customer(s), factories.customer(s)
        mask = factories.product(s, usage_days=10)
        serum = factories.product(s)
        factories.order(s, a, [(mask, 2), (serum, 1)], paid_at=NOW - dt.timedelta(days=16))
        factories.order(s, b, [(mask, 1), (serum, 1)], paid_at=NOW - dt.timedelta(days=3))
        factories.order(s, b, [(serum, 5)], status="created")  # unpaid: not a purchase
        ids = (a.id, b.id, mask.id, serum.id)
    with db.Session() as s:
        similarity = fit_copurchase(s)
        histories = load_histories(s, [ids[0], ids[1]])
        rec = Recommender(load_catalogue(s), similarity, NOW)
    assert [p.product_id for p in histories[ids[1]].purchases] == [ids[2], ids[3]]
    assert similarity.related([ids[2]])[0][0] == ids[3]
    picks = rec.for_customer(histories[ids[0]], "replenish")
    assert picks[0].kind == "replenish" and picks[0].product.id == ids[2]


@pytest.mark.parametrize("limit", [1, 2])
def test_limit_is_respected(limit):
    items = [item(i) for i in range(1, 6)]
    similarity = CoPurchaseSimilarity().fit([1] * 5, list(range(1, 6)))
    rec = Recommender(catalogue(*items), similarity, NOW)
    assert len(rec.for_customer(CustomerHistory(1, [bought(1, 3)]), None, limit=limit)) == limit
