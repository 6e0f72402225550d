"""Background jobs and the scheduler, the same calls in both modes.

- ``thread`` (embedded default): a small pool inside the server process;
- ``rq``: RQ workers on ``REDIS_URL`` (``flask worker``), scheduled by ``flask scheduler``;
- ``sync``: run inline after commit (tests that want determinism).

Jobs are module-level functions that take ids, never ORM objects, and open their own
transaction. ``enqueue_after_commit`` makes sure a job never sees a row that was rolled back.
"""
from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy.orm import Session

from app.db import after_commit

log = logging.getLogger("daogou.jobs")


def job_path(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass
class Periodic:
    name: str
    seconds: float
    fn: Callable[..., Any]
    last_run: float = field(default=0.0)


class JobRunner:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.mode = app.config["JOBS_MODE"]
        self.periodic: dict[str, Periodic] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._queue = None
        self._stop = threading.Event()
        self._scheduler: threading.Thread | None = None

    def wait_idle(self) -> None:
        """Let the in-process jobs already queued finish (threaded mode); new ones start a new pool."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    # queueing ---------------------------------------------------------------------------------
    def enqueue(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if self.mode == "sync":
            self._run(job_path(fn), args, kwargs)
        elif self.mode == "rq":
            self.rq_queue().enqueue(run_job, job_path(fn), args, kwargs, job_timeout=600)
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="daogou-job")
            self._pool.submit(self._run, job_path(fn), args, kwargs)

    def _run(self, path: str, args: tuple, kwargs: dict) -> Any:
        with self.app.app_context():
            try:
                return resolve(path)(*args, **kwargs)
            except Exception:
                log.exception("job failed", extra={"job": path})
                if self.mode == "sync":
                    raise
                return None

    def rq_queue(self):
        if self._queue is None:
            from redis import Redis
            from rq import Queue

            self._queue = Queue("daogou", connection=Redis.from_url(self.app.config["REDIS_URL"]))
        return self._queue

    # scheduling -------------------------------------------------------------------------------
    def every(self, seconds: float, fn: Callable[..., Any], name: str | None = None) -> None:
        """Run ``fn()`` every ``seconds`` (in the thread scheduler or ``flask scheduler``).

        The first run comes one interval after start-up, so a restart does not fire the nightly
        jobs at once.
        """
        key = name or job_path(fn)
        self.periodic[key] = Periodic(key, seconds, fn, last_run=time.monotonic())

    def tick(self, now: float | None = None) -> list[str]:
        """Enqueue every periodic job that is due; return their names."""
        now = time.monotonic() if now is None else now
        due = [p for p in self.periodic.values() if now - p.last_run >= p.seconds]
        for p in due:
            p.last_run = now
            self.enqueue(p.fn)
        return [p.name for p in due]

    def start_scheduler(self) -> None:
        if self._scheduler is not None or not self.periodic:
            return
        self._scheduler = threading.Thread(target=self._loop, name="daogou-scheduler", daemon=True)
        self._scheduler.start()

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            self.tick()

    def stop(self) -> None:
        self._stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def run_job(path: str, args: tuple, kwargs: dict) -> Any:
    """The RQ entry point: runs inside the worker's app context (see ``flask worker``)."""
    return resolve(path)(*args, **kwargs)


def runner(app: Flask | None = None) -> JobRunner:
    return (app or current_app).extensions["daogou.jobs"]


def enqueue(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    runner().enqueue(fn, *args, **kwargs)


def enqueue_after_commit(session: Session, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    jr = runner()
    after_commit(session, lambda: jr.enqueue(fn, *args, **kwargs))


def init_app(app: Flask) -> None:
    app.extensions["daogou.jobs"] = JobRunner(app)

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="exit when the queue is empty")
    def worker(burst: bool) -> None:
        """Run an RQ worker on REDIS_URL (scaled-out mode)."""
        from rq import SimpleWorker

        jr = runner(app)
        if not app.config.get("REDIS_URL"):
            raise click.UsageError("REDIS_URL is not set; the embedded mode runs jobs in the server")
        # SimpleWorker runs jobs in this process, inside the app context the CLI pushed.
        SimpleWorker([jr.rq_queue()], connection=jr.rq_queue().connection).work(burst=burst)

    @app.cli.command("scheduler")
    def scheduler() -> None:
        """Enqueue periodic jobs onto RQ (scaled-out mode; one per deployment)."""
        jr = runner(app)
        while True:
            jr.tick()
            time.sleep(1.0)
