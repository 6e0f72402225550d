import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError

from models import Customer, Message, Order, OrderStatus, Stage, can_transition
from tests import factories as f


def test_one_owner_per_customer(db):
    with db.transaction() as s:
        store = f.store(s)
        a, b = f.staff(s, store=store), f.staff(s, store=store)
        c = f.customer(s)
        f.follow(s, c, a, owner=True)
        f.follow(s, c, b, owner=False)  # a second, non-owning binding is fine
    with pytest.raises(IntegrityError):
        with db.transaction() as s:
            f.follow(s, s.get(Customer, c.id), s.get(type(b), b.id), channel="wechat-oa", owner=True)


def test_an_ended_owner_binding_frees_the_owner_slot(db):
    with db.transaction() as s:
        store = f.store(s)
        a, b = f.staff(s, store=store), f.staff(s, store=store)
        c = f.customer(s)
        f.follow(s, c, a, owner=True, ended_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
        f.follow(s, c, b, owner=True)  # the handover: no IntegrityError


def test_duplicate_external_message_id_on_one_channel_is_refused(db):
    with db.transaction() as s:
        clerk = f.staff(s, store=f.store(s))
        c = f.customer(s)
        from models import Conversation
        conv = Conversation(customer_id=c.id, clerk_id=clerk.id)
        s.add(conv)
        s.flush()
        s.add(Message(conversation_id=conv.id, direction="in", channel="wechat-oa", body="hi",
                      external_id="m1", status="received"))
        conv_id = conv.id
    with pytest.raises(IntegrityError):
        with db.transaction() as s:
            s.add(Message(conversation_id=conv_id, direction="in", channel="wechat-oa", body="hi",
                          external_id="m1", status="received"))
    with db.transaction() as s:  # the same id on another channel is another message
        s.add(Message(conversation_id=conv_id, direction="in", channel="sms", body="hi",
                      external_id="m1", status="received"))


def test_times_come_back_timezone_aware_utc(db):
    shanghai = dt.timezone(dt.timedelta(hours=8))
    with db.transaction() as s:
        c = f.customer(s)
        o = f.order(s, c, amount_fen=26800, paid_at=dt.datetime(2026, 11, 11, 8, 0, tzinfo=shanghai))
    with db.Session() as s:
        paid = s.get(Order, o.id).paid_at
    assert paid.tzinfo is not None
    assert paid == dt.datetime(2026, 11, 11, 0, 0, tzinfo=dt.timezone.utc)


def test_naive_datetimes_are_refused(db):
    with pytest.raises(StatementError, match="naive datetime"):
        with db.transaction() as s:
            f.order(s, f.customer(s), amount_fen=1, paid_at=dt.datetime(2026, 1, 1))


def test_enums_store_their_values(db):
    with db.transaction() as s:
        c = f.customer(s, stage=Stage.dormant)
        f.order(s, c, amount_fen=100, status="refunded")
    with db.Session() as s:
        assert s.scalar(select(Customer.stage).where(Customer.id == c.id)) == Stage.dormant
        assert s.scalar(select(Order.status)) == OrderStatus.refunded


@pytest.mark.parametrize("current,new,ok", [
    ("created", "paid", True), ("paid", "shipped", True), ("shipped", "delivered", True),
    ("delivered", "completed", True), ("completed", "refunded", True), ("created", "cancelled", True),
    ("paid", "paid", True), ("paid", "created", False), ("shipped", "paid", False),
    ("completed", "shipped", False), ("cancelled", "paid", False), ("refunded", "completed", False),
    ("shipped", "cancelled", False),
])
def test_order_status_moves_only_forward(current, new, ok):
    assert can_transition(current, new) is ok


def test_post_commit_callbacks_wait_for_the_outer_commit_and_skip_rolled_back_savepoints(db):
    from app.db import after_commit

    ran = []
    with db.transaction() as s:
        with s.begin_nested():
            after_commit(s, lambda: ran.append("kept"))
        assert ran == []  # the SAVEPOINT was released, the transaction is still open
        try:
            with s.begin_nested():
                after_commit(s, lambda: ran.append("dropped"))
                raise RuntimeError("undo this savepoint")
        except RuntimeError:
            pass
        after_commit(s, lambda: ran.append("outer"))
    assert ran == ["kept", "outer"]
    try:
        with db.transaction() as s:
            after_commit(s, lambda: ran.append("never"))
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert ran == ["kept", "outer"]
