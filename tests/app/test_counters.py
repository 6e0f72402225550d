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


def test_retry_after_says_when_the_oldest_blocking_slot_leaves_the_window(make):
    clock = Clock()
    c = make(clock)
    assert c.retry_after("k", 2, 60) == 0
    c.acquire("k", 2, 60)
    clock.now += 10
    c.acquire("k", 2, 60)
    assert c.retry_after("k", 2, 60) == pytest.approx(50)
    assert c.retry_after("k", 1, 60) == pytest.approx(60)  # the newest slot blocks a limit of one
    clock.now += 50.5
    assert c.retry_after("k", 2, 60) == 0 and c.acquire("k", 2, 60)


def test_reset_forgets_every_slot_of_a_key_and_only_that_key(make):
    clock = Clock()
    c = make(clock)
    for key in ("a", "b"):
        assert [c.acquire(key, 1, 60) for _ in range(2)] == [True, False]
    c.reset("a")
    assert c.acquire("a", 1, 60) and not c.acquire("b", 1, 60)


def test_in_process_counters_forget_keys_whose_window_has_passed():
    clock = Clock()
    c = MemoryCounters(clock=clock)
    c.acquire("kept", 1, 3600)
    for i in range(MemoryCounters._PRUNE_FROM - 1):
        c.acquire(f"nonce:{i}", 1, 60)
    clock.now += 61
    c.acquire("fresh", 1, 60)  # past the threshold: the expired keys go
    assert c.count("kept", 3600) == 1 and not c.acquire("kept", 1, 3600)
    assert len(c._hits) == 2
