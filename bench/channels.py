"""Channel figures: callback acknowledgement latency and outbox dispatch throughput.

    .venv/bin/python bench/channels.py [--rate 200] [--seconds 10] [--messages 20000] [--db sqlite|postgresql]

1. Callback ack: the app serves in its own process (threaded werkzeug); this process posts signed,
   AES-encrypted WeChat OA text callbacks (each a new MsgId, one customer) at a fixed rate, open
   loop, and measures each answer. Goal: p99 < 50 ms at 200 msg/s.
2. Outbox dispatch: ``--messages`` outbound messages are written set-based (messages + outbox
   rows), then two dispatcher processes drain the outbox to the loopback channel through the full
   path (batch claims, opt-out and window facts, rate limit, per-row outcome + message.status
   event). Goal: ≥ 2,000 msg/s with two workers.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import requests  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from app import create_app  # noqa: E402
from app.db import get_db, upgrade  # noqa: E402
from tests.connectors.wechat_crypto import AES_KEY, TOKEN, safe_callback  # noqa: E402
from tests.services import bench_database, free_port  # noqa: E402

APPID = "wxbench000000000"


def make_app(url: str, tmp: str, hooks: bool = True):
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "JOBS_MODE": "sync", "SCHEDULER_ENABLED": False,
                      "INSTANCE_DIR": tmp, "LOG_LEVEL": "ERROR", "TESTING": False})
    if not hooks:
        # Other areas' in-transaction subscribers (retagging on every message…) are not the
        # channel's cost; --no-hooks measures the channel path alone.
        app.extensions["daogou.hooks"].clear()
    return app


def seed(url: str, tmp: str, customers: int) -> None:
    from app.channels.accounts import add_account
    from models import (ChannelIdentity, Conversation, Customer, FollowerBinding, Role, Staff, Store,
                        utcnow)

    app = make_app(url, tmp)
    database = get_db(app)
    upgrade(database)
    with database.transaction() as s:
        add_account(s, app, "wechat-oa", "bench", {"appid": APPID, "secret": "s", "token": TOKEN,
                                                  "encoding_aes_key": AES_KEY, "mode": "safe"})
        add_account(s, app, "loopback", "demo", {"rate_per_second": "100000"})
        store = Store(external_id="S-bench", name="门店")
        s.add(store)
        s.flush()
        clerk = Staff(username="bench-clerk", display_name="导购", role=Role.clerk, password_hash="x",
                      store_id=store.id)
        s.add(clerk)
        s.flush()
        now = utcnow()
        s.execute(insert(Customer), [{"external_id": f"B{i}", "name": f"顾客{i}", "created_at": now,
                                      "updated_at": now, "paid_orders": 0, "total_spent_fen": 0}
                                     for i in range(customers)])
        ids = list(s.scalars(select(Customer.id).order_by(Customer.id)))
        s.execute(insert(ChannelIdentity), [{"customer_id": c, "channel": ch, "account": acc,
                                             "external_id": f"{ch}-{c}", "created_at": now}
                                            for c in ids for ch, acc in (("wechat-oa", "bench"), ("loopback", ""))])
        s.execute(insert(FollowerBinding), [{"customer_id": c, "clerk_id": clerk.id, "channel": "wechat-oa",
                                             "is_owner": True, "since": now} for c in ids])
        s.execute(insert(Conversation), [{"customer_id": c, "clerk_id": clerk.id, "unread_count": 0,
                                          "created_at": now} for c in ids])
    database.dispose()


# 1. callback acknowledgement --------------------------------------------------------------------
def serve(url: str, tmp: str, port: int, ready, hooks: bool) -> None:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = make_app(url, tmp, hooks)
    server = make_server("127.0.0.1", port, app, threaded=True)
    ready.set()
    server.serve_forever()


def callback_bench(url: str, tmp: str, rate: int, seconds: float, hooks: bool = True) -> dict:
    port = free_port()
    ready = mp.get_context("spawn").Event()
    proc = mp.get_context("spawn").Process(target=serve, args=(url, tmp, port, ready, hooks), daemon=True)
    proc.start()
    ready.wait(60)
    endpoint = f"http://127.0.0.1:{port}/channels/wechat-oa/bench"
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        return local.s

    # Build every callback first, so the client's crypto does not delay the schedule.
    total = int(rate * seconds)
    bodies = []
    for i in range(total):
        sender = f"wechat-oa-{1 + i % 500}"
        xml = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{sender}]]>"
               f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
               f"<Content><![CDATA[第{i}条：请问还有货吗]]></Content><MsgId>{10**15 + i}</MsgId></xml>")
        bodies.append(safe_callback(xml, APPID, nonce=uuid.uuid4().hex[:10]))
    session().post(endpoint, params=bodies[0][0], data=bodies[0][1])  # warm up
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def fire(query, body) -> None:
        started = time.perf_counter()
        try:
            ok = session().post(endpoint, params=query, data=body, timeout=10).status_code == 200
        except requests.RequestException:
            ok = False
        took = time.perf_counter() - started
        with lock:
            latencies.append(took)
            if not ok:
                errors[0] += 1

    threads = []
    start = time.perf_counter()
    for i, (query, body) in enumerate(bodies[1:], start=1):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        t = threading.Thread(target=fire, args=(query, body))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    proc.terminate()
    proc.join(10)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {"sent": len(latencies), "achieved_rate": len(latencies) / elapsed, "errors": errors[0],
            "p50_ms": q[49] * 1000, "p95_ms": q[94] * 1000, "p99_ms": q[98] * 1000, "max_ms": latencies[-1] * 1000}


# 2. outbox dispatch ---------------------------------------------------------------------------------
def fill_outbox(url: str, tmp: str, messages: int) -> None:
    from models import (Conversation, Direction, Message, MessageStatus, OutboxEntry, OutboxState,
                        utcnow)

    app = make_app(url, tmp)
    database = get_db(app)
    with database.transaction() as s:
        convs = s.execute(select(Conversation.id, Conversation.customer_id)).all()
        now = utcnow()
        rows = [{"conversation_id": convs[i % len(convs)][0], "direction": Direction.outbound,
                 "channel": "loopback", "type": "text", "body": f"您好，第{i}条", "purpose": "service",
                 "status": MessageStatus.queued, "created_at": now, "client_id": f"bench-{uuid.uuid4().hex}"}
                for i in range(messages)]
        s.execute(insert(Message), rows)
        ids = s.execute(select(Message.id, Conversation.customer_id)
                        .join(Conversation, Conversation.id == Message.conversation_id)
                        .where(Message.status == MessageStatus.queued)).all()
        s.execute(insert(OutboxEntry), [{"idempotency_key": f"msg:{mid}", "message_id": mid, "customer_id": cid,
                                         "channel": "loopback", "account": "demo", "recipient": f"loopback-{cid}",
                                         "payload": {"type": "text", "body": "您好"}, "purpose": "service",
                                         "state": OutboxState.pending, "attempts": 0, "next_attempt_at": now,
                                         "created_at": now} for mid, cid in ids])
    database.dispose()


def dispatch_worker(url: str, tmp: str, counter, barrier) -> None:
    from app.channels import dispatch

    app = make_app(url, tmp)
    barrier.wait()  # the clock starts when every worker has its app: start-up is not dispatch
    with app.app_context():
        while True:
            n = dispatch.dispatch_due(limit=200)
            if n == 0:
                break
            with counter.get_lock():
                counter.value += n
    get_db(app).dispose()


def dispatch_bench(url: str, tmp: str, messages: int, workers: int) -> dict:
    from models import OutboxEntry, OutboxState

    fill_outbox(url, tmp, messages)
    ctx = mp.get_context("spawn")
    counter = ctx.Value("i", 0)
    barrier = ctx.Barrier(workers + 1)
    procs = [ctx.Process(target=dispatch_worker, args=(url, tmp, counter, barrier)) for _ in range(workers)]
    for p in procs:
        p.start()
    barrier.wait()
    start = time.perf_counter()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - start
    app = make_app(url, tmp)
    with get_db(app).Session() as s:
        sent = s.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.state == OutboxState.sent))
    return {"messages": messages, "workers": workers, "sent": sent, "seconds": elapsed,
            "msg_per_s": sent / elapsed}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--no-hooks", action="store_true", help="callbacks without other areas' subscribers")
    ap.add_argument("--only", choices=("callbacks", "dispatch"), help="run one of the two measurements")
    args = ap.parse_args()
    with bench_database(args.db, "bench_channels") as (url, tmp):
        seed(url, tmp, args.customers)
        if args.only != "dispatch":
            ack = callback_bench(url, tmp, args.rate, args.seconds, hooks=not args.no_hooks)
            print(f"callback ack ({args.db}{', no hooks' if args.no_hooks else ''}): {ack['sent']} callbacks at "
                  f"{ack['achieved_rate']:.0f}/s, p50 {ack['p50_ms']:.1f} ms, p95 {ack['p95_ms']:.1f} ms, p99 {ack['p99_ms']:.1f} ms "
                  f"(goal < 50), max {ack['max_ms']:.1f} ms, errors {ack['errors']}")
        if args.only != "callbacks":
            out = dispatch_bench(url, tmp, args.messages, args.workers)
            print(f"outbox dispatch ({args.db}): {out['sent']}/{out['messages']} sent by {out['workers']} workers "
                  f"in {out['seconds']:.2f} s = {out['msg_per_s']:.0f} msg/s (goal >= 2000)")
        print(f"(load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
