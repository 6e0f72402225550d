"""The done-when proofs every channel runs: retries stored once, an outage then recovery delivers
every queued message once, a dispatcher killed mid-batch loses and duplicates nothing."""
from __future__ import annotations

import requests
from sqlalchemy import func, select

from app.channels import dispatch
from app.messaging.actions import send_message
from models import Message, OutboxEntry, OutboxState
from tests import factories as f


class DispatcherKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, no except clause of ours catches it."""


class KillingTransport(requests.Session):
    """Lets ``survive`` requests through, then dies right after the next one reached the vendor."""

    def __init__(self, survive: int) -> None:
        super().__init__()
        self.left = survive

    def request(self, method, url, *args, **kwargs):
        response = super().request(method, url, *args, **kwargs)
        if "token" not in url:  # token fetches are not sends
            if self.left == 0:
                raise DispatcherKilled()
            self.left -= 1
        return response


def queue_messages(app, db, channel: str, n: int, *, recipient=lambda i: f"user-{i}", account: str = "",
                   inbound_first: bool = False, clerk_external_id: str | None = None,
                   customer_kw: dict | None = None) -> list[int]:
    """``n`` customers of one clerk, each sent one message on ``channel``; return message ids."""
    with app.app_context():
        with db.transaction() as s:
            clerk = f.staff(s, store=f.store(s), external_id=clerk_external_id)
            customers = []
            for i in range(n):
                extra = {"phone": recipient(i)} if channel == "sms" else \
                    {"email": recipient(i)} if channel == "email" else {}
                c = f.customer(s, **extra, **(customer_kw or {}))
                f.follow(s, c, clerk, channel=channel)
                if channel not in ("sms", "email"):
                    f.identity(s, c, channel, recipient(i), account=account)
                customers.append(c.id)
            clerk_id = clerk.id
        if inbound_first:
            from app.messaging.actions import receive_message
            with db.transaction() as s:
                for i, cid in enumerate(customers):
                    receive_message(s, channel=channel, external_id=f"in-{channel}-{i}", customer_id=cid, body="在吗")
        ids = []
        with db.transaction() as s:
            for i, cid in enumerate(customers):
                msg, _ = send_message(s, clerk_id=clerk_id, customer_id=cid, body=f"第{i}条消息",
                                      client_id=f"{channel}-{i}", channel=channel)
                ids.append(msg.id)
    return ids


def states(db) -> dict[str, int]:
    with db.Session() as s:
        return {st.value: n for st, n in s.execute(
            select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state))}


def statuses(db) -> dict[str, int]:
    with db.Session() as s:
        return {st.value: n for st, n in s.execute(
            select(Message.status, func.count()).where(Message.direction == "out").group_by(Message.status))}


def outage_then_recovery(app, db, clock, fail, n: int = 6, outage_seconds: int = 300, **queue_kw) -> None:
    """Queue ``n`` sends while the vendor is down (``fail`` makes it fail), let ``outage_seconds``
    of simulated time pass with sweeps, then recover and sweep until the outbox is empty."""
    fail()
    with app.app_context():
        queue_messages(app, db, **queue_kw, n=n)  # the after-commit dispatch hits the outage
        elapsed = 0
        while elapsed < outage_seconds:
            clock.advance(60)
            elapsed += 60
            fail()
            dispatch.sweep_outbox()
        assert states(db).get("sent", 0) == 0, "nothing may be sent during the outage"
        assert states(db).get("dead", 0) == 0, "a 5-minute outage must not exhaust the retries"
    return None


def drain(app, clock, rounds: int = 12) -> None:
    with app.app_context():
        for _ in range(rounds):
            clock.advance(700)  # past the longest backoff
            dispatch.sweep_outbox()
            if not states_of(OutboxState.pending, OutboxState.sending):
                break


def states_of(*wanted: OutboxState) -> int:
    from app import db as app_db

    with app_db.get_db().Session() as s:
        return s.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.state.in_(wanted)))


def kill_mid_batch(app, db, clock, survive: int, n: int, unsettled: int | None = None, **queue_kw) -> None:
    """Queue ``n`` rows without dispatching, kill the dispatcher after ``survive`` sends, then let
    the claim expire and sweep. ``unsettled``: rows still claimed at the kill (all of them for a
    vendor that de-duplicates, whose successes are recorded in groups)."""
    app.config["JOBS_MODE"] = "sync"
    from app import jobs
    from app.channels.accounts import registry

    runner = jobs.runner(app)
    original = runner.enqueue
    runner.enqueue = lambda fn, *a, **k: None  # rows stay queued: one batch takes them all
    try:
        queue_messages(app, db, **queue_kw, n=n)
    finally:
        runner.enqueue = original
    app.config["CHANNEL_TRANSPORT_FACTORY"] = lambda: KillingTransport(survive)
    registry(app).forget()
    with app.app_context():
        try:
            dispatch.dispatch_due()
        except DispatcherKilled:
            pass
        else:
            raise AssertionError("the dispatcher was expected to die")
    app.config.pop("CHANNEL_TRANSPORT_FACTORY")
    registry(app).forget()
    assert states(db).get("sending") == (n - survive if unsettled is None else unsettled)
    clock.advance(dispatch.CLAIM_SECONDS + 1)
    with app.app_context():
        dispatch.sweep_outbox()


def rows_by_state(db, state: OutboxState) -> list[OutboxEntry]:
    with db.Session() as s:
        return list(s.scalars(select(OutboxEntry).where(OutboxEntry.state == state).order_by(OutboxEntry.id)))
