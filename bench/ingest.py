"""Ingestion throughput: CSV import and API bulk upsert of N order rows, in rows/s.

    .venv/bin/python bench/ingest.py                      # 20,000 rows, SQLite and PostgreSQL
    .venv/bin/python bench/ingest.py --rows 1000000 --db sqlite

Each run gets a throwaway database (a temp SQLite file; a PostgreSQL cluster started with
tests/services.py) with 10 stores, 60 clerks, 200 products and rows/10 customers loaded
through the same actions. Then it measures, on the same order rows (one CSV row = one order
with 1–3 items):

- csv: ``flask import orders`` path (detect encoding, check it, parse, validate, write);
- csv again: re-importing the same file (everything already there: nothing is written);
- api: POST /api/v1/orders in requests of 5,000 objects (JSON in and out, auth, validation).

By default the ORDER_RECORDED subscribers of other areas (retagging, commission) are detached,
so the figures are the ingestion itself; ``--with-subscribers`` keeps them. The CPU column is
rows per CPU-second of this process (SQLite runs in-process; PostgreSQL's own CPU is not
counted), which stays meaningful on a loaded machine where wall-clock figures are not.

Target (issue 2): ≥ 50,000 rows/s for the CSV path.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.auth import create_api_token  # noqa: E402
from app.db import get_db, upgrade  # noqa: E402
from app.ingest import actions, csv_import  # noqa: E402

STORES, CLERKS, PRODUCTS = 10, 60, 200
STATUSES = ("paid", "paid", "completed", "completed", "completed", "created", "shipped", "cancelled")


def make_app(url: str, tmp: str):
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "JOBS_MODE": "sync", "SCHEDULER_ENABLED": False,
                      "INSTANCE_DIR": tmp, "LOG_LEVEL": "WARNING", "TESTING": True})
    upgrade(get_db(app))
    return app


def seed(app, customers: int) -> None:
    from models import Role, Staff

    rng = random.Random(7)
    db = get_db(app)
    with app.app_context():
        with db.transaction() as s:
            actions.upsert_stores(s, [{"external_id": f"S{i}", "name": f"门店{i}"} for i in range(STORES)])
            s.add_all([Staff(username=f"bclerk{i}", external_id=f"E{i}", display_name=f"导购{i}", password_hash="!",
                             role=Role.clerk) for i in range(CLERKS)])
            actions.upsert_products(s, [{"sku": f"SKU{i:04d}", "name": f"商品{i}", "category": "skincare",
                                         "price": f"{rng.randint(10, 900)}.00"} for i in range(PRODUCTS)])
        for start in range(0, customers, 5000):
            with db.transaction() as s:
                actions.upsert_customers(s, [{"external_id": f"C{i}", "name": f"顾客{i}", "store": f"S{i % STORES}"}
                                             for i in range(start, min(start + 5000, customers))])


def order_rows(n: int, customers: int, prefix: str):
    """Yield (csv row, api object) for n orders."""
    rng = random.Random(11)
    base = dt.datetime(2026, 1, 1, 9)
    for i in range(n):
        lines = [(f"SKU{rng.randrange(PRODUCTS):04d}", rng.randint(1, 3), rng.randint(10, 900) * 100)
                 for _ in range(rng.randint(1, 3))]
        amount = sum(q * p for _, q, p in lines)
        status = STATUSES[i % len(STATUSES)]
        created = base + dt.timedelta(minutes=i % 500000)
        paid = "" if status in ("created", "cancelled") else (created + dt.timedelta(minutes=2)).isoformat(" ")
        obj = {"external_id": f"{prefix}{i}", "customer": f"C{rng.randrange(customers)}", "store": f"S{i % STORES}",
               "clerk": f"E{i % CLERKS}", "status": status, "created_at": created.isoformat(" "),
               "amount": f"{amount // 100}.{amount % 100:02d}",
               "items": [{"sku": s, "quantity": q, "price": f"{p // 100}.{p % 100:02d}"} for s, q, p in lines]}
        if paid:
            obj["paid_at"] = paid
        items = ";".join(f"{it['sku']}:{it['quantity']}:{it['price']}" for it in obj["items"])
        row = [obj["external_id"], obj["customer"], obj["store"], obj["clerk"], status, obj["created_at"], paid,
               obj["amount"], items, ""]
        yield row, obj


def write_csv(path: str, n: int, customers: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["external_id", "customer", "store", "clerk", "status", "created_at", "paid_at", "amount",
                    "items", "refund_amount"])
        for row, _obj in order_rows(n, customers, "O"):
            w.writerow(row)


def rate(n: int, seconds: float, cpu: float) -> str:
    return f"{n:>9,} rows in {seconds:7.2f} s = {n / seconds:>9,.0f} rows/s  (cpu {n / cpu:>9,.0f} rows/s)"


class Clock:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def run(kind: str, url: str, rows: int, api_rows: int, tmp: str, subscribers: bool) -> None:
    app = make_app(url, tmp)
    if not subscribers:
        app.extensions["daogou.hooks"].clear()
    db = get_db(app)
    customers = max(rows // 10, 100)
    t0 = time.perf_counter()
    seed(app, customers)
    print(f"[{kind}] seeded {customers:,} customers in {time.perf_counter() - t0:.1f} s", flush=True)
    path = os.path.join(tmp, "orders.csv")
    write_csv(path, rows, customers)
    with app.app_context():
        with Clock() as first:
            report = csv_import.import_csv(db, "orders", path)
        assert report.created == rows and not report.problems, (report.created, report.problems[:3])
        print(f"[{kind}] csv import     {rate(rows, first.wall, first.cpu)}", flush=True)
        with Clock() as again:
            report = csv_import.import_csv(db, "orders", path)
        assert report.created == report.updated == 0 and report.accepted == rows
        print(f"[{kind}] csv re-import  {rate(rows, again.wall, again.cpu)}", flush=True)
        with db.transaction() as s:
            token = create_api_token(s, "bench")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    batch: list = []
    wall = cpu = 0.0
    for _row, obj in order_rows(api_rows, customers, "A"):
        batch.append(obj)
        if len(batch) == 5000 or _row[0] == f"A{api_rows - 1}":
            with Clock() as clock:
                _post(client, headers, batch)
            wall, cpu, batch = wall + clock.wall, cpu + clock.cpu, []
    print(f"[{kind}] api upsert     {rate(api_rows, wall, cpu)}", flush=True)
    db.dispose()


def _post(client, headers, batch) -> None:
    r = client.post("/api/v1/orders", json=batch, headers=headers)
    body = r.get_json()
    assert r.status_code == 200 and body["created"] == len(batch), body if r.status_code != 200 else body["rejected"][:3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000, help="order rows for the CSV path (default 20,000)")
    parser.add_argument("--api-rows", type=int, help="order rows for the API path (default: same as --rows)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--with-subscribers", action="store_true",
                        help="keep other areas' ORDER_RECORDED subscribers (retagging, commission)")
    args = parser.parse_args()
    api_rows = args.api_rows or args.rows
    print(f"ingest bench: {args.rows:,} CSV rows, {api_rows:,} API rows, "
          f"subscribers {'on' if args.with_subscribers else 'off'}", flush=True)
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            run("sqlite", f"sqlite:///{tmp}/bench.sqlite3", args.rows, api_rows, tmp, args.with_subscribers)
    if args.db in ("postgresql", "both"):
        from tests import services

        server = services.start_postgres()
        try:
            services.pg_admin(server, "CREATE DATABASE bench_ingest")
            with tempfile.TemporaryDirectory() as tmp:
                run("postgresql", server.database_url("bench_ingest"), args.rows, api_rows, tmp,
                    args.with_subscribers)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
