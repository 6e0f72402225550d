"""Generate the demo brand (演示品牌): stores, staff, catalogue, customers, orders, chats.

The whole brand is a function of ``(seed, customers, now)``. Customers are generated in fixed
chunks of ``CHUNK`` with a random stream per chunk, so a seed gives the same first customers at
any size and a million customers never sit in memory at once. Each chunk is built as numpy
columns and written set-based: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

How the orders behave (seeds 000–003):
- a consumable buyer repurchases their favourite product every usage_days × quantity days, with
  noise and late rebuys, until they lapse (geometric number of cycles) — lapsed ones are the
  dormant customers the product-cycle rules must find;
- everyone also buys outside the cycle at a rate following the season: the Nov 10–11 Double-11
  peak (with the lull before it), 618, Double-12, and the Spring Festival dip; on each Double-11
  a third of the active customers place a basket order at the discounted price, and some
  customers are acquired on Double-11 itself;
- a few orders are abandoned: unpaid (``created``, the 催付 list) when recent, ``cancelled``
  otherwise; paid ones move through shipped → delivered → completed as time passes (in-store
  purchases complete at once); some are refunded in full or in part.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app.demo import catalogue as cat
from app.demo.load import ColumnWriter, tune_sqlite_for_bulk
from models import Conversation, Customer, Message, Order, Product, Staff, Store, utcnow
from models.commerce import PAID_STATUSES

CHUNK = 20_000          # customers per generation chunk; fixed so a seed means the same brand
WINDOW_DAYS = 730       # order history covers the two years before ``now``
DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
LOCAL_OFFSET_US = 8 * HOUR_US   # Asia/Shanghai has no DST
MAX_CYCLES = 48
DEMO_PASSWORD = "demo"
# Tables loaded in bulk: their secondary indexes (and PostgreSQL foreign keys) are dropped for
# the load and rebuilt once at the end, which beats maintaining them row by row for 10M rows.
BULK_TABLES = ("customers", "channel_identities", "follower_bindings", "orders", "order_items")
Progress = Callable[[str, int, int], None]


class DemoNotEmpty(RuntimeError):
    """The database already holds stores, staff, products or customers; the demo only seeds an empty one."""


@dataclass
class DemoSummary:
    stores: int = 0
    staff: int = 0
    products: int = 0
    customers: int = 0
    bindings: int = 0
    identities: int = 0
    orders: int = 0
    order_items: int = 0
    conversations: int = 0
    messages: int = 0
    retagged: bool = False  # stages and automatic tags computed by assistant.tags
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process only (not the PostgreSQL server's)
    timings: dict[str, float] = field(default_factory=dict)


def default_now() -> dt.datetime:
    """The anchor of the history: the start of the current hour, so reruns within it agree."""
    return utcnow().replace(minute=0, second=0, microsecond=0)


def database_is_empty(conn: Connection | Session) -> bool:
    """True when no store, staff, product or customer exists (the only state the demo seeds
    into: its logins and ids must never mix with a brand's own)."""
    return all(conn.scalar(select(model.id).limit(1)) is None for model in (Store, Staff, Product, Customer))


def generate_demo(target: Any, *, customers: int = 2000, seed: int = 1,
                  now: dt.datetime | None = None, progress: Progress | None = None) -> DemoSummary:
    """Seed the demo brand into an empty database; return what was written.

    ``target`` is a ``Database``, an ``Engine`` (one transaction, committed here) or a
    ``Session`` (written in its transaction; the caller commits). Raises ``DemoNotEmpty`` when
    a store or customer already exists.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    now = now or default_now()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    started, cpu = time.perf_counter(), time.process_time()
    if isinstance(target, Session):
        summary = _seed(target.connection(), customers, seed, now, progress)
    else:
        engine: Engine = getattr(target, "engine", target)
        with engine.connect() as conn:
            restore = tune_sqlite_for_bulk(conn)
            try:
                # daogou_write: SQLite takes the write lock up front (BEGIN IMMEDIATE).
                conn = conn.execution_options(daogou_write=True)
                with conn.begin():
                    summary = _seed(conn, customers, seed, now, progress)
            finally:
                restore()
    summary.seconds = time.perf_counter() - started
    summary.cpu_seconds = time.process_time() - cpu
    return summary


# ---------------------------------------------------------------------------------------------
# The run


def _seed(conn: Connection, n_customers: int, seed: int, now: dt.datetime,
          progress: Progress | None) -> DemoSummary:
    if not database_is_empty(conn):
        raise DemoNotEmpty("the database already holds stores, staff, products or customers")
    report = progress or (lambda stage, done, total: None)
    summary = DemoSummary()
    clock = _Clock(summary.timings)
    now_us = _to_us(now)
    brand = _Brand.build(seed, now_us)
    writer = ColumnWriter(conn)

    with clock("brand"):
        _write_brand(conn, brand, now, summary)
    # One transaction: on any error the caller rolls back, dropped indexes included.
    dropped = writer.drop_for_load(BULK_TABLES)
    ids = _Ids()
    n_chunks = -(-n_customers // CHUNK)
    for chunk_no in range(n_chunks):
        n = min(CHUNK, n_customers - chunk_no * CHUNK)
        rng = np.random.default_rng([seed, 1, chunk_no])
        with clock("generate"):
            chunk = _generate_chunk(rng, brand, n, ids, now_us)
            chat = _generate_chats(np.random.default_rng([seed, 2]), brand, chunk, now_us) \
                if chunk_no == 0 else None
        with clock("write"):
            writer.write("customers", chunk.customers)
            writer.write("follower_bindings", chunk.bindings)
            writer.write("channel_identities", chunk.identities)
            writer.write("orders", chunk.orders)
            writer.write("order_items", chunk.items)
        if chat is not None:
            with clock("chats"):
                conn.execute(insert(Conversation), chat.conversations)
                conn.execute(insert(Message), chat.messages)
            summary.conversations, summary.messages = len(chat.conversations), len(chat.messages)
        summary.customers += n
        summary.bindings += len(chunk.bindings["id"])
        summary.identities += len(chunk.identities["id"])
        summary.orders += len(chunk.orders["id"])
        summary.order_items += len(chunk.items["id"])
        report("customers", summary.customers, n_customers)
    with clock("derive"):
        report("derive", 0, 1)
        fill_paid_aggregates(conn)
    with clock("indexes"):
        report("indexes", 0, 1)
        writer.restore(dropped)
    writer.advance_sequences(("stores", "staff", "products", *BULK_TABLES, "conversations", "messages"))
    with clock("retag"):
        report("retag", 0, 1)
        summary.retagged = retag_everyone(conn, now)
    return summary


def retag_everyone(conn: Connection, now: dt.datetime) -> bool:
    """Give every customer its lifecycle stage and automatic tags as of ``now``, when the tag
    rules (``assistant.tags``) are installed; return whether they ran."""
    try:
        from assistant.tags import retag_all
    except ImportError:  # the tag rules are another area's; without them the derived columns stand
        return False
    from zoneinfo import ZoneInfo

    # The session joins the seed's transaction: the tags land with the brand or not at all.
    with Session(bind=conn, join_transaction_mode="rollback_only") as session:
        retag_all(session, now=now, tz=ZoneInfo(cat.BRAND_TIMEZONE))
        session.flush()
    return True


def fill_paid_aggregates(conn: Connection | Session) -> None:
    """Set paid_orders, total_spent_fen, first/last_paid_at of every customer in one UPDATE.

    A paid order is one in a paid status (paid, shipped, delivered, completed) that is not fully
    refunded; what was spent is its amount less any partial refund.
    """
    paid = (select(Order.customer_id.label("customer_id"),
                   func.count().label("n"),
                   func.sum(Order.amount_fen - Order.refund_amount_fen).label("spent"),
                   func.min(Order.paid_at).label("first"),
                   func.max(Order.paid_at).label("last"))
            .where(Order.status.in_(sorted(PAID_STATUSES)), Order.refund_amount_fen < Order.amount_fen)
            .group_by(Order.customer_id).subquery())
    conn.execute(update(Customer).where(Customer.id == paid.c.customer_id).values(
        paid_orders=paid.c.n, total_spent_fen=paid.c.spent,
        first_paid_at=paid.c.first, last_paid_at=paid.c.last))


class _Clock:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    def __call__(self, name: str) -> _Clock:
        self.name = name
        return self

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.name] = self.timings.get(self.name, 0.0) + time.perf_counter() - self.t0


@dataclass
class _Ids:
    """The next id of each bulk table (the database is empty, so ids are ours to assign)."""

    customer: int = 0
    binding: int = 0
    identity: int = 0
    order: int = 0
    item: int = 0

    def take(self, name: str, n: int) -> np.ndarray:
        start = getattr(self, name)
        setattr(self, name, start + n)
        return np.arange(start + 1, start + n + 1, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# Time helpers: all times are int64 microseconds since the Unix epoch, UTC.


def _to_us(value: dt.datetime) -> int:
    return int(round(value.timestamp() * 1_000_000))


def _from_us(value: int | np.integer) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=int(value))


NaT = np.iinfo(np.int64).min  # marks "no timestamp" in the int64 columns


def _local_day_start(us: np.ndarray) -> np.ndarray:
    """The start (in UTC µs) of the brand-local calendar day containing each instant."""
    return (us + LOCAL_OFFSET_US) // DAY_US * DAY_US - LOCAL_OFFSET_US


# Local hour-of-day weights of online shopping: lunch, and the evening peak before midnight.
_HOUR_WEIGHTS = np.array([1.2, 0.6, 0.3, 0.2, 0.1, 0.1, 0.2, 0.5, 1.0, 1.6, 2.0, 2.2,
                          2.4, 2.0, 1.8, 1.8, 1.9, 1.9, 2.0, 2.6, 3.2, 3.6, 3.4, 2.2])
_HOUR_CDF = np.cumsum(_HOUR_WEIGHTS) / _HOUR_WEIGHTS.sum()


def _time_of_day(rng: np.random.Generator, day_start: np.ndarray) -> np.ndarray:
    hours = np.searchsorted(_HOUR_CDF, rng.random(len(day_start)), side="right")
    return day_start + hours * HOUR_US + rng.integers(0, HOUR_US, len(day_start))


# ---------------------------------------------------------------------------------------------
# The brand: stores, staff, catalogue, and the season.


@dataclass
class _Brand:
    now_us: int
    store_ids: np.ndarray
    store_city: list[str]
    store_shares: np.ndarray
    clerk_ids: np.ndarray        # (stores, clerks per store)
    clerk_cdf: np.ndarray        # cumulative shares of followers per clerk, per store
    staff_rows: list[dict[str, Any]]
    product_rows: list[dict[str, Any]]
    product_ids: np.ndarray
    price_fen: np.ndarray
    usage_days: np.ndarray       # 0 for durables
    category: np.ndarray         # index into cat.CATEGORIES
    launched_us: np.ndarray      # NaT-free: products launched long ago get the window start
    fallback: np.ndarray         # an older product of the same category, for orders pre-launch
    category_products: list[np.ndarray]
    category_cdf: list[np.ndarray]
    consumables: np.ndarray      # product indexes with a cycle
    all_cdf: np.ndarray
    day_starts: np.ndarray       # local day starts over the window
    day_cdf: np.ndarray          # cumulative seasonal weight of each day
    double11: list[int]          # local day starts of each Nov 11 in the window

    @classmethod
    def build(cls, seed: int, now_us: int) -> _Brand:
        rng = np.random.default_rng([seed, 0])
        n_stores = len(cat.STORES)
        store_ids = np.arange(1, n_stores + 1, dtype=np.int64)
        shares = np.array([s[4] for s in cat.STORES])
        # staff ids: 1 = hq, 2..11 managers, then six clerks per store.
        clerk_ids = (2 + n_stores + np.arange(n_stores * cat.CLERKS_PER_STORE)).reshape(
            n_stores, cat.CLERKS_PER_STORE).astype(np.int64)
        weights = np.array([cat.FLAGSHIP_CLERK_SHARES] + [cat.CLERK_SHARES] * (n_stores - 1))
        clerk_cdf = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
        now = _from_us(now_us)
        # Hashed once for every demo login; the demo's password is weak, so every login says so.
        password_hash = generate_password_hash(DEMO_PASSWORD)
        names = _person_names(rng, 1 + n_stores * (1 + cat.CLERKS_PER_STORE),
                              rng.random(1 + n_stores * (1 + cat.CLERKS_PER_STORE)) < 0.7)
        joined = now - dt.timedelta(days=WINDOW_DAYS + 60)
        staff = [dict(id=1, username="hq", external_id="DEMO-HQ1", display_name=f"总部运营·{names[0]}",
                      password_hash=password_hash, must_change_password=True, role="hq", store_id=None,
                      locale="zh-CN", active=True, created_at=joined)]
        for s in range(n_stores):
            staff.append(dict(id=2 + s, username=f"manager{s + 1}", external_id=f"DEMO-M{s + 1:02d}",
                              display_name=f"店长·{names[1 + s]}", password_hash=password_hash,
                              must_change_password=True,
                              role="manager", store_id=int(store_ids[s]), locale="zh-CN",
                              active=True, created_at=joined))
        for s in range(n_stores):
            for k in range(cat.CLERKS_PER_STORE):
                number = s * cat.CLERKS_PER_STORE + k + 1
                staff.append(dict(id=int(clerk_ids[s, k]), username=f"clerk{number}",
                                  external_id=f"DEMO-C{number:03d}",
                                  display_name=names[1 + n_stores + number - 1],
                                  password_hash=password_hash, must_change_password=True, role="clerk",
                                  store_id=int(store_ids[s]), locale="zh-CN", active=True,
                                  created_at=joined))

        skus = [p[0] for p in cat.PRODUCTS]
        category = np.array([cat.CATEGORIES.index(p[2]) for p in cat.PRODUCTS])
        price_fen = np.array([int(round(p[3] * 100)) for p in cat.PRODUCTS], dtype=np.int64)
        usage = np.array([p[4] or 0 for p in cat.PRODUCTS], dtype=np.int64)
        popularity = np.array([p[5] for p in cat.PRODUCTS], dtype=float)
        window_start = now_us - (WINDOW_DAYS + 60) * DAY_US
        launched = np.full(len(skus), window_start, dtype=np.int64)
        for sku, days in cat.RECENT_LAUNCHES.items():
            launched[skus.index(sku)] = _local_day_start(np.array([now_us - days * DAY_US]))[0] + 10 * HOUR_US
        fallback = np.arange(len(skus))
        for i, sku in enumerate(skus):
            if sku in cat.RECENT_LAUNCHES:
                older = [j for j in range(len(skus)) if category[j] == category[i]
                         and skus[j] not in cat.RECENT_LAUNCHES and (usage[j] > 0) == (usage[i] > 0)]
                fallback[i] = older[0]
        category_products = [np.flatnonzero(category == c) for c in range(len(cat.CATEGORIES))]
        category_cdf = [np.cumsum(popularity[ix]) / popularity[ix].sum() for ix in category_products]
        product_rows = []
        for i, (sku, name, category_name, _price, usage_days, _pop) in enumerate(cat.PRODUCTS):
            product_rows.append(dict(
                id=i + 1, sku=sku, name=name, category=category_name, price_fen=int(price_fen[i]),
                usage_days=usage_days, in_stock=sku not in cat.OUT_OF_STOCK,
                launched_at=_from_us(launched[i]), created_at=_from_us(launched[i]),
                updated_at=now))

        day_starts, day_cdf, double11 = _season(now_us)
        return cls(now_us=now_us, store_ids=store_ids, store_city=[s[3] for s in cat.STORES],
                   store_shares=shares / shares.sum(), clerk_ids=clerk_ids, clerk_cdf=clerk_cdf,
                   staff_rows=staff, product_rows=product_rows,
                   product_ids=np.arange(1, len(skus) + 1, dtype=np.int64), price_fen=price_fen,
                   usage_days=usage, category=category, launched_us=launched, fallback=fallback,
                   category_products=category_products, category_cdf=category_cdf,
                   consumables=np.flatnonzero(usage > 0),
                   all_cdf=np.cumsum(popularity) / popularity.sum(),
                   day_starts=day_starts, day_cdf=day_cdf, double11=double11)


def _season(now_us: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Daily demand weights over the window: seasons, shopping festivals, Spring Festival."""
    last_day = int(_local_day_start(np.array([now_us]))[0])
    day_starts = last_day - np.arange(WINDOW_DAYS, -1, -1, dtype=np.int64) * DAY_US
    local = (day_starts + LOCAL_OFFSET_US).astype("datetime64[us]").astype("datetime64[D]")
    month = local.astype("datetime64[M]").astype(int) % 12 + 1
    mday = (local - local.astype("datetime64[M]")).astype(int) + 1
    # Autumn and winter sell more (skincare for dry skin, down jackets); summer is quieter.
    weight = np.array([1.0, 0.8, 1.0, 1.0, 1.0, 1.05, 0.9, 0.85, 0.95, 1.05, 1.1, 1.25])[month - 1]
    weight = weight.copy()
    nov = month == 11
    weight[nov & (mday <= 9)] *= 0.6        # customers hold purchases for Double-11
    weight[nov & (mday == 10)] *= 6.0       # the 尾款 (final payment) evening
    weight[nov & (mday == 11)] *= 14.0
    weight[nov & (mday >= 12) & (mday <= 13)] *= 1.5
    weight[(month == 6) & (mday == 18)] *= 5.0    # 618
    weight[(month == 6) & (mday >= 1) & (mday < 18)] *= 1.2
    weight[(month == 12) & (mday == 12)] *= 2.5   # Double-12
    weight[(month == 3) & (mday == 8)] *= 2.0     # 女王节
    # Spring Festival: couriers stop for about two weeks in late January / February.
    weight[((month == 1) & (mday >= 25)) | ((month == 2) & (mday <= 10))] *= 0.45
    cdf = np.cumsum(weight) / weight.sum()
    double11 = [int(d) for d, m, md in zip(day_starts, month, mday) if m == 11 and md == 11]
    return day_starts, cdf, double11


def _write_brand(conn: Connection, brand: _Brand, now: dt.datetime, summary: DemoSummary) -> None:
    opened = now - dt.timedelta(days=WINDOW_DAYS + 90)
    stores = [dict(id=int(brand.store_ids[i]), external_id=s[0], name=s[1], province=s[2], city=s[3],
                   timezone=cat.BRAND_TIMEZONE, created_at=opened, updated_at=opened)
              for i, s in enumerate(cat.STORES)]
    conn.execute(insert(Store), stores)
    conn.execute(insert(Staff), brand.staff_rows)
    conn.execute(insert(Product), brand.product_rows)
    summary.stores, summary.staff, summary.products = len(stores), len(brand.staff_rows), len(brand.product_rows)


# ---------------------------------------------------------------------------------------------
# People


_SURNAMES = np.array([s for s, _ in cat.SURNAMES])
_SURNAME_CDF = np.cumsum([w for _, w in cat.SURNAMES]) / sum(w for _, w in cat.SURNAMES)


def _person_names(rng: np.random.Generator, n: int, female: np.ndarray) -> list[str]:
    surname = _SURNAMES[np.searchsorted(_SURNAME_CDF, rng.random(n), side="right")]
    pool_f = np.array(cat.GIVEN_F + cat.GIVEN_ANY)
    pool_m = np.array(cat.GIVEN_M + cat.GIVEN_ANY)
    first = np.where(female, pool_f[rng.integers(0, len(pool_f), n)], pool_m[rng.integers(0, len(pool_m), n)])
    second = np.where(female, pool_f[rng.integers(0, len(pool_f), n)], pool_m[rng.integers(0, len(pool_m), n)])
    one_char = rng.random(n) < 0.3
    return [s + a + ("" if o else b) for s, a, b, o in zip(surname.tolist(), first.tolist(),
                                                          second.tolist(), one_char.tolist())]


_CITIES = list(cat.PLACES)


def _addresses(rng: np.random.Generator, n: int, home_city: list[str],
               campus: np.ndarray) -> tuple[list[str], list[str], list[str]]:
    """Shipping addresses; campus ones name a school (学校/大学/学院/中学) and a dorm."""
    elsewhere = rng.random(n) < 0.2
    other = rng.integers(0, len(_CITIES), n)
    draws = rng.integers(0, 1 << 30, (n, 7))
    addresses, cities, provinces = [], [], []
    for i in range(n):
        city = _CITIES[other[i]] if elsewhere[i] else home_city[i]
        province, districts, roads, campuses = cat.PLACES[city]
        d = draws[i]
        district = districts[d[0] % len(districts)]
        prefix = city + district if province == city else province + city + district
        if campus[i]:
            school = campuses[d[1] % len(campuses)]
            dorm = cat.DORMS[d[2] % len(cat.DORMS)]
            addresses.append(f"{prefix}{school}{dorm}{d[3] % 30 + 1}号楼{d[4] % 6 + 1}{d[5] % 30 + 1:02d}室")
        else:
            road = roads[d[1] % len(roads)]
            compound = cat.COMPOUNDS[d[2] % len(cat.COMPOUNDS)]
            addresses.append(f"{prefix}{road}{d[3] % 1800 + 1}号{compound}{d[4] % 20 + 1}栋"
                             f"{d[5] % 4 + 1}单元{d[6] % 30 + 1}{d[6] % 4 + 1:02d}室")
        cities.append(city)
        provinces.append(province)
    return addresses, cities, provinces


# ---------------------------------------------------------------------------------------------
# One chunk of customers with their bindings, identities, orders and items


@dataclass
class _Chunk:
    customers: dict[str, Any]
    bindings: dict[str, Any]
    identities: dict[str, Any]
    orders: dict[str, Any]
    items: dict[str, Any]
    owner_clerk: np.ndarray
    unpaid_recent: np.ndarray        # customer positions holding a recent unpaid order
    fav: np.ndarray                  # favourite consumable product index, -1 when none
    last_paid_us: np.ndarray


def _generate_chunk(rng: np.random.Generator, brand: _Brand, n: int, ids: _Ids, now_us: int) -> _Chunk:
    cust_id = ids.take("customer", n)
    store = np.searchsorted(np.cumsum(brand.store_shares), rng.random(n), side="right").clip(0, len(brand.store_ids) - 1)
    clerk_k = (rng.random(n)[:, None] > brand.clerk_cdf[store]).sum(axis=1).clip(0, cat.CLERKS_PER_STORE - 1)
    owner = brand.clerk_ids[store, clerk_k]

    # Who they are and how they shop.
    archetype = np.searchsorted(np.cumsum(cat.ARCHETYPE_SHARES), rng.random(n), side="right").clip(0, 3)
    female = rng.random(n) < np.where(archetype == 3, 0.45, 0.72)
    prospect = rng.random(n) < 0.10               # registered, never really bought
    window_start = now_us - WINDOW_DAYS * DAY_US
    # Nearly half were already members when the window opens (their history before it is not
    # generated); the rest joined since, and some were won on a Double-11.
    join = np.where(rng.random(n) < 0.5,
                    window_start - rng.integers(0, 150 * DAY_US, n),
                    window_start + (rng.random(n) * (WINDOW_DAYS - 1) * DAY_US).astype(np.int64))
    won_on_d11 = (rng.random(n) < 0.06) & (len(brand.double11) > 0)
    if brand.double11:
        d11_day = np.array(brand.double11)[rng.integers(0, len(brand.double11), n)]
        join = np.where(won_on_d11, d11_day + rng.integers(0, 2 * HOUR_US, n), join)
    join = np.minimum(join, now_us - HOUR_US)

    has_fav = (archetype <= 1) | (rng.random(n) < 0.35)
    fav_cat = np.where(archetype <= 1, archetype, rng.integers(0, 2, n))
    fav = np.full(n, -1, dtype=np.int64)
    for c in (0, 1):
        pick = has_fav & (fav_cat == c)
        fav[pick] = brand.category_products[c][
            np.searchsorted(brand.category_cdf[c], rng.random(pick.sum()), side="right").clip(0, len(brand.category_products[c]) - 1)]
    fav_qty = np.searchsorted([0.6, 0.9, 1.0], rng.random(n), side="right").clip(0, 2) + 1
    # Loyalty: probability of lapsing after each cycle (loyal, regular, fickle).
    lapse = np.array([0.02, 0.08, 0.3])[np.searchsorted([0.35, 0.8, 1.0], rng.random(n), side="right").clip(0, 2)]
    cycles = np.where(has_fav & ~prospect, rng.geometric(lapse), 0).clip(0, MAX_CYCLES)

    # Replenishment orders: one per cycle of usage_days × quantity, noisy, sometimes late.
    usage = np.where(fav >= 0, brand.usage_days[np.maximum(fav, 0)], 30)
    base = usage * fav_qty * DAY_US
    noise = rng.lognormal(0.0, 0.2, (n, MAX_CYCLES)) * (1 + (rng.random((n, MAX_CYCLES)) < 0.2) * rng.exponential(0.4, (n, MAX_CYCLES)))
    gaps = (base[:, None] * noise).astype(np.int64)
    gaps[:, 0] = 0
    cycle_t = join[:, None] + np.cumsum(gaps, axis=1)
    cycle_ok = (np.arange(MAX_CYCLES)[None, :] < cycles[:, None]) & (cycle_t < now_us) & (cycle_t >= window_start)
    cyc_cust, cyc_k = np.nonzero(cycle_ok)
    cyc_time = cycle_t[cyc_cust, cyc_k]
    # The customer stays around for impulse buys until a while after the last cycle.
    last_cycle = np.where(cycles > 0, cycle_t[np.arange(n), np.maximum(cycles - 1, 0)], join)
    active_end = np.where(cycles > 0, last_cycle + (usage * fav_qty * DAY_US * rng.random(n)).astype(np.int64),
                          join + (rng.exponential(300, n) * DAY_US).astype(np.int64))
    active_end = np.minimum(active_end, now_us)

    # Impulse orders, following the season, inside the active period.
    rate = np.array(cat.IMPULSE_PER_YEAR)[archetype] * rng.gamma(2.0, 0.5, n)
    active_start = np.maximum(join, window_start)
    active_days = np.maximum(active_end - active_start, 0) / DAY_US
    impulses = np.where(prospect, 0, rng.poisson(rate * active_days / 365)).clip(0, 40)
    # Durable-only buyers need a first order when they join.
    first_impulse = ~prospect & (cycles == 0)
    imp_cust = np.repeat(np.arange(n), impulses)
    imp_time = _seasonal_times(rng, brand, active_start[imp_cust], active_end[imp_cust])
    first_cust = np.flatnonzero(first_impulse & (join >= window_start))
    first_time = join[first_cust]

    # Double-11 basket orders from customers active at the time.
    d11_cust_parts, d11_time_parts = [], []
    for day in brand.double11:
        active = (~prospect) & (join <= day) & (active_end + 30 * DAY_US >= day) & ~(won_on_d11 & (join >= day))
        pick = np.flatnonzero(active & (rng.random(n) < 0.33))
        # 尾款 from 20:00 on Nov 10, or the first two hours of Nov 11 (local time).
        eve = rng.random(len(pick)) < 0.4
        offs = np.where(eve, -4 * HOUR_US + rng.integers(0, 4 * HOUR_US, len(pick)),
                        rng.integers(0, 2 * HOUR_US, len(pick)))
        d11_cust_parts.append(pick)
        d11_time_parts.append(day + offs)
    d11_cust = np.concatenate(d11_cust_parts) if d11_cust_parts else np.zeros(0, np.int64)
    d11_time = np.concatenate(d11_time_parts) if d11_time_parts else np.zeros(0, np.int64)

    # Prospects sometimes leave an order unpaid; and a few customers hold a recent unpaid
    # order worth chasing (催付), most of them over ¥100.
    abandon_cust = np.flatnonzero(prospect & (rng.random(n) < 0.3) & (join >= window_start))
    abandon_time = join[abandon_cust] + rng.integers(0, 3 * DAY_US, len(abandon_cust))
    n_nudge = max(3, int(round(n * 0.015)))
    nudge_cust = np.sort(rng.choice(n, size=min(n, n_nudge), replace=False))
    nudge_time = now_us - rng.integers(HOUR_US, 46 * HOUR_US, len(nudge_cust))

    # All orders of the chunk: kind 0 cycle, 1 impulse/first, 2 Double-11, 3 abandoned, 4 nudge.
    o_cust = np.concatenate([cyc_cust, imp_cust, first_cust, d11_cust, abandon_cust, nudge_cust])
    o_time = np.concatenate([cyc_time, imp_time, first_time, d11_time, abandon_time, nudge_time])
    kind = np.concatenate([np.zeros(len(cyc_cust), np.int8), np.ones(len(imp_cust) + len(first_cust), np.int8),
                           np.full(len(d11_cust), 2, np.int8), np.full(len(abandon_cust), 3, np.int8),
                           np.full(len(nudge_cust), 4, np.int8)])
    # Cycle and impulse orders get a realistic time of day (the festival ones already have it),
    # never before the customer registered nor in the last minutes.
    retime = kind <= 1
    o_time[retime] = _time_of_day(rng, _local_day_start(o_time[retime]))
    created = np.minimum(join - rng.integers(0, 3 * DAY_US, n), join)
    o_time = np.clip(o_time, created[o_cust] + 60_000_000, now_us - 10 * 60_000_000)
    order_sort = np.lexsort((o_time, o_cust))
    o_cust, o_time, kind = o_cust[order_sort], o_time[order_sort], kind[order_sort]
    m = len(o_cust)

    # Main product: the favourite for cycle orders, else by the customer's category.
    own_cat = np.where(rng.random(m) < 0.7, archetype[o_cust], rng.integers(0, 4, m))
    main = _pick_in_category(rng, brand, own_cat)
    main = np.where(kind == 0, fav[o_cust], main)
    pricey = (kind == 4) & (rng.random(m) < 0.8)
    main = np.where(pricey & (brand.price_fen[main] < 10_000), _pricey_product(rng, brand, m), main)
    main_qty = np.where(kind == 0, fav_qty[o_cust], 1 + (rng.random(m) < 0.15))
    extra = np.select([kind == 2, kind == 0], [1 + rng.integers(0, 3, m), (rng.random(m) < 0.25).astype(int)],
                      (rng.random(m) < 0.35).astype(int) + (rng.random(m) < 0.08))
    n_items = 1 + extra
    item_order = np.repeat(np.arange(m), n_items)
    first_of = np.cumsum(n_items) - n_items
    pos = np.arange(len(item_order)) - first_of[item_order]
    n_products = len(brand.product_ids)
    # Extra lines are other popular products, never the main one again.
    extra_product = _pick_any(rng, brand, len(item_order))
    extra_product = np.where(extra_product == main[item_order], (extra_product + 1) % n_products, extra_product)
    item_product = np.where(pos == 0, main[item_order], extra_product)
    item_product = np.where(brand.launched_us[item_product] > o_time[item_order],
                            brand.fallback[item_product], item_product)
    item_qty = np.where(pos == 0, main_qty[item_order], 1 + (rng.random(len(item_order)) < 0.1)).astype(np.int64)
    festival = kind[item_order] == 2
    item_price = np.where(festival, brand.price_fen[item_product] * 8 // 10, brand.price_fen[item_product])
    amount = np.bincount(item_order, weights=item_qty * item_price, minlength=m).astype(np.int64)

    status, ts, refund = _statuses(rng, kind, o_time, amount, item_order, item_qty * item_price, now_us)

    order_id = ids.take("order", m)
    item_id = ids.take("item", len(item_order))
    in_store = ts["in_store"]
    order_store = brand.store_ids[store[o_cust]]
    order_clerk = np.where(in_store | (rng.random(m) < 0.3), owner[o_cust], 0)

    paid = np.isin(status, list(PAID_STATUSES)) & (refund < amount)
    spent = np.bincount(o_cust[paid], weights=(amount - refund)[paid], minlength=n)
    last_paid = np.full(n, NaT, dtype=np.int64)
    np.maximum.at(last_paid, o_cust[paid], ts["paid_at"][paid])
    level = np.searchsorted([80_000, 300_000, 1_000_000], spent, side="right")

    customers = _people(rng, brand, cust_id, store, female, created, level, now_us)
    bindings, identities = _follows(rng, brand, ids, customers, store, clerk_k, owner, join, created, now_us)

    orders = {
        "id": order_id,
        "external_id": [f"DEMO-O{i:010d}" for i in order_id.tolist()],
        "customer_id": cust_id[o_cust],
        "store_id": order_store,
        "clerk_id": np.where(order_clerk > 0, order_clerk, None).astype(object),
        "status": status,
        "amount_fen": amount, "refund_amount_fen": refund,
        "created_at": _ts(o_time),
        "paid_at": _ts(ts["paid_at"]), "shipped_at": _ts(ts["shipped_at"]),
        "delivered_at": _ts(ts["delivered_at"]), "completed_at": _ts(ts["completed_at"]),
        "cancelled_at": _ts(ts["cancelled_at"]), "refunded_at": _ts(ts["refunded_at"]),
        "updated_at": _ts(ts["updated_at"]),
    }
    items = {
        "id": item_id, "order_id": order_id[item_order],
        "product_id": brand.product_ids[item_product],
        "quantity": item_qty, "price_fen": item_price.astype(np.int64),
    }
    unpaid = np.unique(o_cust[status == "created"])
    return _Chunk(customers=customers, bindings=bindings, identities=identities, orders=orders,
                  items=items, owner_clerk=owner, unpaid_recent=unpaid, fav=fav, last_paid_us=last_paid)


def _people(rng: np.random.Generator, brand: _Brand, cust_id: np.ndarray, store: np.ndarray,
            female: np.ndarray, created: np.ndarray, level: np.ndarray, now_us: int) -> dict[str, Any]:
    """Customer rows: names, phones, e-mails, birthdays, addresses (some on campus)."""
    n = len(cust_id)
    ages = np.where(rng.random(n) < 0.08, rng.integers(17, 24, n), rng.integers(20, 58, n))
    campus = (ages <= 23) & (rng.random(n) < 0.7) | (rng.random(n) < 0.02)
    names = _person_names(rng, n, female)
    addresses, cities, provinces = _addresses(rng, n, [brand.store_city[s] for s in store], campus)
    now_date = _from_us(now_us).date()
    birth_year = now_date.year - ages
    birthday = ((birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
                + rng.integers(0, 365, n))
    has_birthday = rng.random(n) < 0.9
    prefix = np.array(cat.PHONE_PREFIXES)[rng.integers(0, len(cat.PHONE_PREFIXES), n)]
    # An affine permutation of the customer id keeps phone numbers unique without a lookup.
    tail = (cust_id * 48_271 + 7_919) % 100_000_000
    phones = [p + f"{t:08d}" for p, t in zip(prefix.tolist(), tail.tolist())]
    has_email = rng.random(n) < 0.25
    domain = np.array(cat.EMAIL_DOMAINS)[rng.integers(0, len(cat.EMAIL_DOMAINS), n)]
    qq = rng.integers(10_000_000, 3_999_999_999, n)
    emails = [f"{q}@{d}" if e else None for q, d, e in zip(qq.tolist(), domain.tolist(), has_email.tolist())]

    customers = {
        "id": cust_id,
        "external_id": [f"DEMO-C{i:08d}" for i in cust_id.tolist()],
        "name": names, "phone": phones, "email": emails,
        "gender": np.where(rng.random(n) < 0.03, None, np.where(female, "F", "M")).astype(object),
        "birthday": np.where(has_birthday, birthday, np.datetime64("NaT")).astype("datetime64[D]"),
        "address": addresses, "city": cities, "province": provinces,
        "member_level": np.array(cat.MEMBER_LEVELS, dtype=object)[level],
        "home_store_id": brand.store_ids[store],
        "created_at": _ts(created), "updated_at": _ts(np.full(n, now_us)),
        "stage": np.full(n, None, dtype=object),
        "paid_orders": np.zeros(n, np.int64), "total_spent_fen": np.zeros(n, np.int64),
        "first_paid_at": _ts(np.full(n, NaT)), "last_paid_at": _ts(np.full(n, NaT)),
        "last_contacted_at": _ts(np.full(n, NaT)), "last_inbound_at": _ts(np.full(n, NaT)),
    }
    return customers


def _follows(rng: np.random.Generator, brand: _Brand, ids: _Ids, customers: dict[str, Any],
             store: np.ndarray, clerk_k: np.ndarray, owner: np.ndarray, join: np.ndarray,
             created: np.ndarray, now_us: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Follower bindings to clerks and the channel identities that reach each customer."""
    cust_id = customers["id"]
    n = len(cust_id)
    # Bindings: every customer has an owner clerk; most through the demo's loopback channel so
    # sends go end to end, some through WeCom or the Official Account. A few also follow a
    # second clerk of the store (not the owner).
    channel_roll = rng.random(n)
    owner_channel = np.where(channel_roll < 0.85, "loopback", np.where(channel_roll < 0.95, "wecom", "wechat-oa")).astype(object)
    second = rng.random(n) < 0.05
    second_k = (clerk_k + 1 + rng.integers(0, cat.CLERKS_PER_STORE - 1, n)) % cat.CLERKS_PER_STORE
    b_cust = np.concatenate([np.arange(n), np.flatnonzero(second)])
    nb = len(b_cust)
    bindings = {
        "id": ids.take("binding", nb),
        "customer_id": cust_id[b_cust],
        "clerk_id": np.concatenate([owner, brand.clerk_ids[store[second], second_k[second]]]),
        "channel": np.concatenate([owner_channel, np.full(second.sum(), "wecom", dtype=object)]),
        "is_owner": np.concatenate([np.ones(n, bool), np.zeros(second.sum(), bool)]),
        "since": _ts(np.concatenate([created, join[second] + rng.integers(DAY_US, 60 * DAY_US, second.sum())]).clip(max=now_us)),
        "ended_at": _ts(np.full(nb, NaT)),
        "end_reason": np.full(nb, None, dtype=object),
    }
    # Identities: loopback for everyone; a WeCom external_userid or an OA openid when bound so.
    wecom = (owner_channel == "wecom") | second
    oa = owner_channel == "wechat-oa"
    i_cust = np.concatenate([np.arange(n), np.flatnonzero(wecom), np.flatnonzero(oa)])
    ext = customers["external_id"]
    token = rng.integers(0, 1 << 62, len(i_cust))
    identities = {
        "id": ids.take("identity", len(i_cust)),
        "customer_id": cust_id[i_cust],
        "channel": np.concatenate([np.full(n, "loopback", dtype=object), np.full(wecom.sum(), "wecom", dtype=object),
                                   np.full(oa.sum(), "wechat-oa", dtype=object)]),
        "account": np.concatenate([np.full(n, "", dtype=object), np.full(wecom.sum(), "demo-corp", dtype=object),
                                   np.full(oa.sum(), "demo-oa", dtype=object)]),
        "external_id": [f"lb-{ext[c]}" for c in range(n)]
        + [f"wm{t:016x}{cid}" for t, cid in zip(token[n:n + wecom.sum()].tolist(), cust_id[wecom].tolist())]
        + [f"o{t:016x}{cid}" for t, cid in zip(token[n + wecom.sum():].tolist(), cust_id[oa].tolist())],
        "created_at": _ts(np.concatenate([created, created[wecom], created[oa]])),
    }
    return bindings, identities


def _pick_in_category(rng: np.random.Generator, brand: _Brand, category: np.ndarray) -> np.ndarray:
    out = np.zeros(len(category), dtype=np.int64)
    u = rng.random(len(category))
    for c, products in enumerate(brand.category_products):
        mask = category == c
        out[mask] = products[np.searchsorted(brand.category_cdf[c], u[mask], side="right").clip(0, len(products) - 1)]
    return out


def _pick_any(rng: np.random.Generator, brand: _Brand, n: int) -> np.ndarray:
    return np.searchsorted(brand.all_cdf, rng.random(n), side="right").clip(0, len(brand.all_cdf) - 1)


def _pricey_product(rng: np.random.Generator, brand: _Brand, n: int) -> np.ndarray:
    pricey = np.flatnonzero(brand.price_fen >= 10_000)
    return pricey[rng.integers(0, len(pricey), n)]


def _seasonal_times(rng: np.random.Generator, brand: _Brand, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Instants between start and end drawn from the seasonal day weights (inverse CDF)."""
    if len(start) == 0:
        return np.zeros(0, dtype=np.int64)
    days = brand.day_starts
    lo_i = np.searchsorted(days, start, side="right") - 1
    hi_i = np.searchsorted(days, end, side="right") - 1
    cdf0 = np.concatenate([[0.0], brand.day_cdf])
    lo, hi = cdf0[lo_i.clip(0)], cdf0[(hi_i + 1).clip(0, len(days))]
    day = np.searchsorted(brand.day_cdf, lo + rng.random(len(start)) * (hi - lo), side="right").clip(0, len(days) - 1)
    return np.clip(days[day] + rng.integers(0, DAY_US, len(start)), start, np.maximum(end, start))


def _statuses(rng: np.random.Generator, kind: np.ndarray, created: np.ndarray, amount: np.ndarray,
              item_order: np.ndarray, line_value: np.ndarray, now_us: int) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Status and per-status timestamps of each order as of ``now``, and refunded amounts."""
    m = len(kind)
    minute = 60_000_000
    age = now_us - created
    in_store = (kind <= 1) & (rng.random(m) < 0.35)
    abandoned = (kind >= 3) | ((kind <= 2) & (rng.random(m) < 0.02))
    paid_at = created + (rng.exponential(4, m) * minute).astype(np.int64) + minute // 2
    # Orders placed minutes before ``now`` and not paid yet are simply unpaid too.
    pending = ~abandoned & (paid_at > now_us)
    cancelled = abandoned & ~(kind == 4) & (age >= 2 * DAY_US)
    unpaid = (abandoned & ~cancelled) | pending
    abandoned = abandoned | pending
    shipped_at = paid_at + rng.integers(4 * HOUR_US, 48 * HOUR_US, m)
    delivered_at = shipped_at + rng.integers(DAY_US, 4 * DAY_US, m)
    completed_at = np.where(rng.random(m) < 0.6, delivered_at + 7 * DAY_US,
                            delivered_at + rng.integers(HOUR_US, 7 * DAY_US, m))
    completed_at = np.where(in_store, paid_at + rng.integers(minute, 10 * minute, m), completed_at)
    shipped_at = np.where(in_store, NaT, shipped_at)
    delivered_at = np.where(in_store, NaT, delivered_at)
    cancelled_at = created + rng.integers(30 * minute, DAY_US, m)

    def done(ts: np.ndarray) -> np.ndarray:
        return (ts != NaT) & (ts <= now_us)

    status = np.full(m, "paid", dtype=object)
    status[done(shipped_at)] = "shipped"
    status[done(delivered_at)] = "delivered"
    status[done(completed_at)] = "completed"

    # Refunds happen after receipt: full ones end the order, partial ones keep its status.
    receipt = np.where(in_store, completed_at, delivered_at)
    refunded_at = receipt + rng.integers(HOUR_US, 7 * DAY_US, m)
    roll = rng.random(m)
    can_refund = ~abandoned & done(receipt) & (refunded_at <= now_us)
    full = can_refund & (roll < 0.025)
    partial = can_refund & (roll >= 0.025) & (roll < 0.045)
    # A partial refund returns the first line (or a third of a one-line order).
    first_line = np.zeros(m, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, item_order[1:] != item_order[:-1]])
    first_line[item_order[starts]] = line_value[starts].astype(np.int64)
    partial_amount = np.where(first_line < amount, first_line, amount // 3)
    refund = np.where(full, amount, np.where(partial, partial_amount, 0)).astype(np.int64)
    status[full] = "refunded"
    completed_at = np.where(full & ~in_store, NaT, completed_at)
    status[unpaid] = "created"
    status[cancelled] = "cancelled"

    keep = lambda ts, mask: np.where(mask & done(ts), ts, NaT)  # noqa: E731
    live = ~abandoned
    stamps = {
        "in_store": in_store,
        "paid_at": np.where(live, paid_at, NaT),
        "shipped_at": keep(shipped_at, live),
        "delivered_at": keep(delivered_at, live),
        "completed_at": keep(completed_at, live),
        "cancelled_at": np.where(cancelled, np.minimum(cancelled_at, now_us), NaT),
        "refunded_at": np.where(full | partial, refunded_at, NaT),
    }
    # A full refund stops the order where it was; nothing after the refund happened.
    for name in ("shipped_at", "delivered_at", "completed_at"):
        stamps[name] = np.where(full & (stamps[name] != NaT) & (stamps[name] > refunded_at), NaT, stamps[name])
    stamps["updated_at"] = np.max(np.stack([created] + [np.where(stamps[k] == NaT, 0, stamps[k]) for k in
                                                          ("paid_at", "shipped_at", "delivered_at", "completed_at",
                                                           "cancelled_at", "refunded_at")]), axis=0)
    return status, stamps, refund


def _ts(us: np.ndarray) -> np.ndarray:
    """int64 µs (NaT sentinel) → datetime64[us] with real NaT, in whole seconds as POS and
    e-shop exports record them."""
    us = np.asarray(us, dtype=np.int64)
    out = np.where(us == NaT, NaT, us // 1_000_000 * 1_000_000)
    return out.view("datetime64[us]")


# ---------------------------------------------------------------------------------------------
# Chat history for clerk1 and a few other clerks (first chunk only: it is a showcase)


@dataclass
class _Chats:
    conversations: list[dict[str, Any]]
    messages: list[dict[str, Any]]


def _generate_chats(rng: np.random.Generator, brand: _Brand, chunk: _Chunk, now_us: int) -> _Chats:
    """Threads of questions and answers, 催付 and replenishment nudges, some left unread."""
    from app.messaging.actions import PREVIEW_CHARS

    names = [p[1] for p in cat.PRODUCTS]
    clerks = [(int(brand.clerk_ids[0, 0]), 36), (int(brand.clerk_ids[0, 1]), 10)] + \
        [(int(brand.clerk_ids[s, 0]), 8) for s in range(1, len(brand.store_ids))]
    customers = chunk.customers
    unpaid = set(chunk.unpaid_recent.tolist())
    conversations: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    last_in = customers["last_inbound_at"].view(np.int64)
    last_out = customers["last_contacted_at"].view(np.int64)
    minute = 60_000_000
    for clerk_id, wanted in clerks:
        book = np.flatnonzero(chunk.owner_clerk == clerk_id)
        # Prefer followers who bought recently or hold an unpaid order: those are the chats.
        recency = np.where(chunk.last_paid_us[book] == NaT, 0, chunk.last_paid_us[book])
        recency = recency + np.isin(book, chunk.unpaid_recent) * (1 << 60)
        chosen = book[np.argsort(-recency, kind="stable")[:wanted]]
        for pos in sorted(chosen.tolist()):
            product = names[chunk.fav[pos]] if chunk.fav[pos] >= 0 else names[int(rng.integers(0, len(names)))]
            t = now_us - int(rng.integers(2 * DAY_US, 20 * DAY_US))
            thread: list[tuple[str, str, str]] = []  # (direction, body, purpose)
            if pos in unpaid:
                thread.append(("out", cat.NUDGE_UNPAID, "marketing"))
                t = now_us - int(rng.integers(2 * HOUR_US, 20 * HOUR_US))
            elif chunk.fav[pos] >= 0 and rng.random() < 0.3:
                thread.append(("out", cat.NUDGE_REPLENISH.format(product=product), "marketing"))
            else:
                k = int(rng.integers(0, len(cat.INBOUND_OPENERS)))
                thread.append(("in", cat.INBOUND_OPENERS[k].format(product=product), "service"))
                thread.append(("out", cat.OUTBOUND_REPLIES[k].format(product=product), "service"))
            for _ in range(int(rng.integers(0, 3))):
                thread.append(("in", cat.FOLLOW_UPS_IN[int(rng.integers(0, len(cat.FOLLOW_UPS_IN)))], "service"))
                thread.append(("out", cat.FOLLOW_UPS_OUT[int(rng.integers(0, len(cat.FOLLOW_UPS_OUT)))], "service"))
            unread = 0
            if rng.random() < 0.4:  # the customer wrote last and the clerk has not read it yet
                unread = int(rng.integers(1, 3))
                for _ in range(unread):
                    thread.append(("in", cat.INBOUND_OPENERS[int(rng.integers(0, len(cat.INBOUND_OPENERS)))]
                                   .format(product=product), "service"))
            conv_id = len(conversations) + 1
            times = t + np.cumsum(rng.integers(minute, 6 * HOUR_US, len(thread)))
            times = np.minimum(times, now_us - minute * (len(thread) - np.arange(len(thread))))
            times = times // 1_000_000 * 1_000_000  # whole seconds, like every demo timestamp
            for i, ((direction, body, purpose), when) in enumerate(zip(thread, times.tolist())):
                msg_id = len(messages) + 1
                later_inbound = any(d == "in" for d, _, _ in thread[i + 1:])
                messages.append(dict(
                    id=msg_id, conversation_id=conv_id, direction=direction, channel="loopback",
                    account=None, type="text", body=body, payload=None,
                    external_id=f"demo-{direction}-{msg_id}", client_id=None,
                    sender_id=clerk_id if direction == "out" else None, purpose=purpose,
                    status="received" if direction == "in" else ("read" if later_inbound else "delivered"),
                    error=None, created_at=_from_us(when),
                    status_at=_from_us(when + 2_000_000) if direction == "out" else None))
            inbound = [w for (d, _, _), w in zip(thread, times.tolist()) if d == "in"]
            outbound = [w for (d, _, _), w in zip(thread, times.tolist()) if d == "out"]
            conversations.append(dict(
                id=conv_id, customer_id=int(customers["id"][pos]), clerk_id=clerk_id,
                last_channel="loopback", last_message_at=_from_us(int(times[-1])),
                last_message_preview=thread[-1][1][:PREVIEW_CHARS],
                last_inbound_at=_from_us(max(inbound)) if inbound else None,
                unread_count=unread, created_at=_from_us(int(times[0]))))
            if inbound:
                last_in[pos] = max(inbound)
            if outbound:
                last_out[pos] = max(outbound)
    return _Chats(conversations, messages)
