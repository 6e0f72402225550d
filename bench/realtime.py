"""Realtime fan-out: inbound message → the owning clerk's console, latency with N connected clerks.

Starts real server processes (``tests/web/serve.py``) over a seeded SQLite file, connects N clerk
consoles with the python-socketio client (one per clerk, websocket transport, each in its own
room), then makes customers write: each inbound goes through ``receive_message`` (the action every
channel callback ends in) via the TESTING stand-in endpoint, and the bench times from just before
the HTTP call until the owning clerk's socket has the ``message.created`` event.

    .venv/bin/python bench/realtime.py                 # 200 clerks, one process
    .venv/bin/python bench/realtime.py 1000            # 1,000 clerks
    .venv/bin/python bench/realtime.py 1000 --redis    # two processes, Redis as message queue

A third path times a message from a customer no clerk owns: it lands in the pool of the store
they buy at, and every console of that store gets it; timed until one of the store's consoles has
it. The bench clerks work in stores of ``--per-store`` (default 20, a large flagship's floor), as
a brand's are; ``--per-store 0`` puts them all in one store, every pooled message then reaching
all N consoles.

With ``--redis`` the clerks are split over two server processes and every inbound is posted to
the *other* process than the one its clerk is connected to, so each event crosses Redis.
Also prints the clerk console's first-load size (gzip), the issue's ≤ 150 KB budget.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import socketio  # noqa: E402

from tests import services  # noqa: E402
from tests.web.live import LiveServer, migrate_and_seed  # noqa: E402


def first_load_bytes(base: str) -> dict[str, int]:
    """Compressed bytes of what /console/ loads before any data: the page and its scripts/styles."""
    import re

    http = requests.Session()
    http.headers["Accept-Encoding"] = "gzip"
    sizes: dict[str, int] = {}

    def fetch(path: str) -> str:
        resp = http.get(base + path, stream=True, timeout=10)
        raw = resp.raw.read(decode_content=False)
        sizes[path] = len(raw)
        return _decode(raw, resp.headers)

    html = fetch("/console/")
    for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        if not ref.endswith((".png", ".svg", ".webmanifest")):  # images and the manifest: not first paint
            fetch(ref)
    fetch("/i18n/zh-CN.json")
    return sizes


def _decode(raw: bytes, headers) -> str:
    import gzip

    if headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", "replace")


class Clerk:
    def __init__(self, index: int, server_url: str, customer_id: int, clerk_id: int, store_id: int) -> None:
        self.index = index
        self.url = server_url
        self.customer_id = customer_id
        self.clerk_id = clerk_id
        self.store_id = store_id
        self.received: dict[str, float] = {}
        self.cond = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("message.created", lambda d: self._got(d["message"]["body"]), namespace="/console")
        self.sio.on("today.updated", lambda d: self._got(d.get("probe", "")), namespace="/console")

    def _got(self, body: str) -> None:
        now = time.perf_counter()
        with self.cond:
            self.received[body] = now
            self.cond.notify_all()

    def connect(self) -> None:
        http = requests.Session()
        resp = http.post(f"{self.url}/auth/login", json={"username": f"bench{self.index}", "password": "demo"}, timeout=30)
        resp.raise_for_status()
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        self.sio.connect(self.url, namespaces=["/console"], headers={"Cookie": cookie}, transports=["websocket"],
                         wait_timeout=30)

    def wait_for(self, body: str, timeout: float = 10) -> float | None:
        with self.cond:
            self.cond.wait_for(lambda: body in self.received, timeout=timeout)
            return self.received.get(body)


def run(clients: int, messages: int, use_redis: bool, workers: int, per_store: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="daogou-bench-rt-"))
    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    started = time.perf_counter()
    migrate_and_seed(url, extra_clerks=clients, clerks_per_store=per_store)
    redis = services.start_redis() if use_redis else None
    servers = [LiveServer(url, redis_url=redis.url if redis else None, log_path=tmp / "server0.log")]
    if use_redis:
        servers.append(LiveServer(url, redis_url=redis.url, log_path=tmp / "server1.log"))
    try:
        http = requests.Session()
        ids = _bench_ids(url, clients)
        clerks = [Clerk(i, servers[i % len(servers)].url, *ids[i]) for i in range(clients)]
        walk_ins = _walk_ins(url, [clerks[(n * 7919) % clients].store_id for n in range(messages)])
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=32) as pool:
            list(pool.map(lambda c: c.connect(), clerks))
        connect_s = time.perf_counter() - t0
        print(f"  {clients} consoles connected in {connect_s:.1f}s (setup {t0 - started:.1f}s)", flush=True)

        latencies: list[float] = []
        http_ms: list[float] = []  # the callback's own answer time, for comparison
        lost = 0
        lock = threading.Lock()

        def one(n: int, path: str) -> None:
            nonlocal lost
            clerk = clerks[(n * 7919) % clients]
            # with two processes, post to the process the clerk is NOT connected to
            target = servers[((n * 7919) % clients + 1) % len(servers)].url if use_redis else servers[0].url
            body = f"{path}-{n}"
            sent = time.perf_counter()
            if path in ("inbound", "pool"):
                customer = clerk.customer_id if path == "inbound" else walk_ins[n]
                resp = http.post(f"{target}/testing/inbound", json={"customer_id": customer, "body": body}, timeout=30)
            else:
                resp = http.post(f"{target}/testing/probe", json={"clerk_id": clerk.clerk_id, "body": body}, timeout=30)
            resp.raise_for_status()
            answered = time.perf_counter()
            got = clerk.wait_for(body)
            with lock:
                if got is None:
                    lost += 1
                else:
                    latencies.append((got - sent) * 1000)
                    http_ms.append((answered - sent) * 1000)

        results = {}
        for path in ("publish", "inbound", "pool"):
            latencies.clear()
            http_ms.clear()
            lost = 0
            t1 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(lambda n: one(n, path), range(messages)))
            results[path] = _summary(latencies, http_ms, lost, messages, time.perf_counter() - t1)
        sizes = first_load_bytes(servers[0].url)
        for c in clerks:
            if c.sio.eio.ws is not None:
                c.sio.eio.ws.shutdown()
            c.sio.eio.disconnect(abort=True)
        return {"paths": results, "first_load_gzip": sum(sizes.values()), "first_load": sizes}
    finally:
        for s in servers:
            s.stop()
        if redis:
            redis.stop()


def _summary(latencies: list[float], http_ms: list[float], lost: int, messages: int, elapsed: float) -> dict:
    latencies, http_ms = sorted(latencies), sorted(http_ms)
    pick = lambda xs, q: xs[int(q * (len(xs) - 1))]  # noqa: E731
    return {"p50": statistics.median(latencies), "p95": pick(latencies, 0.95), "p99": pick(latencies, 0.99),
            "max": latencies[-1], "http_p50": statistics.median(http_ms), "http_p95": pick(http_ms, 0.95),
            "lost": lost, "messages": messages, "rate": messages / elapsed}


def _walk_ins(url: str, stores: list[int]) -> list[int]:
    """One customer per message who follows no clerk, at home in the given store: their message
    goes to that store's pool (the store of the console the bench watches)."""
    from app.db import Database
    from tests import factories

    database = Database(url)
    with database.transaction() as s:
        ids = [factories.customer(s, name=f"散客{i}", home_store_id=store_id).id for i, store_id in enumerate(stores)]
    database.dispose()
    return ids


def _bench_ids(url: str, n: int) -> list[tuple[int, int, int]]:
    """(customer id, clerk id, store id) of each bench clerk's follower, in clerk order."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.id, s.id, s.store_id FROM customers c JOIN follower_bindings b ON b.customer_id = c.id "
            "JOIN staff s ON s.id = b.clerk_id WHERE s.username LIKE 'bench%' "
            "ORDER BY CAST(SUBSTR(s.username, 6) AS INTEGER)")).all()
    engine.dispose()
    assert len(rows) == n
    return [tuple(r) for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("clients", nargs="?", type=int, default=200, help="connected clerk consoles (default 200)")
    parser.add_argument("--messages", type=int, default=300, help="inbound messages to time (default 300)")
    parser.add_argument("--workers", type=int, default=4, help="concurrent inbound senders (default 4)")
    parser.add_argument("--redis", action="store_true", help="two server processes with Redis as message queue")
    parser.add_argument("--per-store", type=int, default=20, help="clerks per store (default 20; 0: all in one store)")
    args = parser.parse_args()
    mode = "2 processes + Redis message queue" if args.redis else "1 process, in-process fan-out"
    stores = f"{args.per_store} per store" if args.per_store else "all in one store"
    print(f"realtime: {args.clients} clerk consoles ({stores}), {args.messages} inbound messages, {mode}", flush=True)
    r = run(args.clients, args.messages, args.redis, args.workers, args.per_store)
    labels = {"publish": "event published (row + commit + emit) → console",
              "inbound": "inbound message (receive_message + every subscribed hook) → console",
              "pool": "message from a customer nobody owns → their store's pool, on that store's consoles"}
    for path, p in r["paths"].items():
        print(f"  {labels[path]}, ms: p50 {p['p50']:.1f}  p95 {p['p95']:.1f}  p99 {p['p99']:.1f}  "
              f"max {p['max']:.1f}  (goal p95 < 150)")
        print(f"    the HTTP call's own answer: p50 {p['http_p50']:.1f}  p95 {p['http_p95']:.1f} ms; "
              f"{p['rate']:.0f} msg/s with {args.workers} senders; lost {p['lost']} of {p['messages']}")
    print(f"  console first load (gzip, no images): {r['first_load_gzip'] / 1024:.1f} KB (budget 150 KB)")
    for path, size in sorted(r["first_load"].items(), key=lambda kv: -kv[1]):
        print(f"    {size / 1024:6.1f} KB  {path}")


if __name__ == "__main__":
    main()
