"""Preview counts of seed 001's selections at scale.

    .venv/bin/python bench/segments.py [--customers 100000] [--orders-per-customer 10]
                                       [--db sqlite|postgresql] [--reuse PATH]

Generates the brand of bench/tags.py (or reuses a SQLite file kept with ``bench/tags.py --keep``),
runs the full retag once so the derived columns and tags exist, then times the preview count
(``SELECT count(*) … WHERE <compiled filter>``, the query behind POST /api/v1/segments/preview)
of each seed-001 filter, best of 3. Goal at 1M customers: < 500 ms on PostgreSQL, < 2 s on SQLite.
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import ExitStack
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from sqlalchemy import func, select  # noqa: E402

SCHOOL = ["学校", "大学", "学院", "中学", "初中", "高中"]
TWICE = {"field": "paid_orders", "op": ">=", "value": 2}
FILTERS = {
    "bought >= 2 times": TWICE,
    "bought >= 2, excluding buyers on Nov 10-11": {"all": [TWICE, {"not": {
        "field": "paid_between", "op": "during", "value": ["2026-11-10", "2026-11-11"]}}]},
    "first purchase on Nov 11": {"field": "first_paid_at", "op": "during", "value": ["2026-11-11", "2026-11-11"]},
    "an order over 500 on Qixi": {"field": "order_amount", "op": ">", "value": 500, "during": ["2026-08-19", "2026-08-19"]},
    "address contains school words": {"field": "address", "op": "contains_any", "value": SCHOOL},
    "unpaid order over 100": {"field": "unpaid_order_amount", "op": ">", "value": 100},
}


def main() -> None:
    from bench.tags import NOW, brand_arguments, generate, open_database

    ap = brand_arguments()
    ap.add_argument("--reuse", help="a SQLite file kept by bench/tags.py --keep (already retagged)")
    args = ap.parse_args()

    from app.db import Database
    from assistant.segments import compile_filter
    from assistant.tags import retag_all
    from connectors.registry import channel_kinds
    from models import Customer

    with ExitStack() as stack:
        if args.reuse:
            database = Database(f"sqlite:///{args.reuse}")
            stack.callback(database.dispose)
            customers = None
        else:
            database = stack.enter_context(open_database(args.db, None))
            started = time.perf_counter()
            counts = generate(database, args.customers, args.orders_per_customer)
            customers = counts["customers"]
            print(f"generated {counts} on {args.db} in {time.perf_counter() - started:.1f}s")
            with database.transaction() as s:
                retag_all(s, now=NOW)
        with database.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            total = conn.scalar(select(func.count()).select_from(Customer))
        print(f"{total} customers on {database.dialect}" + ("" if customers else " (reused)"))
        tz = ZoneInfo("Asia/Shanghai")
        for name, filter_ in FILTERS.items():
            stmt = select(func.count()).select_from(Customer).where(compile_filter(filter_, NOW, tz, channels=channel_kinds()))
            times = []
            with database.engine.connect() as conn:
                for _ in range(3):
                    t0 = time.perf_counter()
                    count = conn.scalar(stmt)
                    times.append(time.perf_counter() - t0)
            print(f"  {name:<45} {count:>9}  {min(times) * 1000:8.1f} ms")
        goal = "500 ms" if database.dialect == "postgresql" else "2 s"
        print(f"goal at 1M customers: each < {goal}")


if __name__ == "__main__":
    main()
