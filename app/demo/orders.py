"""One chunk of demo customers with their orders: who buys what, when, and how each order ends.

``generate_chunk`` draws the chunk's shoppers (store, owning clerk, archetype, favourite
consumable, loyalty), then the order streams of the module docstring of ``app.demo.generate``:
replenishment cycles, seasonal impulse buys, Double-11 baskets, abandoned and recent unpaid
orders. Each order gets its lines and its status history as of ``now``; the customers' rows and
follower bindings come from ``app.demo.people``. Every draw comes from the chunk's own random
stream in a fixed order, so a seed always gives the same chunk.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.demo import catalogue as cat
from app.demo.brand import Brand
from app.demo.columns import (DAY_US, HOUR_US, WINDOW_DAYS, NaT, Ids, local_day_start, time_of_day,
                              timestamps)
from app.demo.people import customer_columns, follower_columns
from models.commerce import PAID_STATUSES

MAX_CYCLES = 48
Stream = tuple[np.ndarray, np.ndarray]  # (customer positions, order times) of one kind of order


@dataclass
class Chunk:
    customers: dict[str, Any]
    bindings: dict[str, Any]
    identities: dict[str, Any]
    orders: dict[str, Any]
    items: dict[str, Any]
    owner_clerk: np.ndarray
    unpaid_recent: np.ndarray        # customer positions holding a recent unpaid order
    fav: np.ndarray                  # favourite consumable product index, -1 when none
    last_paid_us: np.ndarray


@dataclass
class _Shoppers:
    """Per-customer columns of a chunk: where they shop, when they joined, what they rebuy."""

    store: np.ndarray
    clerk_k: np.ndarray
    owner: np.ndarray
    archetype: np.ndarray
    female: np.ndarray
    prospect: np.ndarray             # registered, never really bought
    join: np.ndarray
    won_on_d11: np.ndarray
    fav: np.ndarray
    fav_qty: np.ndarray
    cycles: np.ndarray               # replenishment cycles before they lapse


def generate_chunk(rng: np.random.Generator, brand: Brand, n: int, ids: Ids, now_us: int) -> Chunk:
    """``n`` customers with their bindings, identities, orders and items."""
    cust_id = ids.take("customer", n)
    sh = _draw_shoppers(rng, brand, n, now_us)
    cycle, active_end = _cycle_orders(rng, brand, sh, now_us)
    impulse, first = _impulse_orders(rng, brand, sh, active_end, now_us)
    d11 = _double11_orders(rng, brand, sh, active_end)
    abandoned, nudge = _unpaid_orders(rng, sh, now_us)
    # Kinds: 0 cycle, 1 impulse/first, 2 Double-11, 3 abandoned, 4 nudge.
    o_cust, o_time, kind, created = _place_orders(
        rng, sh, [(cycle, 0), (impulse, 1), (first, 1), (d11, 2), (abandoned, 3), (nudge, 4)], now_us)
    m = len(o_cust)
    item_order, item_product, item_qty, item_price, amount = _order_lines(rng, brand, sh, o_cust, o_time, kind)

    status, stamps, refund = _statuses(rng, kind, o_time, amount, item_order, item_qty * item_price, now_us)

    order_id = ids.take("order", m)
    item_id = ids.take("item", len(item_order))
    order_store = brand.store_ids[sh.store[o_cust]]
    order_clerk = np.where(stamps["in_store"] | (rng.random(m) < 0.3), sh.owner[o_cust], 0)

    paid = np.isin(status, list(PAID_STATUSES)) & (refund < amount)
    spent = np.bincount(o_cust[paid], weights=(amount - refund)[paid], minlength=n)
    last_paid = np.full(n, NaT, dtype=np.int64)
    np.maximum.at(last_paid, o_cust[paid], stamps["paid_at"][paid])
    level = np.searchsorted([80_000, 300_000, 1_000_000], spent, side="right")

    customers = customer_columns(rng, brand, cust_id, sh.store, sh.female, created, level, now_us)
    bindings, identities = follower_columns(rng, brand, ids, customers, sh.store, sh.clerk_k, sh.owner,
                                            sh.join, created, now_us)
    orders = _order_columns(order_id, cust_id[o_cust], order_store, order_clerk, status, amount, refund,
                            o_time, stamps)
    items = {
        "id": item_id, "order_id": order_id[item_order],
        "product_id": brand.product_ids[item_product],
        "quantity": item_qty, "price_fen": item_price.astype(np.int64),
    }
    unpaid = np.unique(o_cust[status == "created"])
    return Chunk(customers=customers, bindings=bindings, identities=identities, orders=orders,
                 items=items, owner_clerk=sh.owner, unpaid_recent=unpaid, fav=sh.fav, last_paid_us=last_paid)


def _draw_shoppers(rng: np.random.Generator, brand: Brand, n: int, now_us: int) -> _Shoppers:
    """Store and owning clerk, who they are and how they shop."""
    store = np.searchsorted(np.cumsum(brand.store_shares), rng.random(n), side="right").clip(0, len(brand.store_ids) - 1)
    clerk_k = (rng.random(n)[:, None] > brand.clerk_cdf[store]).sum(axis=1).clip(0, cat.CLERKS_PER_STORE - 1)
    owner = brand.clerk_ids[store, clerk_k]

    archetype = np.searchsorted(np.cumsum(cat.ARCHETYPE_SHARES), rng.random(n), side="right").clip(0, 3)
    female = rng.random(n) < np.where(archetype == 3, 0.45, 0.72)
    prospect = rng.random(n) < 0.10
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
    return _Shoppers(store=store, clerk_k=clerk_k, owner=owner, archetype=archetype, female=female,
                     prospect=prospect, join=join, won_on_d11=won_on_d11, fav=fav, fav_qty=fav_qty,
                     cycles=cycles)


def _cycle_orders(rng: np.random.Generator, brand: Brand, sh: _Shoppers,
                  now_us: int) -> tuple[Stream, np.ndarray]:
    """Replenishment orders, one per cycle of usage_days × quantity, noisy, sometimes late; and
    the end of each customer's active period."""
    n, join, cycles = len(sh.join), sh.join, sh.cycles
    window_start = now_us - WINDOW_DAYS * DAY_US
    usage = np.where(sh.fav >= 0, brand.usage_days[np.maximum(sh.fav, 0)], 30)
    base = usage * sh.fav_qty * DAY_US
    noise = rng.lognormal(0.0, 0.2, (n, MAX_CYCLES)) * (1 + (rng.random((n, MAX_CYCLES)) < 0.2) * rng.exponential(0.4, (n, MAX_CYCLES)))
    gaps = (base[:, None] * noise).astype(np.int64)
    gaps[:, 0] = 0
    cycle_t = join[:, None] + np.cumsum(gaps, axis=1)
    cycle_ok = (np.arange(MAX_CYCLES)[None, :] < cycles[:, None]) & (cycle_t < now_us) & (cycle_t >= window_start)
    cyc_cust, cyc_k = np.nonzero(cycle_ok)
    cyc_time = cycle_t[cyc_cust, cyc_k]
    # The customer stays around for impulse buys until a while after the last cycle.
    last_cycle = np.where(cycles > 0, cycle_t[np.arange(n), np.maximum(cycles - 1, 0)], join)
    active_end = np.where(cycles > 0, last_cycle + (usage * sh.fav_qty * DAY_US * rng.random(n)).astype(np.int64),
                          join + (rng.exponential(300, n) * DAY_US).astype(np.int64))
    active_end = np.minimum(active_end, now_us)
    return (cyc_cust, cyc_time), active_end


def _impulse_orders(rng: np.random.Generator, brand: Brand, sh: _Shoppers, active_end: np.ndarray,
                    now_us: int) -> tuple[Stream, Stream]:
    """Impulse orders, following the season, inside the active period; and the first order of
    durable-only buyers when they join."""
    n, join = len(sh.join), sh.join
    window_start = now_us - WINDOW_DAYS * DAY_US
    rate = np.array(cat.IMPULSE_PER_YEAR)[sh.archetype] * rng.gamma(2.0, 0.5, n)
    active_start = np.maximum(join, window_start)
    active_days = np.maximum(active_end - active_start, 0) / DAY_US
    impulses = np.where(sh.prospect, 0, rng.poisson(rate * active_days / 365)).clip(0, 40)
    first_impulse = ~sh.prospect & (sh.cycles == 0)
    imp_cust = np.repeat(np.arange(n), impulses)
    imp_time = _seasonal_times(rng, brand, active_start[imp_cust], active_end[imp_cust])
    first_cust = np.flatnonzero(first_impulse & (join >= window_start))
    return (imp_cust, imp_time), (first_cust, join[first_cust])


def _double11_orders(rng: np.random.Generator, brand: Brand, sh: _Shoppers, active_end: np.ndarray) -> Stream:
    """Double-11 basket orders from customers active at the time."""
    n, join = len(sh.join), sh.join
    d11_cust_parts, d11_time_parts = [], []
    for day in brand.double11:
        active = (~sh.prospect) & (join <= day) & (active_end + 30 * DAY_US >= day) & ~(sh.won_on_d11 & (join >= day))
        pick = np.flatnonzero(active & (rng.random(n) < 0.33))
        # 尾款 from 20:00 on Nov 10, or the first two hours of Nov 11 (local time).
        eve = rng.random(len(pick)) < 0.4
        offs = np.where(eve, -4 * HOUR_US + rng.integers(0, 4 * HOUR_US, len(pick)),
                        rng.integers(0, 2 * HOUR_US, len(pick)))
        d11_cust_parts.append(pick)
        d11_time_parts.append(day + offs)
    d11_cust = np.concatenate(d11_cust_parts) if d11_cust_parts else np.zeros(0, np.int64)
    d11_time = np.concatenate(d11_time_parts) if d11_time_parts else np.zeros(0, np.int64)
    return d11_cust, d11_time


def _unpaid_orders(rng: np.random.Generator, sh: _Shoppers, now_us: int) -> tuple[Stream, Stream]:
    """Prospects sometimes leave an order unpaid; and a few customers hold a recent unpaid
    order worth chasing (催付), most of them over ¥100."""
    n, join = len(sh.join), sh.join
    window_start = now_us - WINDOW_DAYS * DAY_US
    abandon_cust = np.flatnonzero(sh.prospect & (rng.random(n) < 0.3) & (join >= window_start))
    abandon_time = join[abandon_cust] + rng.integers(0, 3 * DAY_US, len(abandon_cust))
    n_nudge = max(3, int(round(n * 0.015)))
    nudge_cust = np.sort(rng.choice(n, size=min(n, n_nudge), replace=False))
    nudge_time = now_us - rng.integers(HOUR_US, 46 * HOUR_US, len(nudge_cust))
    return (abandon_cust, abandon_time), (nudge_cust, nudge_time)


def _place_orders(rng: np.random.Generator, sh: _Shoppers, streams: list[tuple[Stream, int]],
                  now_us: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All orders of the chunk in (customer, time) order, with their kinds; and when each
    customer registered."""
    n = len(sh.join)
    o_cust = np.concatenate([cust for (cust, _), _ in streams])
    o_time = np.concatenate([when for (_, when), _ in streams])
    kind = np.concatenate([np.full(len(cust), k, np.int8) for (cust, _), k in streams])
    # Cycle and impulse orders get a realistic time of day (the festival ones already have it),
    # never before the customer registered nor in the last minutes.
    retime = kind <= 1
    o_time[retime] = time_of_day(rng, local_day_start(o_time[retime]))
    created = np.minimum(sh.join - rng.integers(0, 3 * DAY_US, n), sh.join)
    o_time = np.clip(o_time, created[o_cust] + 60_000_000, now_us - 10 * 60_000_000)
    order_sort = np.lexsort((o_time, o_cust))
    return o_cust[order_sort], o_time[order_sort], kind[order_sort], created


def _order_lines(rng: np.random.Generator, brand: Brand, sh: _Shoppers, o_cust: np.ndarray,
                 o_time: np.ndarray, kind: np.ndarray) -> tuple[np.ndarray, ...]:
    """The lines of every order: (order position, product, quantity, price) per line, and each
    order's amount."""
    m = len(o_cust)
    # Main product: the favourite for cycle orders, else by the customer's category.
    own_cat = np.where(rng.random(m) < 0.7, sh.archetype[o_cust], rng.integers(0, 4, m))
    main = _pick_in_category(rng, brand, own_cat)
    main = np.where(kind == 0, sh.fav[o_cust], main)
    pricey = (kind == 4) & (rng.random(m) < 0.8)
    main = np.where(pricey & (brand.price_fen[main] < 10_000), _pricey_product(rng, brand, m), main)
    main_qty = np.where(kind == 0, sh.fav_qty[o_cust], 1 + (rng.random(m) < 0.15))
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
    return item_order, item_product, item_qty, item_price, amount


def _order_columns(order_id: np.ndarray, customer_id: np.ndarray, store_id: np.ndarray, clerk: np.ndarray,
                   status: np.ndarray, amount: np.ndarray, refund: np.ndarray, o_time: np.ndarray,
                   stamps: dict[str, np.ndarray]) -> dict[str, Any]:
    return {
        "id": order_id,
        "external_id": [f"DEMO-O{i:010d}" for i in order_id.tolist()],
        "customer_id": customer_id,
        "store_id": store_id,
        "clerk_id": np.where(clerk > 0, clerk, None).astype(object),
        "status": status,
        "amount_fen": amount, "refund_amount_fen": refund,
        "created_at": timestamps(o_time),
        "paid_at": timestamps(stamps["paid_at"]), "shipped_at": timestamps(stamps["shipped_at"]),
        "delivered_at": timestamps(stamps["delivered_at"]), "completed_at": timestamps(stamps["completed_at"]),
        "cancelled_at": timestamps(stamps["cancelled_at"]), "refunded_at": timestamps(stamps["refunded_at"]),
        "updated_at": timestamps(stamps["updated_at"]),
    }


def _pick_in_category(rng: np.random.Generator, brand: Brand, category: np.ndarray) -> np.ndarray:
    out = np.zeros(len(category), dtype=np.int64)
    u = rng.random(len(category))
    for c, products in enumerate(brand.category_products):
        mask = category == c
        out[mask] = products[np.searchsorted(brand.category_cdf[c], u[mask], side="right").clip(0, len(products) - 1)]
    return out


def _pick_any(rng: np.random.Generator, brand: Brand, n: int) -> np.ndarray:
    return np.searchsorted(brand.all_cdf, rng.random(n), side="right").clip(0, len(brand.all_cdf) - 1)


def _pricey_product(rng: np.random.Generator, brand: Brand, n: int) -> np.ndarray:
    pricey = np.flatnonzero(brand.price_fen >= 10_000)
    return pricey[rng.integers(0, len(pricey), n)]


def _seasonal_times(rng: np.random.Generator, brand: Brand, start: np.ndarray, end: np.ndarray) -> np.ndarray:
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

