"""The demo's people: names, phones, e-mails, birthdays and addresses, and how they follow clerks.

``customer_columns`` draws one chunk of customer rows; ``follower_columns`` binds each customer
to their owning clerk (most through the demo's loopback channel) and gives them the channel
identities that reach them. ``person_names`` also names the brand's staff.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from app.demo import catalogue as cat
from app.demo.columns import DAY_US, NaT, Ids, from_us, timestamps

if TYPE_CHECKING:
    from app.demo.brand import Brand

_SURNAMES = np.array([s for s, _ in cat.SURNAMES])
_SURNAME_CDF = np.cumsum([w for _, w in cat.SURNAMES]) / sum(w for _, w in cat.SURNAMES)


def person_names(rng: np.random.Generator, n: int, female: np.ndarray) -> list[str]:
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


def customer_columns(rng: np.random.Generator, brand: Brand, cust_id: np.ndarray, store: np.ndarray,
                     female: np.ndarray, created: np.ndarray, level: np.ndarray, now_us: int) -> dict[str, Any]:
    """Customer rows: names, phones, e-mails, birthdays, addresses (some on campus)."""
    n = len(cust_id)
    ages = np.where(rng.random(n) < 0.08, rng.integers(17, 24, n), rng.integers(20, 58, n))
    campus = (ages <= 23) & (rng.random(n) < 0.7) | (rng.random(n) < 0.02)
    names = person_names(rng, n, female)
    addresses, cities, provinces = _addresses(rng, n, [brand.store_city[s] for s in store], campus)
    now_date = from_us(now_us).date()
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
        "created_at": timestamps(created), "updated_at": timestamps(np.full(n, now_us)),
        "stage": np.full(n, None, dtype=object),
        "paid_orders": np.zeros(n, np.int64), "total_spent_fen": np.zeros(n, np.int64),
        "first_paid_at": timestamps(np.full(n, NaT)), "last_paid_at": timestamps(np.full(n, NaT)),
        "last_contacted_at": timestamps(np.full(n, NaT)), "last_inbound_at": timestamps(np.full(n, NaT)),
    }
    return customers


def follower_columns(rng: np.random.Generator, brand: Brand, ids: Ids, customers: dict[str, Any],
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
        "since": timestamps(np.concatenate([created, join[second] + rng.integers(DAY_US, 60 * DAY_US, second.sum())]).clip(max=now_us)),
        "ended_at": timestamps(np.full(nb, NaT)),
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
        "created_at": timestamps(np.concatenate([created, created[wecom], created[oa]])),
    }
    return bindings, identities

