"""The outbox dispatcher: backoff, dead letters with the clerk's reason, unknown sends held,
rate limits, opt-outs honoured at send time, the sweep, RQ mode, and channel accounts."""
from __future__ import annotations

import random
import time

import pytest
from sqlalchemy import select

from app.channels import dispatch, outcomes
from models import ChannelAccount, Message, MessageStatus, OutboxEntry, OutboxState
from tests import factories as f
from tests.connectors import proofs
from tests.connectors.fakes import FakeBridge


def test_backoff_doubles_with_jitter_and_is_capped():
    rng = random.Random(7)
    waits = [outcomes.backoff(n, rng) for n in range(1, 9)]
    for n, wait in enumerate(waits, start=1):
        full = min(outcomes.BACKOFF_CAP_SECONDS, outcomes.BACKOFF_BASE_SECONDS * 2 ** (n - 1))
        assert full / 2 <= wait <= full
    assert sum(min(outcomes.BACKOFF_CAP_SECONDS, 5 * 2 ** (n - 1)) / 2 for n in range(1, 8)) > 300, \
        "the retries must outlast a 5-minute outage"


@pytest.fixture
def bridge(app, add_channel, bridge_receiver):
    add_channel("bridge", "wa", secret=FakeBridge.SECRET, url=bridge_receiver.url + "/deliver", timeout="0.3")
    return bridge_receiver


def _entries(db):
    with db.Session() as s:
        return list(s.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


def test_after_n_tries_the_row_is_dead_and_the_clerk_sees_why(app, db, clock, bridge):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    bridge.fail("status:503", 10)
    [mid] = proofs.queue_messages(app, db, "bridge", 1, account="wa")
    for _ in range(4):
        clock.advance(3600)
        with app.app_context():
            dispatch.sweep_outbox()
    [entry] = _entries(db)
    assert entry.state == OutboxState.dead and entry.attempts == 3 and "503" in entry.last_error
    with db.Session() as s:
        msg = s.get(Message, mid)
        assert msg.status == MessageStatus.failed and "重试 3 次" in msg.error


def test_a_refusal_is_final_at_once(app, db, clock, bridge):
    bridge.fail("status:400")
    [mid] = proofs.queue_messages(app, db, "bridge", 1, account="wa")
    [entry] = _entries(db)
    assert entry.state == OutboxState.dead and entry.attempts == 1
    with db.Session() as s:
        assert "拒绝" in s.get(Message, mid).error


def test_retry_waits_for_its_backoff(app, db, clock, bridge):
    bridge.fail("status:503")
    proofs.queue_messages(app, db, "bridge", 1, account="wa")
    [entry] = _entries(db)
    assert entry.state == OutboxState.pending and entry.next_attempt_at > clock.now
    with app.app_context():
        assert dispatch.sweep_outbox()["dispatched"] == 0  # not due yet
        clock.advance(10)
        assert dispatch.sweep_outbox()["dispatched"] == 1
    assert _entries(db)[0].state == OutboxState.sent and len(bridge.delivered) == 1


def test_a_maybe_sent_message_is_held_as_unknown_and_resolved_by_a_person(app, db, clock, add_channel, wechat):
    from tests.connectors.test_wechat_oa import SETTINGS

    add_channel("wechat-oa", "main", **SETTINGS, base_url=wechat.url)
    wechat.fail("hang", path="/cgi-bin/message/custom/send")
    [mid] = proofs.queue_messages(app, db, "wechat-oa", 1, account="main", inbound_first=True)
    [entry] = _entries(db)
    assert entry.state == OutboxState.unknown
    with app.app_context():
        clock.advance(86400)
        dispatch.sweep_outbox()
    # The fake answers after the client gave up; on a loaded machine it may even act on the
    # request after our timeout, so wait (bounded) for it before counting.
    deadline = time.monotonic() + 10
    while not wechat.delivered and time.monotonic() < deadline:
        time.sleep(0.05)
    sends = [r for r in wechat.requests if r[1] == "/cgi-bin/message/custom/send"]
    assert len(wechat.delivered) == 1 and len(sends) == 1  # it did arrive, and was not sent again
    with db.Session() as s:
        assert s.get(Message, mid).status == MessageStatus.queued and s.get(Message, mid).error
    result = app.test_cli_runner().invoke(args=["outbox", "resolve", str(entry.id), "sent"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.output.strip() == "sent"
    with db.Session() as s:
        assert s.get(Message, mid).status == MessageStatus.sent


def test_our_rate_limit_defers_without_counting_a_try(app, db, clock, add_channel, bridge_receiver):
    add_channel("bridge", "wa", secret=FakeBridge.SECRET, url=bridge_receiver.url + "/deliver", rate_per_second="2")
    from app import jobs
    runner = jobs.runner(app)
    runner.enqueue, original = (lambda fn, *a, **k: None), runner.enqueue
    proofs.queue_messages(app, db, "bridge", 5, account="wa")
    runner.enqueue = original
    with app.app_context():
        dispatch.dispatch_due()
    entries = _entries(db)
    assert [e.state for e in entries].count(OutboxState.sent) == 2
    deferred = [e for e in entries if e.state == OutboxState.pending]
    assert len(deferred) == 3 and all(e.attempts == 0 for e in deferred)


def test_an_opt_out_after_queueing_is_honoured_at_send_time(app, db, clock, bridge):
    from app import jobs
    from app.channels.inbound import record_opt_out

    runner = jobs.runner(app)
    runner.enqueue, original = (lambda fn, *a, **k: None), runner.enqueue
    [mid] = proofs.queue_messages(app, db, "bridge", 1, account="wa")
    runner.enqueue = original
    with db.transaction() as s:
        record_opt_out(s, s.get(OutboxEntry, _entries(db)[0].id).customer_id, "bridge", "TD")
    with app.app_context():
        dispatch.sweep_outbox()
    assert not bridge.delivered
    with db.Session() as s:
        assert s.get(Message, mid).status == MessageStatus.failed and "退订" in s.get(Message, mid).error


def test_the_sweep_is_scheduled(app):
    from app import jobs

    assert "outbox.sweep" in jobs.runner(app).periodic and "channels.kf_sync" in jobs.runner(app).periodic


def test_rq_mode_dispatches_through_a_worker(app_factory, redis_url, bridge_receiver):
    from redis import Redis
    from rq import SimpleWorker

    from app import jobs
    from app.channels.accounts import add_account
    from app.db import get_db

    Redis.from_url(redis_url).flushdb()
    rq_app = app_factory(REDIS_URL=redis_url, JOBS_MODE="rq")
    database = get_db(rq_app)
    with database.transaction() as s:
        add_account(s, rq_app, "bridge", "wa", {"secret": FakeBridge.SECRET, "url": bridge_receiver.url + "/deliver"})
    proofs.queue_messages(rq_app, database, "bridge", 3, account="wa")
    assert proofs.states(database) == {"pending": 3}  # waiting in Redis for a worker
    with rq_app.app_context():
        queue = jobs.runner(rq_app).rq_queue()
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert proofs.states(database) == {"sent": 3} and len(bridge_receiver.delivered) == 3


def test_channel_add_encrypts_secrets_and_reads_env_references(app, db, monkeypatch, wechat):
    monkeypatch.setenv("OA_SECRET", "app-secret")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["channel", "add", "wechat-oa", "main", "--set", "appid=wx1", "--set",
                                 "secret=env:OA_SECRET", "--set", "token=tok-plain", "--set",
                                 f"base_url={wechat.url}", "--set", 'staff_map={"zs": "clerk1"}'])
    assert result.exit_code == 0, result.output
    with db.Session() as s:
        stored = s.scalars(select(ChannelAccount)).one().settings
    assert stored["secret"] == "env:OA_SECRET" and stored["token"].startswith("enc:")
    assert "tok-plain" not in str(stored) and stored["staff_map"] == {"zs": "clerk1"}
    from app.channels.accounts import registry
    conn = registry(app).connector("wechat-oa", "main")
    assert conn.settings["token"] == "tok-plain" and conn.settings["secret"] == "app-secret"
    listed = runner.invoke(args=["channel", "list"]).output
    assert "wechat-oa/main" in listed and "tok-plain" not in listed
    bad = runner.invoke(args=["channel", "add", "wechat-oa", "x", "--set", "appid=wx1"])
    assert bad.exit_code != 0 and "missing settings" in bad.output
    assert runner.invoke(args=["channel", "add", "fax", "x"]).exit_code != 0


def test_loopback_needs_no_account(app, db):
    with db.transaction() as s:
        clerk = f.staff(s, store=f.store(s))
        c = f.customer(s)
        f.follow(s, c, clerk, channel="loopback")
        f.identity(s, c, "loopback", "lb-1")
    from app.messaging.actions import send_message
    with app.app_context():
        with db.transaction() as s:
            msg, _ = send_message(s, clerk_id=clerk.id, customer_id=c.id, body="hi")
    with db.Session() as s:
        assert s.get(Message, msg.id).status == MessageStatus.delivered
        assert s.scalars(select(OutboxEntry)).one().sent_at is not None
