"""Fixtures: an app on SQLite *and* PostgreSQL, a client, login helper, real Redis.

Every test that takes ``app`` (or anything built on it) runs twice: ``[sqlite]`` and
``[postgresql]``. Each test gets its own freshly migrated database, copied from a template that
is migrated once per run.
"""
from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator

import pytest

from models import clock as business_clock
from tests import services
from tests.timing import PINNED_AT, SETUP_AT, Clock

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
_counter = itertools.count()


def _unavailable(reason: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _business_time_pinned_all_session() -> Iterator[None]:
    """Between tests business time stands still an hour before each test's start, so what module
    fixtures set up (a live server's brand) is already in the past when a test begins."""
    business_clock.freeze(SETUP_AT)
    yield
    business_clock.reset()


@pytest.fixture(autouse=True)
def clock() -> Iterator[Clock]:
    """Pin business time for every test; ``clock.travel_to("2026-11-18 22:00")`` moves it."""
    business_clock.pin(PINNED_AT)
    try:
        yield Clock()
    finally:
        business_clock.freeze(SETUP_AT)  # wherever a test moved it, the next fixture starts here


def _running(start):
    """The server ``start()`` returns, stopped afterwards; one that cannot start skips (or fails)."""
    try:
        server = start()
    except (services.ServiceUnavailable, OSError) as exc:
        _unavailable(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[services.PostgresServer]:
    yield from _running(services.start_postgres)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[services.RedisServer]:
    yield from _running(services.start_redis)


@pytest.fixture(scope="session")
def redis_url(redis_server) -> str:
    return redis_server.url


def _migrate(url: str) -> None:
    from app.db import Database, upgrade

    database = Database(url)
    try:
        upgrade(database)
    finally:
        database.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def pg_template(pg_server) -> str:
    name = f"daogou_template_{os.getpid()}"
    services.pg_admin(pg_server, f"DROP DATABASE IF EXISTS {name}")
    services.pg_admin(pg_server, f"CREATE DATABASE {name}")
    _migrate(pg_server.database_url(name))
    return name


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, migrated, empty database of each kind."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "daogou.sqlite3"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    server = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_template")
    name = f"daogou_t{os.getpid()}_{next(_counter)}"
    services.pg_admin(server, f"CREATE DATABASE {name} TEMPLATE {template}")
    return server.database_url(name)


def make_app(database_url: str, tmp_path, **overrides):
    from app import create_app

    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "JOBS_MODE": "sync",
        "SCHEDULER_ENABLED": False,
        "INSTANCE_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app_factory(database_url, tmp_path):
    """Build apps with config overrides; their engines are disposed after the test."""
    from app.db import get_db

    built = []

    def build(url: str | None = None, **overrides):
        application = make_app(url or database_url, tmp_path, **overrides)
        built.append(application)
        return application

    yield build
    from app.jobs import runner

    for application in built:
        runner(application).wait_idle()  # a job still running would hold a connection past dispose()
        get_db(application).dispose()


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def db(app):
    """The app's Database (``db.transaction()`` / ``db.Session()``)."""
    from app.db import get_db

    return get_db(app)


@pytest.fixture
def client(app):
    return app.test_client()


class AuthActions:
    """flaskr-style login helper; keeps the CSRF token so state-changing calls work."""

    def __init__(self, client) -> None:
        self.client = client

    def login(self, username: str, password: str = "demo"):
        resp = self.client.post("/auth/login", json={"username": username, "password": password})
        if resp.status_code == 200:
            self.client.environ_base["HTTP_X_CSRF_TOKEN"] = resp.get_json()["csrf_token"]
        return resp

    def logout(self):
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


def signed_in(app, username: str, password: str = "demo"):
    """A new test client of ``app`` logged in as ``username``: another person beside ``client``."""
    other = app.test_client()
    resp = AuthActions(other).login(username, password)
    assert resp.status_code == 200, resp.get_json()
    return other


@pytest.fixture
def bearer(db) -> dict[str, str]:
    """Authorization headers of a fresh integrator token."""
    from app.auth import create_api_token

    with db.transaction() as s:
        token = create_api_token(s, f"test-{next(_counter)}")
    return {"Authorization": f"Bearer {token}"}


# Browser tests: Debian's Chromium driven through Playwright (no browser download works here).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def browser(request):
    """Headless Chromium for one test module; the module's ``ARTIFACTS`` folder is created for
    its screenshots. Missing Chromium skips, or fails under ``REQUIRE_SERVICES=1``."""
    if not os.path.exists(CHROMIUM):
        _unavailable(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    artifacts = getattr(request.module, "ARTIFACTS", None)
    if artifacts is not None:
        artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
