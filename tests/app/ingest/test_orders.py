"""record_orders: forward-only status, per-status timestamps, refunds, unpaid price changes."""
from __future__ import annotations

import datetime as dt

import pytest

from models.base import utcnow
from sqlalchemy import select

from app.ingest.actions import record_orders
from models import Order, OrderItem
from tests.app.ingest.conftest import order

UTC = dt.timezone.utc


@pytest.fixture
def record(app, db, brand):
    def run(*payloads):
        with app.app_context(), db.transaction() as s:
            return record_orders(s, list(payloads))
    return run


def _order(db, external_id="O1") -> Order:
    with db.Session() as s:
        return s.scalar(select(Order).where(Order.external_id == external_id))


def test_status_moves_forward_and_each_time_is_set_when_first_reached(record, db):
    record(order(status="created", paid_at=None))
    o = _order(db)
    assert (o.status, o.paid_at, o.shipped_at) == ("created", None, None)
    record(order(status="paid"))
    record(order(status="shipped", shipped_at="2026-11-12T08:00:00+08:00"))
    o = _order(db)
    assert o.status == "shipped"
    assert o.paid_at == dt.datetime(2026, 11, 11, 2, tzinfo=UTC)
    assert o.shipped_at == dt.datetime(2026, 11, 12, 0, tzinfo=UTC)
    before = utcnow()
    record(order(status="completed"))
    o = _order(db)
    assert o.status == "completed" and o.completed_at >= before - dt.timedelta(seconds=1)
    # A later event carrying another shipped_at does not move the first one.
    record(order(status="completed", shipped_at="2026-11-13T08:00:00+08:00"))
    assert _order(db).shipped_at == dt.datetime(2026, 11, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("current, backward", [("paid", "created"), ("completed", "shipped"),
                                               ("cancelled", "paid"), ("refunded", "completed")])
def test_backward_status_changes_are_refused(record, db, current, backward):
    extra = {"paid_at": None} if current == "cancelled" else {}
    assert record(order(status=current, **extra)).accepted == 1
    result = record(order(status=backward))
    assert result.accepted == 0 and set(result.rejected[0].fields) == {"status"}
    assert _order(db).status == current


def test_unpaid_order_can_be_cancelled_and_stays_unpaid(record, db):
    record(order(status="created", paid_at=None))
    record(order(status="cancelled", paid_at=None, cancelled_at="2026-11-11 12:00"))
    o = _order(db)
    assert (o.status, o.paid_at, o.cancelled_at) == ("cancelled", None, dt.datetime(2026, 11, 11, 4, tzinfo=UTC))


def test_paid_order_without_paid_at_is_refused(record):
    result = record(order(status="paid", paid_at=None))
    assert set(result.rejected[0].fields) == {"paid_at"}


def test_partial_refund_keeps_status_full_refund_makes_it_refunded(record, db):
    record(order(status="completed"))
    record(order(status="completed", refund_amount="29.90"))
    o = _order(db)
    assert (o.status, o.refund_amount_fen, o.refunded_at) == ("completed", 2990, None)
    record(order(status="completed", refund_amount="565.90"))
    o = _order(db)
    assert (o.status, o.refund_amount_fen) == ("refunded", 56590) and o.refunded_at is not None


def test_status_refunded_without_amount_refunds_everything(record, db):
    record(order(status="paid"))
    record(order(status="refunded", refunded_at="2026-11-15T10:00:00Z"))
    o = _order(db)
    assert (o.status, o.refund_amount_fen, o.refunded_at) == ("refunded", 56590, dt.datetime(2026, 11, 15, 10, tzinfo=UTC))


@pytest.mark.parametrize("refund, status, field_reason", [
    ("600.00", "completed", "refund_amount"),   # above the amount
    ("-1.00", "completed", "refund_amount"),    # negative
    ("10.00", "created", "refund_amount"),      # not paid
])
def test_impossible_refunds_are_refused(record, db, refund, status, field_reason):
    extra = {"paid_at": None} if status == "created" else {}
    result = record(order(status=status, refund_amount=refund, **extra))
    assert result.accepted == 0 and field_reason in result.rejected[0].fields
    assert _order(db) is None


def test_a_refund_cannot_shrink(record, db):
    record(order(status="completed", refund_amount="100.00"))
    result = record(order(status="completed", refund_amount="50.00"))
    assert "100.00" in result.rejected[0].fields["refund_amount"]
    assert _order(db).refund_amount_fen == 10000


def test_amount_and_items_change_while_unpaid_but_not_after(record, db):
    record(order(status="created", paid_at=None))
    result = record(order(status="created", paid_at=None, amount="268.00",
                          items=[{"sku": "SK-001", "quantity": 1, "price": "268.00"}]))
    assert result.updated == 1
    with db.Session() as s:
        o = s.scalar(select(Order))
        assert o.amount_fen == 26800
        assert s.execute(select(OrderItem.quantity, OrderItem.price_fen)).all() == [(1, 26800)]
    record(order(status="paid", amount="268.00", items=[{"sku": "SK-001", "quantity": 1, "price": "268.00"}]))
    result = record(order(status="paid", amount="300.00", items=[{"sku": "SK-001", "quantity": 1, "price": "268.00"}]))
    assert set(result.rejected[0].fields) == {"amount"}


def test_an_order_cannot_move_to_another_customer(record):
    record(order())
    result = record(order(customer="C2"))
    assert set(result.rejected[0].fields) == {"customer"}


def test_times_without_offset_are_brand_time_and_offsets_are_respected(app, record, db):
    record(order("O1", created_at="2026-11-11T00:30:00", paid_at="2026-11-11T00:31:00+00:00"))
    o = _order(db)
    assert o.created_at == dt.datetime(2026, 11, 10, 16, 30, tzinfo=UTC)
    assert o.paid_at == dt.datetime(2026, 11, 11, 0, 31, tzinfo=UTC)
