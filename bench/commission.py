"""Commission at scale: attribute orders in batch; one order event → the clerk's screen.

    .venv/bin/python bench/commission.py [--orders 200000] [--db sqlite|postgresql] [--events 30]

Prints three figures:
1. the attribution + commission arithmetic alone (``assistant``, pandas) over N in-memory orders
   — the part that must scale to 10M in < 60 s;
2. ``attribute_history`` (what ``flask commission attribute`` runs) over N orders seeded into a
   fresh database: read, attribute, compute, write attributions and ledger lines;
3. event latency: an integrator POSTs one paid order (``/api/v1/orders``), the ingestion action
   fires ``ORDER_RECORDED``, commission attributes and books it, and the clerk's Socket.IO test
   client receives ``commission.earned`` — timed end to end in process (goal < 200 ms).
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from assistant import attribution as attr  # noqa: E402
from assistant import commission_compute as cc  # noqa: E402
from assistant import commission_rules as cr  # noqa: E402

UTC = dt.timezone.utc
START = dt.datetime(2025, 1, 1, tzinfo=UTC)
SPAN_S = 600 * 86400
CATEGORIES = np.array(["skincare", "apparel", "snacks", "appliances"])


def synthetic(n_orders: int, seed: int = 1) -> dict[str, pd.DataFrame]:
    """A brand's history as frames: orders ~ chronological ids, 1–3 lines each, owners, chats."""
    rng = np.random.default_rng(seed)
    n_customers = max(10, n_orders // 7)
    n_clerks = max(4, n_customers // 2000)
    n_products = 400
    paid_s = np.sort(rng.integers(0, SPAN_S, n_orders))
    orders = pd.DataFrame({
        "order_id": np.arange(1, n_orders + 1, dtype=np.int64),
        "customer_id": rng.integers(1, n_customers + 1, n_orders),
        "paid_at": pd.to_datetime(START) + pd.to_timedelta(paid_s, unit="s"),
        "clerk_id": np.where(rng.random(n_orders) < 0.3, rng.integers(1, n_clerks + 1, n_orders), np.nan),
    })
    n_lines = rng.integers(1, 4, n_orders)
    line_order = np.repeat(orders["order_id"].to_numpy(), n_lines)
    product = rng.integers(0, n_products, len(line_order))
    price = (rng.integers(20, 2000, n_products) * 100)[product]
    qty = rng.integers(1, 3, len(line_order))
    lines = pd.DataFrame({"order_id": line_order, "product_id": product + 1, "sku": [f"P{p}" for p in product],
                          "category": CATEGORIES[product % 4], "price_fen": price, "quantity": qty,
                          "value_fen": price * qty})
    orders["amount_fen"] = lines.groupby("order_id")["value_fen"].sum().to_numpy()
    orders["refund_fen"] = np.where(rng.random(n_orders) < 0.05, orders["amount_fen"] // 2, 0)
    bindings = pd.DataFrame({"customer_id": np.arange(1, n_customers + 1),
                             "clerk_id": rng.integers(1, n_clerks + 1, n_customers),
                             "since": pd.to_datetime(START) - pd.Timedelta(days=30), "ended_at": pd.NaT})
    n_touch = n_customers
    touches = pd.DataFrame({"customer_id": rng.integers(1, n_customers + 1, n_touch),
                            "clerk_id": rng.integers(1, n_clerks + 1, n_touch),
                            "sent_at": pd.to_datetime(START) + pd.to_timedelta(rng.integers(0, SPAN_S, n_touch), unit="s")})
    for df, cols in ((orders, ["paid_at"]), (bindings, ["since", "ended_at"]), (touches, ["sent_at"])):
        for c in cols:
            df[c] = pd.to_datetime(df[c], utc=True).dt.as_unit("us")
    return {"orders": orders, "lines": lines, "bindings": bindings, "touches": touches,
            "n_customers": n_customers, "n_clerks": n_clerks, "n_products": n_products}


def rules() -> list[cr.RuleSpec]:
    start = START - dt.timedelta(days=1)
    return [cr.RuleSpec(1, "全场 3%", "percent", start, rate_bp=300),
            cr.RuleSpec(2, "护肤 5%", "percent", start, category="skincare", rate_bp=500),
            cr.RuleSpec(3, "每单 2 元", "fixed", start, amount_fen=200),
            cr.RuleSpec(4, "零食不计", "exclusion", start, category="snacks"),
            cr.RuleSpec(5, "阶梯", "tier", start, tiers=((0, 0), (1_000_000, 100), (3_000_000, 200)))]


def bench_arithmetic(data: dict) -> None:
    config = {**attr.DEFAULT_CONFIG, "order": ["in_store", "split", "owner", "last_touch"]}
    cpu = time.process_time()
    started = time.perf_counter()
    cands = attr.candidates_frame(data["orders"], data["bindings"], data["touches"], 7)
    shares = attr.attribute_frame(cands, config)
    t_attr = time.perf_counter() - started
    orders = data["orders"].assign(period=attr.month_of(data["orders"]["paid_at"], "Asia/Shanghai"))
    result = cc.compute(shares, orders, data["lines"], rules())
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    n = len(data["orders"])
    print(f"arithmetic: {n:,} orders ({len(data['lines']):,} lines) → {len(shares):,} shares, "
          f"{len(result.entries):,} ledger lines in {elapsed:.2f}s wall, {cpu:.2f}s CPU (attribution {t_attr:.2f}s); "
          f"{n / elapsed:,.0f} orders/s → 10M ≈ {10_000_000 / (n / elapsed):.0f}s wall, "
          f"≈ {10_000_000 / (n / cpu):.0f}s CPU")


def _seed_database(database, data: dict) -> None:
    """Bulk-load the synthetic brand (COPY on PostgreSQL, executemany on SQLite)."""
    from werkzeug.security import generate_password_hash

    from app.db import upgrade
    from models import CommissionRule

    upgrade(database)
    now = dt.datetime.now(UTC)
    pw = generate_password_hash("demo", method="pbkdf2:sha256:1000")
    o, lines = data["orders"], data["lines"]
    pg = database.dialect == "postgresql"

    def ts(series: pd.Series) -> list:
        text = series.dt.strftime("%Y-%m-%d %H:%M:%S.%f")
        return (text + "+00").tolist() if pg else text.tolist()

    nowtxt = now.strftime("%Y-%m-%d %H:%M:%S.%f") + ("+00" if pg else "")
    tables = {
        "stores": (["id", "external_id", "name", "created_at", "updated_at"], [(1, "S1", "门店1", nowtxt, nowtxt)]),
        "staff": (["id", "username", "display_name", "password_hash", "role", "store_id", "locale", "active", "created_at"],
                  [(i, f"clerk{i}", f"导购{i}", pw, "clerk", 1, "zh-CN", True, nowtxt)
                   for i in range(1, data["n_clerks"] + 1)]),
        "customers": (["id", "external_id", "name", "created_at", "updated_at", "paid_orders", "total_spent_fen"],
                      [(i, f"C{i}", f"顾客{i}", nowtxt, nowtxt, 0, 0) for i in range(1, data["n_customers"] + 1)]),
        "follower_bindings": (["customer_id", "clerk_id", "channel", "is_owner", "since"],
                              list(zip(data["bindings"]["customer_id"].tolist(), data["bindings"]["clerk_id"].tolist(),
                                       ["wecom"] * len(data["bindings"]), [True] * len(data["bindings"]),
                                       ts(data["bindings"]["since"])))),
        "products": (["id", "sku", "name", "category", "price_fen", "in_stock", "created_at", "updated_at"],
                     lines.drop_duplicates("product_id").sort_values("product_id")
                     .apply(lambda r: (int(r.product_id), r.sku, r.sku, r.category, int(r.price_fen), True, nowtxt, nowtxt),
                            axis=1).tolist()),
        "orders": (["id", "external_id", "customer_id", "store_id", "clerk_id", "status", "amount_fen",
                    "refund_amount_fen", "created_at", "paid_at", "updated_at"],
                   list(zip(o["order_id"].tolist(), ("O" + o["order_id"].astype(str)).tolist(), o["customer_id"].tolist(),
                            [1] * len(o), [None if np.isnan(c) else int(c) for c in o["clerk_id"]],
                            ["completed"] * len(o), o["amount_fen"].tolist(), o["refund_fen"].tolist(),
                            ts(o["paid_at"]), ts(o["paid_at"]), ts(o["paid_at"])))),
        "order_items": (["order_id", "product_id", "quantity", "price_fen"],
                        list(zip(lines["order_id"].tolist(), lines["product_id"].tolist(), lines["quantity"].tolist(),
                                 lines["price_fen"].tolist()))),
    }
    raw = database.engine.raw_connection()
    try:
        cur = raw.cursor()
        for table, (cols, rows) in tables.items():
            if pg:
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
        if pg:
            for table in ("stores", "staff", "customers", "products", "orders"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    with database.transaction() as s:
        for r in rules():
            s.add(CommissionRule(id=r.id, name=r.name, kind=r.kind, category=r.category, rate_bp=r.rate_bp,
                                 amount_fen=r.amount_fen, effective_from=r.effective_from,
                                 tiers=[{"from_fen": a, "rate_bp": b} for a, b in r.tiers] or None))
        if pg:
            s.execute(__import__("sqlalchemy").text(
                "SELECT setval(pg_get_serial_sequence('commission_rules', 'id'), 100)"))


def bench_batch(app, data: dict) -> None:
    from app.commission.attribution import attribute_history
    from app.db import get_db

    database = get_db(app)
    started = time.perf_counter()
    _seed_database(database, data)
    seeded = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    with app.app_context():
        totals = attribute_history(database, chunk_size=500_000)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    n = len(data["orders"])
    print(f"batch ({database.dialect}): seeded {n:,} orders in {seeded:.1f}s; attribute_history: "
          f"{totals['attributed']:,} attributions, {totals['earned']:,} earned, {totals['reversed']:,} reversed "
          f"in {elapsed:.2f}s wall ({cpu:.2f}s CPU in this process) = {n / elapsed:,.0f} orders/s "
          f"→ 10M ≈ {10_000_000 / (n / elapsed):.0f}s")
    started = time.perf_counter()
    with app.app_context():
        attribute_history(database, chunk_size=500_000)
    print(f"batch replay (nothing new to book): {time.perf_counter() - started:.2f}s")


def bench_events(app, n_events: int) -> None:
    """POST one order at a time; time until the clerk's socket has commission.earned."""
    from app.auth import create_api_token
    from app.db import get_db
    from app.realtime import NAMESPACE, socketio

    database = get_db(app)
    with database.transaction() as s:
        token = create_api_token(s, f"bench-{time.time_ns()}")
    client = app.test_client()
    resp = client.post("/auth/login", json={"username": "clerk1", "password": "demo"})
    assert resp.status_code == 200, resp.get_json()
    sock = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=client)
    assert sock.is_connected(NAMESPACE), "the console's socket refused the clerk"
    sock.get_received(NAMESPACE)
    with database.Session() as s:
        from sqlalchemy import select

        from models import Customer, FollowerBinding
        customer = s.scalar(select(Customer.external_id).join(FollowerBinding, FollowerBinding.customer_id == Customer.id)
                            .where(FollowerBinding.clerk_id == 1).limit(1))
    headers = {"Authorization": f"Bearer {token}"}
    latencies, cpus = [], []
    for i in range(n_events):
        now = dt.datetime.now(UTC).replace(microsecond=0).isoformat()
        body = [{"external_id": f"EV-{time.time_ns()}-{i}", "customer": customer, "store": "S1", "status": "paid",
                 "created_at": now, "paid_at": now, "amount": "268.00",
                 "items": [{"sku": "P1", "quantity": 1, "price": "268.00"}]}]
        started, cpu = time.perf_counter(), time.process_time()
        resp = client.post("/api/v1/orders", json=body, headers=headers)
        got = [e for e in sock.get_received(NAMESPACE) if e["name"] == "commission.earned"]
        latencies.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        assert resp.status_code == 200 and got, (resp.get_json(), got)
    ms = np.array(latencies) * 1000
    print(f"event → clerk's socket ({database.dialect}, {n_events} orders, in process): "
          f"p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, max {ms.max():.1f} ms "
          f"(goal < 200 ms); CPU p50 {np.percentile(np.array(cpus) * 1000, 50):.1f} ms; "
          f"last payload: {got[-1]['args'][0]['message']}")
    # The commission part alone: process_orders on one order inside its transaction.
    from app.commission.attribution import process_orders
    from models import Order, OrderItem, Product
    own = []
    with app.app_context():
        for i in range(n_events):
            with database.transaction() as s:
                now = dt.datetime.now(UTC)
                product = s.scalar(select(Product.id).limit(1))
                cust = s.scalar(select(Customer.id).where(Customer.external_id == customer))
                order = Order(external_id=f"DIRECT-{time.time_ns()}", customer_id=cust, store_id=1, status="paid",
                              amount_fen=26800, created_at=now, paid_at=now)
                order.items = [OrderItem(product_id=product, quantity=1, price_fen=26800)]
                s.add(order)
                s.flush()
                started, cpu = time.perf_counter(), time.process_time()
                process_orders(s, [order.id])
            own.append((time.perf_counter() - started, time.process_time() - cpu))
    wall = np.array([w for w, _ in own]) * 1000
    cpu_ms = np.array([c for _, c in own]) * 1000
    print(f"commission's own part (attribute + book + publish + commit, {n_events} orders): "
          f"p50 {np.percentile(wall, 50):.1f} ms wall, {np.percentile(cpu_ms, 50):.1f} ms CPU; "
          f"p95 {np.percentile(wall, 95):.1f} ms wall")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=200_000)
    ap.add_argument("--arithmetic-orders", type=int, default=None, help="default: --orders")
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--events", type=int, default=30)
    args = ap.parse_args()

    started = time.perf_counter()
    data = synthetic(args.arithmetic_orders or args.orders)
    print(f"synthetic brand: {len(data['orders']):,} orders built in {time.perf_counter() - started:.1f}s")
    bench_arithmetic(data)
    if args.arithmetic_orders and args.arithmetic_orders != args.orders:
        data = synthetic(args.orders)

    from app import create_app
    from app.db import get_db
    from tests.services import bench_database

    with bench_database(args.db, "bench_commission") as (url, tmp):
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "JOBS_MODE": "sync", "SCHEDULER_ENABLED": False,
                          "INSTANCE_DIR": tmp, "LOG_LEVEL": "WARNING", "TESTING": True})
        try:
            bench_batch(app, data)
            if args.events:
                bench_events(app, args.events)
        finally:
            get_db(app).dispose()


if __name__ == "__main__":
    main()
