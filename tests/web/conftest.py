"""A seeded SQLite database and a real server process, shared by this folder's tests."""
from __future__ import annotations

import pytest

from tests.web.live import LiveServer, migrate_and_seed


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """(server, brand): ``python tests/web/serve.py`` on a free port over a seeded SQLite file."""
    folder = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{folder / 'daogou.sqlite3'}"
    brand = migrate_and_seed(url)
    server = LiveServer(url, log_path=folder / "server.log")
    try:
        yield server, brand
    finally:
        server.stop()
