"""Each tag rule at its boundaries, on SQLite and PostgreSQL (assistant layer, no Flask)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from assistant.tag_rules import TagRules, TagRulesError, parse_rules
from assistant.tags import retag_all, retag_customers
from models import Customer, CustomerTag, Setting, Tag, TagSource
from assistant.categories import category_label
from tests import factories as f

UTC = dt.timezone.utc
BOUGHT = dt.datetime(2026, 11, 11, 10, tzinfo=UTC)  # 18:00 in Shanghai


@pytest.fixture
def database(database_url):
    from app.db import Database

    d = Database(database_url)
    yield d
    d.dispose()


def at(days_after: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 11, 11, hour, tzinfo=UTC) + dt.timedelta(days=days_after)


def tags_of(s, customer_id: int) -> dict[str, str]:
    rows = s.execute(select(Tag.name, CustomerTag.reason).join(Tag, Tag.id == CustomerTag.tag_id)
                     .where(CustomerTag.customer_id == customer_id)).all()
    return dict(rows)


def stage_of(s, customer_id: int) -> str:
    return next(n for n in tags_of(s, customer_id) if n.startswith("stage:")).split(":")[1]


def one(database, build, now, rules: TagRules | None = None):
    """Build a customer with ``build(s)``, retag them at ``now``, return their tags."""
    with database.transaction() as s:
        cid = build(s).id
        retag_customers(s, [cid], now=now, rules=rules)
    with database.transaction() as s:
        return tags_of(s, cid)


# Lifecycle ------------------------------------------------------------------------------------

@pytest.fixture
def two_boxes(database):
    """Seed 000: two boxes of a 10-day product bought on 11 November."""
    with database.transaction() as s:
        box = f.product(s, usage_days=10, price_fen=5000, category="personal_care")
        c = f.customer(s)
        f.order(s, c, [(box, 2)], paid_at=BOUGHT)
    return c.id


def test_dormancy_starts_on_day_usage_days_times_quantity(database, two_boxes):
    for days, stage in [(19, "new"), (20, "dormant")]:
        with database.transaction() as s:
            retag_customers(s, [two_boxes], now=at(days))
        with database.transaction() as s:
            tags = tags_of(s, two_boxes)
            assert f"stage:{stage}" in tags
            assert "2 件 × 10 天，上次购买 %d 天前" % days in tags[f"stage:{stage}"]
            assert s.get(Customer, two_boxes).stage.value == stage


def test_dormancy_counts_brand_calendar_days(database, two_boxes):
    # 11 Nov 18:00 Shanghai → 1 Dec 00:30 Shanghai is calendar day 20, though under 20×24 h.
    with database.transaction() as s:
        retag_customers(s, [two_boxes], now=dt.datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
        assert stage_of(s, two_boxes) == "dormant"


def test_longest_item_of_the_last_purchase_sets_the_cycle(database):
    def build(s):
        short, long_ = f.product(s, usage_days=5), f.product(s, usage_days=30)
        c = f.customer(s)
        f.order(s, c, [(short, 1), (long_, 1)], paid_at=BOUGHT)
        return c
    assert "stage:new" in one(database, build, at(29))
    assert "stage:dormant" in one(database, build, at(30))


def test_products_without_cycle_use_their_category_default(database):
    def build(s):
        fridge = f.product(s, usage_days=None, category="appliances", price_fen=300000)
        c = f.customer(s)
        f.order(s, c, [(fridge, 1)], paid_at=BOUGHT)
        return c
    for days, stage in [(719, "new"), (720, "dormant")]:
        tags = one(database, build, at(days))
        assert f"stage:{stage}" in tags
        assert "家电 品类默认 720 天" in tags[f"stage:{stage}"]


def test_prospect_has_no_paid_order_even_with_an_unpaid_one(database):
    def build(s):
        c = f.customer(s)
        f.order(s, c, [(f.product(s, price_fen=26800), 1)], status="created")
        return c
    tags = one(database, build, at(1))
    assert tags["stage:prospect"] == "未有成功付款，有未付款订单 ¥268.00"


def test_fully_refunded_order_does_not_count_but_partial_refund_does(database):
    with database.transaction() as s:
        p = f.product(s, usage_days=100, price_fen=10000)
        c = f.customer(s)
        f.order(s, c, [(p, 1)], paid_at=BOUGHT, status="refunded", refund_amount_fen=10000)
        f.order(s, c, [(p, 1)], paid_at=BOUGHT + dt.timedelta(days=1), refund_amount_fen=3000)
        retag_customers(s, [c.id], now=at(5))
    with database.transaction() as s:
        row = s.get(Customer, c.id)
        assert (row.stage.value, row.paid_orders, row.total_spent_fen) == ("new", 1, 7000)


def test_repeat_customer_becomes_fan_only_when_engaged(database):
    def build(replied_days_ago):
        def b(s):
            p = f.product(s, usage_days=100)
            c = f.customer(s, last_inbound_at=at(10) - dt.timedelta(days=replied_days_ago))
            for i in range(3):
                f.order(s, c, [(p, 1)], paid_at=BOUGHT + dt.timedelta(days=i))
            return c
        return b
    assert "stage:fan" in one(database, build(30), at(10))
    assert "stage:repeat" in one(database, build(31), at(10))
    two_orders = TagRules(fan_min_paid_orders=4)
    assert "stage:repeat" in one(database, build(1), at(10), rules=two_orders)


def test_dormancy_wins_over_fan(database):
    def build(s):
        p = f.product(s, usage_days=1)
        c = f.customer(s, last_inbound_at=at(9))
        for i in range(3):
            f.order(s, c, [(p, 1)], paid_at=BOUGHT + dt.timedelta(hours=i))
        return c
    assert "stage:dormant" in one(database, build, at(10))


# RFM per category (seed 003) ------------------------------------------------------------------

RFM_CASES = [("snacks", 30, "active"), ("snacks", 31, "sleeping"), ("snacks", 120, "sleeping"), ("snacks", 121, "lost"),
             ("appliances", 365, "active"), ("appliances", 366, "sleeping"), ("skincare", 91, "sleeping")]


def test_rfm_band_uses_the_main_categorys_thresholds(database):
    for category, days, band in RFM_CASES:
        def build(s):
            c = f.customer(s)
            f.order(s, c, [(f.product(s, category=category, usage_days=None), 1)], paid_at=BOUGHT)
            return c
        tags = one(database, build, at(days))
        assert f"rfm:{band}" in tags, (category, days)
        assert tags[f"rfm:{band}"].startswith(f"{category_label(category)}：上次购买 {days} 天前")


# The other rules ------------------------------------------------------------------------------

def test_replenishment_due_in_the_last_seven_days_of_the_cycle(database, two_boxes):
    for days, due in [(12, False), (13, True), (19, True), (20, False)]:
        with database.transaction() as s:
            retag_customers(s, [two_boxes], now=at(days))
            tags = tags_of(s, two_boxes)
        assert ("replenish_due" in tags) is due, days
        if due:
            assert tags["replenish_due"] == f"2 件 × 10 天，还剩 {20 - days} 天用完（上次购买 {days} 天前）"


def test_unpaid_order_of_at_least_100_yuan_is_tagged_for_chasing(database):
    for amount_fen, tagged in [(10000, True), (9999, False)]:
        def build(s):
            c = f.customer(s)
            f.order(s, c, [], status="created", amount_fen=amount_fen)
            return c
        assert ("unpaid" in one(database, build, at(0))) is tagged


def test_campus_address(database):
    for address, word in [("北京市海淀区北京大学 36 楼", "大学"), ("上海市第二中学", "中学"), ("杭州市西湖区文三路", None)]:
        tags = one(database, lambda s: f.customer(s, address=address), at(0))
        assert tags.get("campus") == (f"收货地址含「{word}」" if word else None)


def test_birthday_within_thirty_days(database):
    for birthday, tagged in [(dt.date(1990, 12, 11), True), (dt.date(1990, 12, 12), False),
                             (dt.date(1990, 11, 11), True), (dt.date(1990, 11, 10), False)]:
        assert ("birthday_soon" in one(database, lambda s: f.customer(s, birthday=birthday), at(0))) is tagged


def test_leap_day_birthday_is_celebrated_on_28_february(database):
    tags = one(database, lambda s: f.customer(s, birthday=dt.date(2000, 2, 29)),
               dt.datetime(2027, 2, 27, 4, tzinfo=UTC), rules=TagRules(birthday_within_days=1))
    assert tags["birthday_soon"] == "生日 2 月 29 日，还有 1 天"


def test_high_value_is_the_top_ten_percent_of_spend(database):
    with database.transaction() as s:
        p = f.product(s, price_fen=100)
        ids = []
        for n in range(1, 21):
            c = f.customer(s)
            f.order(s, c, [(p, n)], paid_at=BOUGHT)
            ids.append(c.id)
        retag_all(s, now=at(1))
    with database.transaction() as s:
        top = set(s.scalars(select(CustomerTag.customer_id).join(Tag).where(Tag.name == "high_value")))
        assert top == set(ids[-2:])
        cut = s.get(Setting, "tag_stats").value["high_value_min_fen"]
        assert cut == 1900  # top 10 % of 20 buyers = the two biggest: ¥20 and ¥19
        # An order event uses the recorded cut-off: a new ¥19 spender is top-10 %.
        c = f.customer(s)
        f.order(s, c, [(s.merge(p), 19)], paid_at=BOUGHT)
        retag_customers(s, [c.id], now=at(1))
        assert "high_value" in tags_of(s, c.id)


def test_price_band_by_average_item_price(database):
    for price_fen, band in [(9999, "low"), (10000, "mid"), (49999, "mid"), (50000, "high")]:
        def build(s):
            c = f.customer(s)
            f.order(s, c, [(f.product(s, price_fen=price_fen), 2)], paid_at=BOUGHT)
            return c
        assert f"price:{band}" in one(database, build, at(1))


def test_category_affinity_and_region(database):
    def build(s):
        c = f.customer(s, address="黑龙江省哈尔滨市南岗区")
        f.order(s, c, [(f.product(s, category="snacks", price_fen=1000), 3),
                       (f.product(s, category="skincare", price_fen=9000), 1)], paid_at=BOUGHT)
        return c
    tags = one(database, build, at(1))
    assert tags["affinity:skincare"] == "护肤 占消费 75%"
    assert "region:黑龙江" in tags
    assert "region:广东" in one(database, lambda s: f.customer(s, province="广东省", address="天河路 1 号"), at(1))


def test_new_follower_within_seven_days(database):
    for days, tagged in [(7, True), (8, False)]:
        def build(s):
            c = f.customer(s)
            f.follow(s, c, f.staff(s), since=at(0) - dt.timedelta(days=days))
            return c
        assert ("new_follower" in one(database, build, at(0))) is tagged


def test_engaged_when_replied_within_fourteen_days(database):
    for days, tagged in [(14, True), (15, False)]:
        tags = one(database, lambda s: f.customer(s, last_inbound_at=at(0) - dt.timedelta(days=days)), at(0))
        assert ("engaged" in tags) is tagged
        if tagged:
            assert tags["engaged"] == f"{days} 天前回复过消息"


# Manual tags and the full retag ---------------------------------------------------------------

def test_manual_tags_survive_every_retag(database, two_boxes):
    with database.transaction() as s:
        clerk = f.staff(s)
        vip = Tag(name="VIP 老朋友", source=TagSource.manual, group="manual")
        campus = Tag(name="campus", source=TagSource.auto, group="address")
        s.add_all([vip, campus])
        s.flush()
        s.add_all([CustomerTag(customer_id=two_boxes, tag_id=vip.id, source=TagSource.manual, set_by=clerk.id),
                   CustomerTag(customer_id=two_boxes, tag_id=campus.id, source=TagSource.manual,
                               reason="导购确认", set_by=clerk.id)])
    with database.transaction() as s:
        retag_customers(s, [two_boxes], now=at(3))
        retag_all(s, now=at(4))
    with database.transaction() as s:
        rows = {r.tag.name: r for r in s.scalars(select(CustomerTag).where(CustomerTag.customer_id == two_boxes))}
        assert rows["VIP 老朋友"].source == TagSource.manual
        assert (rows["campus"].source, rows["campus"].reason) == (TagSource.manual, "导购确认")
        assert rows["stage:new"].source == TagSource.auto


def test_full_retag_agrees_with_one_by_one(database):
    now = at(15)
    with database.transaction() as s:
        p1, p2 = f.product(s, usage_days=10), f.product(s, usage_days=None, category="snacks", price_fen=800)
        clerk = f.staff(s)
        ids = []
        for n in range(12):
            c = f.customer(s, address=["清华大学", "广州市", None][n % 3], birthday=dt.date(1990, 11, 20 + n % 5),
                           last_inbound_at=now - dt.timedelta(days=n * 3))
            f.follow(s, c, clerk, since=now - dt.timedelta(days=n))
            for k in range(n % 4):
                f.order(s, c, [(p1 if n % 2 else p2, 1 + k)], paid_at=BOUGHT - dt.timedelta(days=5 * n + k))
            if n % 5 == 0:
                f.order(s, c, [(p1, 3)], status="created")
            ids.append(c.id)
        retag_all(s, now=now)
    with database.transaction() as s:
        bulk = {cid: tags_of(s, cid) for cid in ids}
        derived = {c.id: (c.stage, c.paid_orders, c.total_spent_fen, c.first_paid_at, c.last_paid_at)
                   for c in s.scalars(select(Customer).where(Customer.id.in_(ids)))}
        retag_customers(s, ids, now=now)
    with database.transaction() as s:
        assert {cid: tags_of(s, cid) for cid in ids} == bulk
        assert {c.id: (c.stage, c.paid_orders, c.total_spent_fen, c.first_paid_at, c.last_paid_at)
                for c in s.scalars(select(Customer).where(Customer.id.in_(ids)))} == derived
        assert {d[0].value for d in derived.values()} >= {"prospect", "repeat", "dormant"}


# Thresholds -----------------------------------------------------------------------------------

@pytest.mark.parametrize("doc, field", [
    ({"engaged_days": -1}, "engaged_days"),
    ({"rfm_default": {"active_days": 90, "lost_days": 30}}, "rfm_default"),
    ({"price_band_low_yuan": 500, "price_band_high_yuan": 100}, "price_band_high_yuan"),
    ({"dormant_days_by_category": {"snacks": 0}}, "dormant_days_by_category.snacks"),
    ({"high_value_top_percent": 150}, "high_value_top_percent"),
    ({"no_such_rule": 1}, "no_such_rule"),
    ({"campus_words": []}, "campus_words"),
])
def test_nonsense_thresholds_are_refused_naming_the_field(doc, field):
    with pytest.raises(TagRulesError) as err:
        parse_rules(doc)
    assert field in err.value.fields, err.value.fields


def test_partial_thresholds_keep_the_defaults():
    rules = parse_rules({"engaged_days": 3})
    assert (rules.engaged_days, rules.unpaid_min_yuan) == (3, 100)


def test_row_by_row_and_columnar_rules_agree_on_a_generated_brand(database):
    """The event path (row by row) and the nightly path (columns) on 300 varied customers."""
    from bench.tags import NOW, generate
    from models import Product

    generate(database, 300, 4, seed=11)
    with database.transaction() as s:
        s.add(CustomerTag(customer_id=5, tag_id=ensure_manual(s), source=TagSource.manual))
        for product in s.scalars(select(Product).where(Product.id % 7 == 0)):
            product.usage_days = None  # more items on category defaults
        retag_all(s, now=NOW)
    with database.transaction() as s:
        columnar = sorted(s.execute(select(CustomerTag.customer_id, CustomerTag.tag_id, CustomerTag.source,
                                           CustomerTag.reason)).all())
        derived = sorted(s.execute(select(Customer.id, Customer.stage, Customer.paid_orders, Customer.total_spent_fen,
                                          Customer.first_paid_at, Customer.last_paid_at)).all())
        retag_customers(s, range(1, 301), now=NOW)
    with database.transaction() as s:
        assert sorted(s.execute(select(CustomerTag.customer_id, CustomerTag.tag_id, CustomerTag.source,
                                       CustomerTag.reason)).all()) == columnar
        assert sorted(s.execute(select(Customer.id, Customer.stage, Customer.paid_orders, Customer.total_spent_fen,
                                       Customer.first_paid_at, Customer.last_paid_at)).all()) == derived
    assert len({row[1] for row in derived}) == 5  # every stage occurs


def ensure_manual(s) -> int:
    tag = Tag(name="老朋友", source=TagSource.manual, group="manual")
    s.add(tag)
    s.flush()
    return tag.id
