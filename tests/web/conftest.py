"""A seeded SQLite database and a real server process, shared by this folder's tests."""
from __future__ import annotations

import pytest

from tests.web.live import seeded_server


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """(server, brand): ``python tests/web/serve.py`` on a free port over a seeded SQLite file."""
    with seeded_server(tmp_path_factory.mktemp("live")) as (server, brand, _database):
        yield server, brand
