import time

from app.jobs import JobRunner

calls = []


def record() -> None:
    calls.append("ran")


def test_periodic_jobs_first_run_one_interval_after_start(app):
    runner = JobRunner(app)  # sync mode in tests: enqueue runs inline
    start = time.monotonic()
    runner.every(60, record, name="rec")
    calls.clear()
    assert runner.tick(now=start + 1) == []
    assert runner.tick(now=start + 61) == ["rec"] and calls == ["ran"]
    assert runner.tick(now=start + 62) == []
    assert runner.tick(now=start + 122) == ["rec"] and calls == ["ran", "ran"]
