"""The one clock: business time for every module (app, jobs, policy, campaigns, ranker, console).

``now()`` is the time of the business — when a message counts as sent, which day's commission an
order joins, whether it is quiet hours. Nothing else reads the wall clock for that; protocol
timestamps that a vendor checks against *its* wall clock (signature windows, token expiry) and
monotonic timers for timeouts are the only exceptions, listed in ``tests/test_one_clock.py``.

Tests pin it: ``pin(at)`` starts business time at ``at`` and lets it run on from there (retries,
backoff and timeouts still see time pass), ``freeze(at)`` stops it, ``travel(delta)`` moves it.
``reset()`` goes back to the wall clock. The state is process-wide, so a worker thread sees the
same instant as the request that queued it.
"""
from __future__ import annotations

import datetime as dt
import threading
import time

UTC = dt.timezone.utc

_lock = threading.Lock()
_anchor: dt.datetime | None = None   # business time at ``_since`` (None: the wall clock)
_since = 0.0                          # monotonic reading when the anchor was set
_frozen = False


def _wall() -> dt.datetime:
    return dt.datetime.now(UTC)


def now() -> dt.datetime:
    """The current business time, timezone-aware UTC."""
    anchor, since, frozen = _anchor, _since, _frozen
    if anchor is None:
        return _wall()
    if frozen:
        return anchor
    return anchor + dt.timedelta(seconds=time.monotonic() - since)


def _aware(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None:
        raise ValueError("the clock takes timezone-aware times")
    return at.astimezone(UTC)


def pin(at: dt.datetime) -> None:
    """Business time is ``at`` now and runs on from there."""
    global _anchor, _since, _frozen
    with _lock:
        _anchor, _since, _frozen = _aware(at), time.monotonic(), False


def freeze(at: dt.datetime | None = None) -> None:
    """Business time stops at ``at`` (or where it is) until moved."""
    global _anchor, _since, _frozen
    with _lock:
        _anchor, _since, _frozen = _aware(at) if at else now(), time.monotonic(), True


def travel(delta: dt.timedelta) -> dt.datetime:
    """Move business time by ``delta`` (forward or back); return the new time."""
    global _anchor, _since
    with _lock:
        _anchor, _since = now() + delta, time.monotonic()
        return _anchor


def travel_to(at: dt.datetime) -> dt.datetime:
    """Move business time to ``at``, keeping whether it runs or is frozen."""
    global _anchor, _since
    with _lock:
        _anchor, _since = _aware(at), time.monotonic()
        return _anchor


def reset() -> None:
    """Back to the wall clock."""
    global _anchor, _frozen
    with _lock:
        _anchor, _frozen = None, False


def is_pinned() -> bool:
    return _anchor is not None
