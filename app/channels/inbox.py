"""Group commit for callbacks: many callbacks' events written in one transaction.

A vendor must get its answer fast (WeChat gives up after 5 s and retries), and must get it only
once what it sent is stored. Callback threads hand their verified events to one writer thread;
the writer takes everything waiting (up to ``MAX_BATCH`` callbacks), applies them, commits once,
and wakes every caller. One commit then serves a burst of callbacks,
which is what keeps the acknowledgement fast at hundreds of callbacks a second on SQLite.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
from collections import Counter
from concurrent.futures import Future

from flask import Flask, current_app

from app import db, jobs
from app.channels.inbound import accept_events
from connectors.base import Connector, InboundEvent

log = logging.getLogger("daogou.channels")

MAX_BATCH = 200
WAIT_SECONDS = 10.0  # a caller never waits longer than the vendor would

# A callback's events, its answer (the counts, once committed) and "all its after-commit work is done".
Item = tuple[Connector, list[InboundEvent], Future, threading.Event]


class Inbox:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.queue: queue.Queue[Item] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def submit(self, connector: Connector, events: list[InboundEvent]) -> Counter:
        """Store one callback's events; return once they are committed (or raise).

        With jobs run in-line (``JOBS_MODE=sync``: tests, one-off scripts) the caller also waits
        for the work after the commit, so that what a callback causes has happened when it returns;
        the vendor's deadline still applies to the commit alone."""
        self._ensure_writer()
        done: Future = Future()
        settled = threading.Event()
        self.queue.put((connector, events, done, settled))
        counts = done.result(timeout=WAIT_SECONDS)
        if jobs.runner(self.app).mode == "sync":
            settled.wait()
        return counts

    def _ensure_writer(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="daogou-inbox", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        with self.app.app_context():
            while True:
                batch = [self.queue.get()]
                while len(batch) < MAX_BATCH:
                    try:
                        batch.append(self.queue.get_nowait())
                    except queue.Empty:
                        break
                try:
                    self._write(batch)
                finally:
                    for item in batch:
                        item[3].set()

    def _write(self, batch: list[Item]) -> None:
        """Commit the whole batch at once; if that fails, each callback alone, so that one bad
        callback fails only its own caller (who answers 500, and the vendor retries)."""
        try:
            self._commit(batch)
        except Exception as exc:  # noqa: BLE001 — any failure: fall back to one transaction each
            if all(item[2].done() for item in batch):
                # Stored and answered; what failed is follow-up work after the commit (a push, a job).
                log.exception("work after storing a callback failed", extra={"channel": batch[0][0].kind})
                return
            if len(batch) == 1:
                log.exception("callback could not be stored", extra={"channel": batch[0][0].kind})
                batch[0][2].set_exception(exc)
                return
            for item in batch:
                self._write([item])

    @staticmethod
    def _commit(batch: list[Item]) -> None:
        results: list[Counter] = []

        def answer() -> None:
            for item, counts in zip(batch, results):
                item[2].set_result(counts)

        with db.transaction() as s:
            # The first thing after the commit: the vendors hear back. Pushes to consoles, jobs
            # (in the embedded mode they may run right here) and anything slow come after it.
            db.after_commit(s, answer)
            for connector, events, _, _ in batch:
                results.append(accept_events(s, connector, events))
                for event in events:
                    if event.kind == "sync":  # 微信客服: fetch the messages after the commit
                        from app.channels import kf
                        account = event.payload.get("kf_account") or connector.account
                        jobs.enqueue_after_commit(s, kf.sync_kf_account, account, event.payload.get("token"))


def inbox(app: Flask | None = None) -> Inbox:
    return (app or current_app).extensions["daogou.inbox"]
