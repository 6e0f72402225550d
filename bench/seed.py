"""How fast the demo brand loads: ``generate_demo`` into a fresh, migrated database.

    .venv/bin/python bench/seed.py [--customers 100000] [--db sqlite|postgresql|both] [--seed 1]

Prints customers/s, orders/s and total seconds per database, with the split between generating
columns (numpy), writing them (executemany / COPY), the derived-column UPDATE and rebuilding the
indexes. Target: 1,000,000 customers (about eight million orders) in under 10 minutes on SQLite.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from app.db import Database, upgrade  # noqa: E402
from app.demo import generate_demo  # noqa: E402


def run(database: Database, customers: int, seed: int, label: str) -> None:
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        if stage != "customers":
            print(f"  {label}: {stage}… at {elapsed:.0f} s", flush=True)
        elif done == total or done % 200_000 == 0:
            print(f"  {label}: {done:,}/{total:,} customers at {elapsed:.0f} s", flush=True)

    upgrade(database)
    summary = generate_demo(database, customers=customers, seed=seed, progress=progress)
    split = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in summary.timings.items())
    print(f"{label}: {summary.customers:,} customers, {summary.orders:,} orders, "
          f"{summary.order_items:,} items in {summary.seconds:.1f} s — "
          f"{summary.customers / summary.seconds:,.0f} customers/s, "
          f"{summary.orders / summary.seconds:,.0f} orders/s; {summary.cpu_seconds:.1f} s of this "
          f"process's CPU ({split})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    args = ap.parse_args()

    if args.db in ("sqlite", "both"):
        tmp = tempfile.mkdtemp(prefix="daogou-bench-seed-")
        database = Database(f"sqlite:///{tmp}/seed.sqlite3")
        try:
            run(database, args.customers, args.seed, "sqlite")
            size = os.path.getsize(f"{tmp}/seed.sqlite3")
            print(f"sqlite: database file {size / 2**20:,.0f} MiB")
        finally:
            database.dispose()
            shutil.rmtree(tmp, ignore_errors=True)
    if args.db in ("postgresql", "both"):
        from tests.services import pg_admin, start_postgres

        server = start_postgres()
        try:
            pg_admin(server, "CREATE DATABASE daogou_bench_seed")
            database = Database(server.database_url("daogou_bench_seed"))
            try:
                run(database, args.customers, args.seed, "postgresql")
            finally:
                database.dispose()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
