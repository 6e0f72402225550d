"""Sliding-window counters shared by every process when Redis is configured.

Used for limits that concurrent senders must not overshoot together: the contact policy's
per-customer caps, per-channel rate limits. ``acquire(key, limit, window)`` takes one slot if
fewer than ``limit`` were taken in the last ``window`` seconds — atomically (a Lua script on
Redis; a lock in-process for the embedded mode, where one process is all there is).
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
    def __init__(self, clock=time.time) -> None:
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._clock = clock

    def acquire(self, key: str, limit: int, window: float) -> bool:
        now = self._clock()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            return True

    def count(self, key: str, window: float) -> int:
        now = self._clock()
        with self._lock:
            return sum(1 for t in self._hits.get(key, ()) if t > now - window)


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


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions["daogou.counters"] = RedisCounters(url) if url else MemoryCounters()


def counters() -> MemoryCounters | RedisCounters:
    return current_app.extensions["daogou.counters"]
