"""The batch writer (columns straight to the driver) books exactly what the event path books."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select

from app.commission import attribution, rules
from models import Attribution, CommissionEntry, Order, Setting
from tests.app.commission.test_reconciliation import _rules, _seed_brand

ATTRIBUTION = (Attribution.order_id, Attribution.clerk_id, Attribution.rule, Attribution.share_bp,
               Attribution.store_id, Attribution.period, Attribution.sales_fen, Attribution.commissionable_fen,
               Attribution.detail)
ENTRY = (CommissionEntry.idempotency_key, CommissionEntry.clerk_id, CommissionEntry.order_id, CommissionEntry.kind,
         CommissionEntry.amount_fen, CommissionEntry.base_fen, CommissionEntry.rule_id, CommissionEntry.explanation,
         CommissionEntry.period)


def _booked(db) -> tuple[list, list]:
    with db.Session() as s:
        return ([tuple(r) for r in s.execute(select(*ATTRIBUTION).order_by(Attribution.order_id, Attribution.clerk_id))],
                [tuple(r) for r in s.execute(select(*ENTRY).order_by(CommissionEntry.idempotency_key))])


@pytest.mark.parametrize("order", [["in_store", "owner", "last_touch"], ["split", "in_store", "last_touch", "owner"]])
def test_batch_books_the_same_rows_as_the_event_path(app, db, order):
    _seed_brand(db, "generated")
    with db.transaction() as s:
        _rules(s, min(s.scalars(select(Order.created_at))) - dt.timedelta(days=1))
    with db.transaction() as s:  # _rules saved a split config; vary which rule comes first
        setting = s.get(Setting, rules.SETTING_KEY)
        setting.value = {**setting.value, "order": order, "last_touch_days": 30}
    with app.app_context():
        attribution.attribute_history(db, chunk_size=300)
    batch = _booked(db)
    assert batch[0] and batch[1]
    assert any(detail for *_, detail in batch[0]), "no attribution carries its reason"
    assert order[0] in {rule for _, _, rule, *_ in batch[0]}, "the first rule never decided an order"

    with db.transaction() as s:
        s.execute(delete(CommissionEntry))
        s.execute(delete(Attribution))
        ids = list(s.scalars(select(Order.id)))
    with app.app_context(), db.transaction() as s:
        attribution.process_orders(s, ids, publish=False)
    assert _booked(db) == batch
