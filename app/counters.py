"""Sliding-window counters shared by every process when Redis is configured.

Used for limits that concurrent senders must not overshoot together: the contact policy's
per-customer caps, per-channel rate limits, login attempts, callback nonces already seen.
``acquire(key, limit, window)`` takes one slot if fewer than ``limit`` were taken in the last
``window`` seconds — atomically (a Lua script on Redis; a lock in-process for the embedded mode,
where one process is all there is). ``retry_after`` says when a slot frees; ``reset`` forgets a key.
A slot taken by a transaction that later rolls back stays taken until the window passes: the
error is on the side of sending less, never more.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict, deque

from flask import Flask, current_app

_ACQUIRE = """
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
  return 1
end
return 0
"""


class MemoryCounters:
    _PRUNE_FROM = 10_000  # keys kept before those whose every slot has expired are dropped

    def __init__(self, clock=time.time) -> None:
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._windows: dict[str, float] = {}  # the longest window each key was acquired with
        self._prune_at = self._PRUNE_FROM
        self._lock = threading.Lock()
        self._clock = clock

    def acquire(self, key: str, limit: int, window: float) -> bool:
        now = self._clock()
        with self._lock:
            if len(self._hits) >= self._prune_at:
                self._prune(now)
            hits = self._hits[key]
            self._windows[key] = max(window, self._windows.get(key, 0.0))
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            return True

    def _prune(self, now: float) -> None:
        # Keys come and go (one per callback nonce, per username tried): like Redis expiring
        # them, drop the ones nothing in their window remembers any more.
        expired = [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self._windows.get(k, 0.0)]
        for key in expired:
            del self._hits[key]
            self._windows.pop(key, None)
        self._prune_at = max(self._PRUNE_FROM, 2 * len(self._hits))

    def count(self, key: str, window: float) -> int:
        now = self._clock()
        with self._lock:
            return sum(1 for t in self._hits.get(key, ()) if t > now - window)

    def retry_after(self, key: str, limit: int, window: float) -> float:
        """Seconds until ``acquire(key, limit, window)`` could take a slot (0: it could now)."""
        now = self._clock()
        with self._lock:
            return _wait(sorted(t for t in self._hits.get(key, ()) if t > now - window), limit, window, now)

    def reset(self, key: str) -> None:
        """Forget every slot taken under ``key``."""
        with self._lock:
            self._hits.pop(key, None)
            self._windows.pop(key, None)


def _wait(recent: list[float], limit: int, window: float, now: float) -> float:
    """With ``recent`` hits (oldest first) in the window, when does the ``limit``-th newest leave it?"""
    if len(recent) < limit:
        return 0.0
    return max(0.0, recent[-limit] + window - now)


class RedisCounters:
    def __init__(self, url: str, prefix: str = "daogou:ctr:", clock=time.time) -> None:
        from redis import Redis

        self._redis = Redis.from_url(url)
        self._script = self._redis.register_script(_ACQUIRE)
        self._prefix = prefix
        self._clock = clock

    def acquire(self, key: str, limit: int, window: float) -> bool:
        member = f"{self._clock():.6f}:{uuid.uuid4().hex[:8]}"
        return bool(self._script(keys=[self._prefix + key],
                                 args=[self._clock(), window, limit, member]))

    def count(self, key: str, window: float) -> int:
        return int(self._redis.zcount(self._prefix + key, self._clock() - window, "+inf"))

    def retry_after(self, key: str, limit: int, window: float) -> float:
        """Seconds until ``acquire(key, limit, window)`` could take a slot (0: it could now)."""
        now = self._clock()
        recent = [score for _member, score in self._redis.zrangebyscore(
            self._prefix + key, f"({now - window}", "+inf", withscores=True)]
        return _wait(recent, limit, window, now)

    def reset(self, key: str) -> None:
        """Forget every slot taken under ``key``."""
        self._redis.delete(self._prefix + key)


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions["daogou.counters"] = RedisCounters(url) if url else MemoryCounters()


def counters(app: Flask | None = None) -> MemoryCounters | RedisCounters:
    return (app or current_app).extensions["daogou.counters"]
