"""Tags follow events inside the event's own transaction; ``flask retag`` recomputes everyone."""
from __future__ import annotations

import datetime as dt

import pytest

from models.base import utcnow
from sqlalchemy import select

from app import hooks
from app.messaging.actions import receive_message
from models import Customer, CustomerTag, Product, Tag
from tests import factories as f

UTC = dt.timezone.utc


def tag_names(db, customer_id):
    with db.transaction() as s:
        return set(s.scalars(select(Tag.name).join(CustomerTag).where(CustomerTag.customer_id == customer_id)))


@pytest.fixture
def follower(db):
    with db.transaction() as s:
        clerk = f.staff(s, username="c1")
        c = f.customer(s)
        f.follow(s, c, clerk, since=utcnow() - dt.timedelta(days=30))
        p = f.product(s, usage_days=30, price_fen=9900)
    return {"customer": c.id, "product": p.id}


def test_order_event_retags_in_the_same_transaction(app, db, follower):
    with app.app_context(), db.transaction() as s:
        o = f.order(s, s.get(Customer, follower["customer"]), [(s.get(Product, follower["product"]), 1)],
                    paid_at=utcnow())
        hooks.fire(s, hooks.ORDER_RECORDED, order_ids=[o.id], customer_ids=[follower["customer"]])
        assert s.get(Customer, follower["customer"]).stage.value == "new"
    assert "stage:new" in tag_names(db, follower["customer"])


def test_rolled_back_event_leaves_tags_alone(app, db, follower):
    with pytest.raises(RuntimeError), app.app_context(), db.transaction() as s:
        o = f.order(s, s.get(Customer, follower["customer"]), [(s.get(Product, follower["product"]), 1)])
        hooks.fire(s, hooks.ORDER_RECORDED, order_ids=[o.id], customer_ids=[follower["customer"]])
        raise RuntimeError("the order failed after all")
    assert tag_names(db, follower["customer"]) == set()


def test_ingested_order_retags_the_customer(client, db, bearer, follower):
    with db.transaction() as s:
        ext = s.get(Customer, follower["customer"]).external_id
        sku = s.get(Product, follower["product"]).sku
    resp = client.post("/api/v1/orders", headers=bearer, json=[{
        "external_id": "POS-1", "customer": ext, "status": "created", "created_at": "2026-11-20T10:00:00+08:00",
        "amount": "268.00", "items": [{"sku": sku, "quantity": 2, "price": "134.00"}]}])
    assert resp.status_code == 200 and resp.get_json()["accepted"] == 1, resp.get_json()
    assert {"stage:prospect", "unpaid"} <= tag_names(db, follower["customer"])


def test_inbound_message_makes_the_customer_engaged(app, db, follower):
    with app.app_context(), db.transaction() as s:
        receive_message(s, channel="wecom", external_id="m1", customer_id=follower["customer"], body="在吗")
    assert "engaged" in tag_names(db, follower["customer"])


def test_retag_of_one_customer_costs_a_fixed_number_of_queries(app, db, follower):
    """Speed on an event comes from a constant, small number of statements, whatever the history."""
    from sqlalchemy import event

    from assistant.tags import retag_customers

    def statements(n_orders: int) -> int:
        with db.transaction() as s:
            c, p = s.get(Customer, follower["customer"]), s.get(Product, follower["product"])
            for k in range(n_orders):
                f.order(s, c, [(p, 1 + k % 3)], paid_at=dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(days=k))
        with db.transaction() as s:
            retag_customers(s, [follower["customer"]])  # creates any tag rows it needs
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            with db.transaction() as s:
                retag_customers(s, [follower["customer"]])
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    few, many = statements(1), statements(30)
    assert max(few, many) <= 20, (few, many)  # a query per order would be 30+


def test_flask_retag_command(app, db, follower):
    with db.transaction() as s:
        f.order(s, s.get(Customer, follower["customer"]), [(s.get(Product, follower["product"]), 1)],
                paid_at=utcnow() - dt.timedelta(days=2))
    result = app.test_cli_runner().invoke(args=["retag"])
    assert result.exit_code == 0, result.output
    assert "retagged 1 customers" in result.output
    assert "stage:new" in tag_names(db, follower["customer"])
