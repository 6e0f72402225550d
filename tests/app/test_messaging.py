from sqlalchemy import func, select

from app.messaging.actions import receive_message, send_message
from models import ConsoleEvent, Conversation, Message, MessageStatus, OutboxEntry
from tests import factories as f


def _setup(db):
    with db.transaction() as s:
        clerk = f.staff(s, store=f.store(s))
        c = f.customer(s)
        f.follow(s, c, clerk, channel="loopback")
        f.identity(s, c, "loopback", "lb-user-1")
    return clerk.id, c.id


def test_inbound_retry_is_stored_once(app, db):
    clerk_id, cid = _setup(db)
    with app.app_context():
        for _ in range(3):
            with db.transaction() as s:
                receive_message(s, channel="loopback", external_id="m-1", customer_id=cid, body="在吗")
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 1
        conv = s.scalars(select(Conversation)).one()
        assert conv.unread_count == 1 and conv.clerk_id == clerk_id
        events = s.scalars(select(ConsoleEvent)).all()
        assert [e.name for e in events] == ["message.created"]
        assert events[0].room == f"clerk:{clerk_id}"
        assert events[0].payload["message"]["body"] == "在吗"


def test_send_is_idempotent_by_client_id_and_goes_through_the_outbox(app, db):
    clerk_id, cid = _setup(db)
    with app.app_context():
        for _ in range(2):
            with db.transaction() as s:
                send_message(s, clerk_id=clerk_id, customer_id=cid, body="您好", client_id="c-1")
    with db.Session() as s:
        msg = s.scalars(select(Message)).one()
        assert msg.status == MessageStatus.delivered  # loopback delivers at once (jobs run inline)
        assert s.scalar(select(func.count()).select_from(OutboxEntry)) == 1
        names = s.scalars(select(ConsoleEvent.name).order_by(ConsoleEvent.id)).all()
        assert names == ["message.created", "message.status"]


def test_rolled_back_send_leaves_nothing(app, db):
    clerk_id, cid = _setup(db)
    with app.app_context():
        try:
            with db.transaction() as s:
                send_message(s, clerk_id=clerk_id, customer_id=cid, body="x", client_id="c-2")
                raise RuntimeError("boom")
        except RuntimeError:
            pass
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 0
        assert s.scalar(select(func.count()).select_from(OutboxEntry)) == 0


def test_outbox_rows_carry_the_account_and_the_clerks_channel_id(app, db):
    with db.transaction() as s:
        clerk = f.staff(s, store=f.store(s), external_id="zhangsan")
        c = f.customer(s)
        f.follow(s, c, clerk, channel="loopback")
        f.identity(s, c, "loopback", "lb-user-9", account="demo")
    with app.app_context():
        with db.transaction() as s:
            send_message(s, clerk_id=clerk.id, customer_id=c.id, body="您好", client_id="c-9")
    with db.Session() as s:
        entry = s.scalars(select(OutboxEntry)).one()
        assert (entry.account, entry.recipient) == ("demo", "lb-user-9")
        assert entry.payload["clerk_ref"] == "zhangsan" and entry.idempotency_key == f"msg:{entry.message_id}"


def test_opted_out_customers_are_refused_before_anything_is_queued(app, db):
    import pytest

    from app.errors import Invalid
    from models import CustomerOptOut

    clerk_id, cid = _setup(db)
    with db.transaction() as s:
        s.add(CustomerOptOut(customer_id=cid, channel="loopback", reason="TD"))
    with app.app_context():
        with pytest.raises(Invalid) as err:
            with db.transaction() as s:
                send_message(s, clerk_id=clerk_id, customer_id=cid, body="hi")
    assert "channel" in err.value.fields
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxEntry)) == 0
