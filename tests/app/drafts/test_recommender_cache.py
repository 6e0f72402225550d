"""The process cache of the recommender: stock changes at once, co-purchases refit in the background."""
from __future__ import annotations

import threading

from app.drafts.settings import RECOMMENDER_MAX_AGE, recommender
from models import Customer, Product
from tests import factories


def _refit_threads():
    return [t for t in threading.enumerate() if t.name == "daogou-recommender"]


def test_stock_is_current_and_co_purchases_refit_in_the_background(app, db):
    with db.transaction() as s:
        a, b = factories.customer(s), factories.customer(s)
        mask, serum, cream = factories.product(s), factories.product(s), factories.product(s)
        factories.order(s, a, [(mask, 1), (serum, 1)])
        ids = (a.id, b.id, mask.id, serum.id, cream.id)
    with app.app_context(), db.Session() as s:
        first = recommender(s, app)
        assert [p for p, _, _ in first.similarity.related([ids[2]])] == [ids[3]]
    with db.transaction() as s:
        s.get(Product, ids[3]).in_stock = False
        factories.order(s, s.get(Customer, ids[1]), [(s.get(Product, ids[2]), 1), (s.get(Product, ids[4]), 1)])
    with app.app_context(), db.Session() as s:
        second = recommender(s, app)
        assert not second.catalogue[ids[3]].in_stock  # the product change is seen at once
        assert second.similarity is first.similarity   # the fit is not redone per order
        cache = app.extensions["daogou.drafts.recommender"]
        cache.fitted_at -= RECOMMENDER_MAX_AGE + 1
        stale = recommender(s, app)
        assert stale.similarity is first.similarity    # served while the refit runs
    for thread in _refit_threads():
        thread.join(timeout=30)
    with app.app_context(), db.Session() as s:
        fresh = recommender(s, app)
    assert ids[4] in [p for p, _, _ in fresh.similarity.related([ids[2]])]
