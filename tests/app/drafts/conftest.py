"""A small brand for the drafts API: two clerks of one store, their followers, products, orders."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from models import CareTask, CareTaskTarget, Role, Segment, utcnow
from tests import factories


@pytest.fixture
def brand(db):
    now = utcnow()
    with db.transaction() as s:
        store = factories.store(s, name="南京西路店")
        clerk = factories.staff(s, Role.clerk, store, username="lin", display_name="小林")
        other_clerk = factories.staff(s, Role.clerk, store, username="zhou", display_name="小周")
        hq = factories.staff(s, Role.hq, None, username="hq", display_name="总部")
        wang = factories.customer(s, name="王小美", gender="F", phone="13800000007", birthday=dt.date(1990, 11, 25))
        li = factories.customer(s, name="李建国", gender="M", phone="13900000008")
        factories.follow(s, wang, clerk, channel="wecom")
        factories.identity(s, wang, "wecom", "wm-wang")
        factories.follow(s, li, other_clerk, channel="wecom")
        mask = factories.product(s, sku="MASK-10", name="玻尿酸补水面膜", price_fen=12900, usage_days=10,
                                 image_url="https://img.example/mask.jpg", url="https://shop.example/p/MASK-10")
        serum = factories.product(s, sku="SERUM-30", name="修护精华液", price_fen=26800, usage_days=60)
        gone = factories.product(s, sku="CREAM-OOS", name="晚霜", price_fen=19900, in_stock=False)
        factories.order(s, wang, [(mask, 2)], paid_at=now - dt.timedelta(days=16))
        factories.order(s, li, [(mask, 1), (serum, 1), (gone, 1)], paid_at=now - dt.timedelta(days=40))
        segment = Segment(name="老客", filter={"field": "paid_orders", "op": ">=", "value": 1})
        s.add(segment)
        s.flush()
        task = CareTask(title="双十二老客关怀", goal="邀请老客回店", segment_id=segment.id, scenario=None,
                        product_skus=["SERUM-30"], deadline=now + dt.timedelta(days=3))
        s.add(task)
        s.flush()
        s.add_all([CareTaskTarget(task_id=task.id, customer_id=wang.id, clerk_id=clerk.id),
                   CareTaskTarget(task_id=task.id, customer_id=li.id, clerk_id=other_clerk.id)])
        ids = SimpleNamespace(store=store.id, clerk=clerk.id, other_clerk=other_clerk.id, hq=hq.id, wang=wang.id,
                              li=li.id, mask=mask.id, serum=serum.id, gone=gone.id, task=task.id)
    return ids
