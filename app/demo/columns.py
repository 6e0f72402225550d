"""What every demo generator shares: the time columns' units, the brand-local day, and ids.

All times are int64 microseconds since the Unix epoch, UTC, with ``NaT`` marking "no timestamp";
``timestamps`` turns such a column into the datetime64 column the writer takes. The database is
empty when the demo is seeded, so the generators assign ids themselves (``Ids``).
"""
from __future__ import annotations

import datetime as dt

import numpy as np

WINDOW_DAYS = 730       # order history covers the two years before ``now``
DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
LOCAL_OFFSET_US = 8 * HOUR_US   # Asia/Shanghai has no DST
NaT = np.iinfo(np.int64).min  # marks "no timestamp" in the int64 columns


def to_us(value: dt.datetime) -> int:
    return int(round(value.timestamp() * 1_000_000))


def from_us(value: int | np.integer) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=int(value))


def local_day_start(us: np.ndarray) -> np.ndarray:
    """The start (in UTC µs) of the brand-local calendar day containing each instant."""
    return (us + LOCAL_OFFSET_US) // DAY_US * DAY_US - LOCAL_OFFSET_US


# Local hour-of-day weights of online shopping: lunch, and the evening peak before midnight.
_HOUR_WEIGHTS = np.array([1.2, 0.6, 0.3, 0.2, 0.1, 0.1, 0.2, 0.5, 1.0, 1.6, 2.0, 2.2,
                          2.4, 2.0, 1.8, 1.8, 1.9, 1.9, 2.0, 2.6, 3.2, 3.6, 3.4, 2.2])
_HOUR_CDF = np.cumsum(_HOUR_WEIGHTS) / _HOUR_WEIGHTS.sum()


def time_of_day(rng: np.random.Generator, day_start: np.ndarray) -> np.ndarray:
    hours = np.searchsorted(_HOUR_CDF, rng.random(len(day_start)), side="right")
    return day_start + hours * HOUR_US + rng.integers(0, HOUR_US, len(day_start))


def timestamps(us: np.ndarray) -> np.ndarray:
    """int64 µs (NaT sentinel) → datetime64[us] with real NaT, in whole seconds as POS and
    e-shop exports record them."""
    us = np.asarray(us, dtype=np.int64)
    out = np.where(us == NaT, NaT, us // 1_000_000 * 1_000_000)
    return out.view("datetime64[us]")


class Ids:
    """The last id taken of each bulk table (the database is empty, so ids are ours to assign)."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def take(self, name: str, n: int) -> np.ndarray:
        """The next ``n`` ids of ``name`` (customer, binding, identity, order, item)."""
        start = self.last.get(name, 0)
        self.last[name] = start + n
        return np.arange(start + 1, start + n + 1, dtype=np.int64)
