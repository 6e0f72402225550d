"""The demo brand itself: stores, staff logins, the catalogue, and the season its customers follow.

``Brand.build(seed, now_us)`` draws the staff names from its own random stream and lays out
everything else from ``app.demo.catalogue``; the customer generators read the brand's columns
(clerks per store and their shares of followers, prices, usage cycles, launch dates, the daily
demand weights of the season).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, insert
from werkzeug.security import generate_password_hash

from app.demo import catalogue as cat
from app.demo.columns import (DAY_US, HOUR_US, LOCAL_OFFSET_US, WINDOW_DAYS, from_us,
                              local_day_start)
from app.demo.people import person_names
from models import Product, Staff, Store

DEMO_PASSWORD = "demo"


@dataclass
class Brand:
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
    def build(cls, seed: int, now_us: int) -> Brand:
        rng = np.random.default_rng([seed, 0])
        n_stores = len(cat.STORES)
        store_ids = np.arange(1, n_stores + 1, dtype=np.int64)
        shares = np.array([s[4] for s in cat.STORES])
        # staff ids: 1 = hq, 2..11 managers, then six clerks per store.
        clerk_ids = (2 + n_stores + np.arange(n_stores * cat.CLERKS_PER_STORE)).reshape(
            n_stores, cat.CLERKS_PER_STORE).astype(np.int64)
        weights = np.array([cat.FLAGSHIP_CLERK_SHARES] + [cat.CLERK_SHARES] * (n_stores - 1))
        clerk_cdf = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
        staff = _staff_rows(rng, store_ids, clerk_ids, from_us(now_us))
        day_starts, day_cdf, double11 = _season(now_us)
        return cls(now_us=now_us, store_ids=store_ids, store_city=[s[3] for s in cat.STORES],
                   store_shares=shares / shares.sum(), clerk_ids=clerk_ids, clerk_cdf=clerk_cdf,
                   staff_rows=staff, **_catalogue(now_us),
                   day_starts=day_starts, day_cdf=day_cdf, double11=double11)


def _staff_rows(rng: np.random.Generator, store_ids: np.ndarray, clerk_ids: np.ndarray,
                now: dt.datetime) -> list[dict[str, Any]]:
    """Head office, a manager per store and its clerks, all with the demo's password."""
    n_stores = len(store_ids)
    # Hashed once for every demo login; the demo's password is weak, so every login says so.
    password_hash = generate_password_hash(DEMO_PASSWORD)
    names = person_names(rng, 1 + n_stores * (1 + cat.CLERKS_PER_STORE),
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
    return staff


def _catalogue(now_us: int) -> dict[str, Any]:
    """The product rows and the columns the order generators draw products from."""
    now = from_us(now_us)
    skus = [p[0] for p in cat.PRODUCTS]
    category = np.array([cat.CATEGORIES.index(p[2]) for p in cat.PRODUCTS])
    price_fen = np.array([int(round(p[3] * 100)) for p in cat.PRODUCTS], dtype=np.int64)
    usage = np.array([p[4] or 0 for p in cat.PRODUCTS], dtype=np.int64)
    popularity = np.array([p[5] for p in cat.PRODUCTS], dtype=float)
    window_start = now_us - (WINDOW_DAYS + 60) * DAY_US
    launched = np.full(len(skus), window_start, dtype=np.int64)
    for sku, days in cat.RECENT_LAUNCHES.items():
        launched[skus.index(sku)] = local_day_start(np.array([now_us - days * DAY_US]))[0] + 10 * HOUR_US
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
            launched_at=from_us(launched[i]), created_at=from_us(launched[i]),
            updated_at=now))
    return dict(product_rows=product_rows, product_ids=np.arange(1, len(skus) + 1, dtype=np.int64),
                price_fen=price_fen, usage_days=usage, category=category, launched_us=launched,
                fallback=fallback, category_products=category_products, category_cdf=category_cdf,
                consumables=np.flatnonzero(usage > 0), all_cdf=np.cumsum(popularity) / popularity.sum())


def _season(now_us: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Daily demand weights over the window: seasons, shopping festivals, Spring Festival."""
    last_day = int(local_day_start(np.array([now_us]))[0])
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


def write_brand(conn: Connection, brand: Brand, now: dt.datetime) -> tuple[int, int, int]:
    """Insert the stores, staff and products; return how many of each."""
    opened = now - dt.timedelta(days=WINDOW_DAYS + 90)
    stores = [dict(id=int(brand.store_ids[i]), external_id=s[0], name=s[1], province=s[2], city=s[3],
                   timezone=cat.BRAND_TIMEZONE, created_at=opened, updated_at=opened)
              for i, s in enumerate(cat.STORES)]
    conn.execute(insert(Store), stores)
    conn.execute(insert(Staff), brand.staff_rows)
    conn.execute(insert(Product), brand.product_rows)
    return len(stores), len(brand.staff_rows), len(brand.product_rows)
