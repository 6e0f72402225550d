"""Head-office loop at scale: plan a campaign, create a care task, read a campaign's ROI report.

    .venv/bin/python bench/care.py [--customers 100000] [--db sqlite|postgresql]

Seeds the demo brand (``app.demo``) into a fresh database, then times:
- planning a campaign over every customer with a paid order (segment, stable holdout, targets)
  and the contact-policy preview over its treatment group (goal < 10 s at 100k customers);
- creating a care task over the same segment: targets split to owning clerks, pushed (goal < 5 s
  at 100k targets);
- the campaign report (buyers and revenue per group from the orders table, goal < 2 s at 1M
  orders), after marking the campaign sent a year ago so the whole order history is its window.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from sqlalchemy import func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.db import get_db, upgrade  # noqa: E402
from tests.services import bench_database  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=20000)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = ap.parse_args()

    with bench_database(args.db, "bench_care") as (url, tmp):
        app = create_app({"DATABASE_URL": url, "JOBS_MODE": "sync", "SECRET_KEY": "bench",
                          "INSTANCE_DIR": tmp, "LOG_LEVEL": "WARNING"})
        try:
            run(app, args.customers, args.db)
        finally:
            get_db(app).dispose()


def run(app, customers: int, kind: str) -> None:
    from app.care import actions, campaigns
    from app.demo.generate import generate_demo
    from models import Campaign, Order, Role, Segment, Staff

    database = get_db(app)
    upgrade(database)
    t0 = time.perf_counter()
    summary = generate_demo(database, customers=customers, seed=7)
    print(f"seeded {customers:,} customers in {time.perf_counter() - t0:.1f} s ({kind})")
    with database.Session() as s:
        orders = s.scalar(select(func.count()).select_from(Order))
    print(f"orders: {orders:,}")

    with app.app_context():
        with database.transaction() as s:
            seg = Segment(name="bench: bought at least once", filter={"field": "paid_orders", "op": ">=", "value": 1})
            s.add(seg)
            s.flush()
            seg_id = seg.id
            hq = s.scalar(select(Staff).where(Staff.role == Role.hq).limit(1))
            hq_id = hq.id

        t = time.perf_counter()
        with database.transaction() as s:
            campaign = campaigns.create_campaign(s, s.get(Staff, hq_id), {
                "name": "bench", "segment_id": seg_id, "channel": "loopback", "holdout_pct": 10,
                "content": {"text": "{{ customer_name }}您好"}})
            cid = campaign.id
        planned = time.perf_counter() - t
        t = time.perf_counter()
        with database.Session() as s:
            preview = campaigns.plan_preview(s, s.get(Campaign, cid))
        previewed = time.perf_counter() - t
        print(f"campaign plan: {planned:.2f} s for {preview['treatment']:,} treatment targets "
              f"(+ holdout); policy preview {previewed:.2f} s; total {planned + previewed:.2f} s")

        t = time.perf_counter()
        with database.transaction() as s:
            task, per_clerk = actions.create_care_task(s, s.get(Staff, hq_id), {
                "title": "bench", "segment_id": seg_id, "template": "您好",
                "deadline": dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)})
        print(f"care task: {time.perf_counter() - t:.2f} s for {sum(per_clerk.values()):,} targets "
              f"to {len(per_clerk)} clerks")

        with database.transaction() as s:
            s.get(Campaign, cid).sent_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=365)
        t = time.perf_counter()
        with database.Session() as s:
            report = campaigns.campaign_report(s, cid, days=365)
        print(f"campaign report over {orders:,} orders: {time.perf_counter() - t:.2f} s "
              f"(buyers {report['buyers']:,} vs holdout {report['holdout_buyers']:,})")
    del summary


if __name__ == "__main__":
    main()
