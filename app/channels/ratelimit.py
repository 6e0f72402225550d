"""Per-account send rate limits: a token bucket in process, a per-second counter on Redis.

With several workers (RQ mode) the Redis counter is the shared limit; the embedded mode has one
dispatcher process, so an in-process bucket is exact there.
"""
from __future__ import annotations

import threading
import time


class LocalRateLimiter:
    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, last refill)
        self._lock = threading.Lock()

    def acquire(self, key: str, per_second: float) -> float:
        """Take one send slot; return 0 when granted, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (per_second, now))
            tokens = min(per_second, tokens + (now - last) * per_second)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / per_second


class RedisRateLimiter:
    def __init__(self, redis) -> None:
        self.redis = redis

    def acquire(self, key: str, per_second: float) -> float:
        now = time.time()
        window = int(now)
        name = f"daogou:rate:{key}:{window}"
        pipe = self.redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, 2)
        count = pipe.execute()[0]
        if count <= max(1, int(per_second)):
            return 0.0
        return window + 1 - now
