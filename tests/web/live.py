"""A seeded database and a real Daogou server process on a free port (for tests and benches)."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from models import clock as business_clock
from tests import factories
from tests.timing import PINNED_AT
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVE = Path(__file__).resolve().parent / "serve.py"


@dataclass
class Brand:
    """Ids of the seeded rows the tests talk about."""

    store_id: int = 0
    clerk1: int = 0
    clerk2: int = 0
    manager: int = 0
    hq: int = 0
    customers: dict[str, int] = field(default_factory=dict)  # name -> id, all followers of clerk1
    other_customer: int = 0  # a follower of clerk2


def migrate_and_seed(database_url: str, extra_clerks: int = 0, clerks_per_store: int = 0) -> Brand:
    """Migrate an empty database and add one store, its staff and a few followers of clerk1.

    ``extra_clerks`` adds clerks ``bench0…`` with one follower each: in that store, or spread
    over stores of ``clerks_per_store`` (``门店1``, ``门店2``…) as a brand's shops are."""
    from app.db import Database, upgrade
    from models import Customer, Role

    database = Database(database_url)
    upgrade(database)
    brand = Brand()
    with database.transaction() as s:
        store = factories.store(s, name="静安嘉里店")
        brand.store_id = store.id
        c1 = factories.staff(s, Role.clerk, store, username="clerk1", display_name="王小美")
        c2 = factories.staff(s, Role.clerk, store, username="clerk2", display_name="李安")
        brand.clerk1, brand.clerk2 = c1.id, c2.id
        brand.manager = factories.staff(s, Role.manager, store, username="manager1", display_name="赵店长").id
        brand.hq = factories.staff(s, Role.hq, None, username="hq", display_name="总部运营").id
        cream = factories.product(s, sku="SK-CREAM-50", name="玻尿酸保湿面霜 50ml", price_fen=26800)
        for name in ("陈静", "刘洋", "张敏"):
            cust = factories.customer(s, name=name, phone="1380000" + str(1000 + len(brand.customers)))
            factories.follow(s, cust, c1, channel="loopback")
            factories.identity(s, cust, "loopback", f"lb-{cust.id}")
            brand.customers[name] = cust.id
        # 陈静 bought twice: the profile sheet has orders to show (derived columns set to match)
        first = factories.order(s, s.get(Customer, brand.customers["陈静"]), items=[(cream, 1)],
                                paid_at=dt.datetime(2026, 9, 20, 11, tzinfo=dt.timezone.utc))
        second = factories.order(s, s.get(Customer, brand.customers["陈静"]), items=[(cream, 2)],
                                 paid_at=dt.datetime(2026, 11, 11, 0, 30, tzinfo=dt.timezone.utc))
        chen = s.get(Customer, brand.customers["陈静"])
        chen.paid_orders, chen.total_spent_fen = 2, first.amount_fen + second.amount_fen
        chen.first_paid_at, chen.last_paid_at = first.paid_at, second.paid_at
        other = factories.customer(s, name="周其他")
        factories.follow(s, other, c2, channel="loopback")
        factories.identity(s, other, "loopback", f"lb-{other.id}")
        brand.other_customer = other.id
        shop = store
        for i in range(extra_clerks):
            if clerks_per_store and i % clerks_per_store == 0:
                shop = factories.store(s, name=f"门店{i // clerks_per_store + 1}")
            clerk = factories.staff(s, Role.clerk, shop, username=f"bench{i}", display_name=f"导购{i}")
            cust = factories.customer(s, name=f"顾客{i}")
            factories.follow(s, cust, clerk, channel="loopback")
            factories.identity(s, cust, "loopback", f"lb-{cust.id}")
    database.dispose()
    return brand


class LiveServer:
    """``python tests/web/serve.py`` on a free port; ``stop()`` ends it."""

    def __init__(self, database_url: str, redis_url: str | None = None, port: int | None = None,
                 log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "wb") if log_path else subprocess.DEVNULL
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        if business_clock.is_pinned():  # the server runs on the tests' business time
            env["DAOGOU_TEST_CLOCK"] = PINNED_AT.isoformat()
        self.proc = subprocess.Popen([sys.executable, str(SERVE), database_url, str(self.port), redis_url or ""],
                                     cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self._log is not subprocess.DEVNULL:
            self._log.close()


@contextmanager
def seeded_server(folder: Path, add: Callable[[Any, Brand], None] | None = None) -> Iterator[tuple[LiveServer, Brand, Any]]:
    """A server over a fresh seeded SQLite file in ``folder``; ``add(session, brand)`` writes the
    test's own rows first. Yields (server, brand, database) and stops them afterwards."""
    from app.db import Database

    url = f"sqlite:///{folder / 'daogou.sqlite3'}"
    brand = migrate_and_seed(url)
    database = Database(url)
    if add is not None:
        with database.transaction() as s:
            add(s, brand)
    server = LiveServer(url, log_path=folder / "server.log")
    try:
        yield server, brand, database
    finally:
        server.stop()
        database.dispose()


# Browser pages: the console's phone and the default wait (ms) of every page.
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
# WeChat's in-app browser on an iPhone: a person opening a personal page (a headless agent is not counted).
WECHAT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN")
WAIT = 15_000


@contextmanager
def browser_page(browser, **context: Any) -> Iterator[Any]:
    """A page in a new zh-CN browser context (``context``: Playwright's options, overriding) that
    waits up to ``WAIT``; afterwards the context is closed and no script error may have happened."""
    opened = browser.new_context(**{"locale": "zh-CN", **context})
    page = opened.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(WAIT)
    try:
        yield page
    finally:
        opened.close()
    assert errors == [], errors


def login(url: str, username: str, password: str = "demo") -> requests.Session:
    """A requests session logged in as ``username`` with the CSRF header set."""
    http = requests.Session()
    resp = http.post(f"{url}/auth/login", json={"username": username, "password": password}, timeout=10)
    resp.raise_for_status()
    http.headers["X-CSRF-Token"] = resp.json()["csrf_token"]
    return http


def inbound(url: str, customer_id: int, body: str, **extra) -> dict:
    """Make a customer write, through the TESTING-only channel stand-in."""
    resp = requests.post(f"{url}/testing/inbound", json={"customer_id": customer_id, "body": body, **extra}, timeout=10)
    resp.raise_for_status()
    return resp.json()


def sign_in(page, url: str, username: str, password: str = "demo") -> None:
    """Open ``url`` in the browser ``page`` and log in through the login form there."""
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")
