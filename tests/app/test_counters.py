import threading

import pytest

from app.counters import MemoryCounters, RedisCounters


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture(params=["memory", "redis"])
def make(request):
    def build(clock):
        if request.param == "memory":
            return MemoryCounters(clock=clock)
        url = request.getfixturevalue("redis_url")
        return RedisCounters(url, prefix=f"test:{id(clock)}:", clock=clock)
    return build


def test_acquire_stops_at_limit_and_frees_after_window(make):
    clock = Clock()
    c = make(clock)
    assert [c.acquire("k", 2, 60) for _ in range(3)] == [True, True, False]
    clock.now += 59
    assert not c.acquire("k", 2, 60)
    clock.now += 1.5
    assert c.acquire("k", 2, 60)
    assert c.count("k", 60) == 1


def test_concurrent_acquires_never_overshoot(make):
    clock = Clock()
    c = make(clock)
    results = []
    lock = threading.Lock()

    def worker():
        for _ in range(25):
            ok = c.acquire("shared", 10, 3600)
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 10
