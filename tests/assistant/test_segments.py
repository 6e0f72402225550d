"""The segment filter language on a hand-built brand with known answers (SQLite and PostgreSQL).

Seed 001's selections first, then every field and operator, then bad filters (no database).
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from assistant.segments import MAX_DEPTH, FilterError, compile_filter
from assistant.tags import retag_all
from connectors.registry import channel_kinds
from models import Customer, CustomerOptOut
from tests import factories as f

UTC = dt.timezone.utc
SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 22, 4, tzinfo=UTC)  # 12:00 in Shanghai
CHANNELS = channel_kinds()


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH).astimezone(UTC)


@pytest.fixture
def database(database_url):
    from app.db import Database

    d = Database(database_url)
    yield d
    d.dispose()


@pytest.fixture
def brand(database):
    """Nine customers whose answers to every filter below are worked out by hand."""
    with database.transaction() as s:
        store1, store2 = f.store(s), f.store(s)
        clerk1, clerk2 = f.staff(s, store=store1), f.staff(s, store=store2)
        p = f.product(s, price_fen=100, usage_days=None, category="snacks")  # dormant after 60 days

        def buyer(name, orders, **kw):
            c = f.customer(s, name=name, **kw)
            for amount, paid_at, *status in orders:
                st = status[0] if status else "paid"
                f.order(s, c, [(p, 1)], amount_fen=amount * 100, status=st, paid_at=paid_at,
                        refund_amount_fen=amount * 100 if st == "refunded" else 0)
            return c

        a = buyer("阿兰", [(300, local(2026, 11, 1, 10)), (200, local(2026, 11, 5, 10))],
                  address="北京市海淀区北京大学 36 楼", birthday=dt.date(1995, 11, 25),
                  last_contacted_at=local(2026, 11, 19, 9))
        b = buyer("白露", [(100, local(2026, 11, 10, 20)), (600, local(2026, 11, 11, 0, 5))])
        c = buyer("陈晨", [(80, local(2026, 11, 11, 23, 30))], address="上海市第二中学",
                  last_contacted_at=local(2026, 11, 18, 23))
        d = buyer("丁丁", [(888, local(2026, 8, 19, 20)), (50, local(2026, 8, 20, 9))])
        e = buyer("鄂尔", [(500, local(2026, 8, 19, 12))])
        fa = buyer("方方", [(150, local(2026, 11, 20, 10), "created")], home_store_id=store1.id)
        g = buyer("高高", [(100, local(2026, 11, 20, 10), "created")])
        h = buyer("胡胡", [(700, local(2026, 8, 19, 1))], address="广州市天河路")
        i = buyer("伊伊", [(1000, local(2026, 8, 19, 15), "refunded")], birthday=dt.date(2000, 2, 29))
        for cust, clerk in ((a, clerk1), (b, clerk1), (c, clerk2)):
            f.follow(s, cust, clerk)
        f.identity(s, a, "wecom", "wm-a")
        f.identity(s, i, "wecom", "wm-i")
        s.add(CustomerOptOut(customer_id=i.id, channel="wecom"))
        s.flush()
        ids = {"store1": store1.id, "clerk2": clerk2.id}
        retag_all(s, now=NOW, tz=SH)
    return ids


def names(database, filter_) -> set[str]:
    where = compile_filter(filter_, NOW, SH, channels=CHANNELS)
    with database.transaction() as s:
        found = set(s.scalars(select(Customer.name).where(where)))
        assert s.scalar(select(func.count()).select_from(Customer).where(where)) == len(found)
    return found


def cond(field, op, value, **extra):
    return {"field": field, "op": op, "value": value, **extra}


QIXI = ["2026-08-19", "2026-08-19"]


def test_seed_001_selections(database, brand):
    bought_twice = cond("paid_orders", ">=", 2)
    assert names(database, bought_twice) == {"阿兰", "白露", "丁丁"}
    # Bought twice or more, excluding buyers on 10–11 November (brand days).
    assert names(database, {"all": [bought_twice, {"not": cond("paid_between", "during", ["2026-11-10", "2026-11-11"])}]}) \
        == {"阿兰", "丁丁"}
    # First purchase on Singles' Day (陈晨 at 23:30 Shanghai = 15:30 UTC still counts).
    assert names(database, cond("first_paid_at", "during", ["2026-11-11", "2026-11-11"])) == {"陈晨"}
    # An order over ¥500 on Qixi: 鄂尔's ¥500 is not over; 伊伊's was refunded; 胡胡 paid at 01:00 Shanghai.
    assert names(database, cond("order_amount", ">", 500, during=QIXI)) == {"丁丁", "胡胡"}
    assert names(database, cond("address", "contains_any", ["学校", "大学", "学院", "中学", "初中", "高中"])) \
        == {"阿兰", "陈晨"}
    assert names(database, cond("unpaid_order_amount", ">", 100)) == {"方方"}


EVERYONE = {"阿兰", "白露", "陈晨", "丁丁", "鄂尔", "方方", "高高", "胡胡", "伊伊"}
CASES = [
    (cond("stage", "in", ["prospect"]), {"方方", "高高", "伊伊"}),
    (cond("stage", "in", ["repeat", "new"]), {"阿兰", "白露", "陈晨"}),
    (cond("stage", "in", ["dormant"]), {"丁丁", "鄂尔", "胡胡"}),
    (cond("tag", "has", "campus"), {"阿兰", "陈晨"}),
    (cond("tag", "has", ["campus", "stage:repeat"]), {"阿兰"}),
    (cond("tag", "has_any", ["campus", "unpaid"]), {"阿兰", "陈晨", "方方", "高高"}),
    (cond("tag", "has_none", ["campus", "unpaid"]), {"白露", "丁丁", "鄂尔", "胡胡", "伊伊"}),
    (cond("paid_orders", "=", 1), {"陈晨", "鄂尔", "胡胡"}),
    (cond("paid_orders", "<=", 0), {"方方", "高高", "伊伊"}),
    (cond("paid_orders", "between", [2, 2]), {"阿兰", "白露", "丁丁"}),
    (cond("total_spent", ">=", 700), {"白露", "丁丁", "胡胡"}),
    (cond("total_spent", "<=", "80.00"), {"陈晨", "方方", "高高", "伊伊"}),
    (cond("total_spent", "=", 80), {"陈晨"}),
    (cond("total_spent", "between", [500, 700]), {"阿兰", "白露", "鄂尔", "胡胡"}),
    (cond("order_amount", ">=", 500, during=QIXI), {"丁丁", "鄂尔", "胡胡"}),
    (cond("order_amount", ">", 600), {"丁丁", "胡胡"}),
    (cond("order_amount", "between", [100, 300]), {"阿兰", "白露"}),
    (cond("paid_between", "during", ["2026-11-01", "2026-11-05"]), {"阿兰"}),
    (cond("first_paid_at", "before", "2026-11-01"), {"丁丁", "鄂尔", "胡胡"}),
    (cond("first_paid_at", "after", "2026-11-10"), {"陈晨"}),
    (cond("first_paid_at", "within_days", 30), {"阿兰", "白露", "陈晨"}),
    (cond("last_paid_at", "during", ["2026-11-11", "2026-11-11"]), {"白露", "陈晨"}),
    (cond("last_paid_at", "within_days", 11), {"白露", "陈晨"}),
    (cond("last_paid_at", "before", "2026-08-20"), {"鄂尔", "胡胡"}),
    (cond("last_paid_at", "after", "2026-11-05"), {"白露", "陈晨"}),
    (cond("unpaid_order_amount", ">=", 100), {"方方", "高高"}),
    (cond("store", "in", ["STORE1"]), {"阿兰", "白露", "方方"}),
    (cond("clerk", "in", ["CLERK2"]), {"陈晨"}),
    (cond("birthday", "within_days", 3), {"阿兰"}),
    (cond("birthday", "within_days", 2), set()),
    (cond("channel", "reachable", "wecom"), {"阿兰"}),
    (cond("last_contacted", "within_days", 3), {"阿兰"}),
    (cond("last_contacted", "not_within_days", 3), EVERYONE - {"阿兰"}),
    (cond("last_contacted", "within_days", 4), {"阿兰", "陈晨"}),
    ({"any": [cond("stage", "in", ["prospect"]), cond("tag", "has", "campus")]},
     {"方方", "高高", "伊伊", "阿兰", "陈晨"}),
    ({"not": {"all": [cond("paid_orders", ">=", 1), cond("total_spent", ">=", 500)]}},
     {"陈晨", "方方", "高高", "伊伊"}),
]


def test_every_field_and_operator(database, brand):
    ids = {"STORE1": brand["store1"], "CLERK2": brand["clerk2"]}
    wrong = {}
    for filter_, expected in CASES:
        if filter_.get("field") in ("store", "clerk"):
            filter_ = {**filter_, "value": [ids[v] for v in filter_["value"]]}
        got = names(database, filter_)
        if got != expected:
            wrong[repr(filter_)] = (sorted(got), sorted(expected))
    assert not wrong, wrong


def test_address_words_are_matched_literally(database, brand):
    assert names(database, cond("address", "contains_any", ["%"])) == set()
    assert names(database, cond("address", "contains_any", ["_"])) == set()


# Bad filters: a FilterError naming the path (no database needed) -----------------------------

@pytest.mark.parametrize("filter_, path", [
    ({"all": []}, "all"),
    ({"all": [cond("stage", "in", ["new"]), cond("stage", "in", ["new"]), cond("paid_orders", "~", 2)]}, "all[2].op"),
    ({"all": [cond("colour", "in", ["red"])]}, "all[0].field"),
    ({"any": [cond("paid_orders", ">=", "two")]}, "any[0].value"),
    ({"any": [cond("paid_orders", ">=", True)]}, "any[0].value"),
    (cond("paid_orders", "between", [5, 2]), "value"),
    (cond("paid_between", "during", ["2026-11-11", "2026-11-10"]), "value"),
    (cond("first_paid_at", "during", ["2026-11-11", "11/12/2026"]), "value[1]"),
    (cond("order_amount", ">", 500, during=["2026-08-20", "2026-08-19"]), "during"),
    (cond("order_amount", ">", 500, when="qixi"), "when"),
    (cond("total_spent", ">=", "1.005"), "value"),
    (cond("total_spent", ">=", -3), "value"),
    (cond("stage", "in", ["vip"]), "value[0]"),
    (cond("stage", "in", []), "value"),
    ({"not": cond("tag", "has", [""])}, "not.value[0]"),
    (cond("store", "in", ["S1"]), "value[0]"),
    (cond("channel", "reachable", "pigeon"), "value"),
    (cond("birthday", "within_days", 4000), "value"),
    ({"field": "stage", "op": "in"}, "value"),
    ({"all": [cond("stage", "in", ["new"])], "any": []}, ""),
    ([], ""),
    ({"all": [{"any": [{"foo": 1}]}]}, "all[0].any[0]"),
    (cond("address", "contains_any", ["学"] * 501), "value"),
])
def test_invalid_filters_name_the_path(filter_, path):
    with pytest.raises(FilterError) as err:
        compile_filter(filter_, NOW, SH, channels=CHANNELS)
    assert err.value.path == (path or "filter"), err.value


def test_too_deep_and_too_large_filters_are_refused():
    deep = cond("stage", "in", ["new"])
    for _ in range(MAX_DEPTH):
        deep = {"not": deep}
    with pytest.raises(FilterError, match="nested too deeply"):
        compile_filter(deep, NOW, SH, channels=CHANNELS)
    with pytest.raises(FilterError, match="too large"):
        compile_filter({"any": [cond("stage", "in", ["new"])] * 150}, NOW, SH, channels=CHANNELS)
