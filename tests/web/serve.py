"""Run Daogou as a real server process for browser, Socket.IO and bench tests.

Like ``python -m app`` but with TESTING on (the inbound test helper) and config from arguments:
``python tests/web/serve.py DATABASE_URL PORT [REDIS_URL]``. With ``DAOGOU_TEST_CLOCK`` (an ISO
time) business time starts there and runs on, as in the test process that started the server.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import datetime as dt  # noqa: E402
import os  # noqa: E402

from app import create_app  # noqa: E402
from app.realtime import socketio  # noqa: E402
from models import clock  # noqa: E402


def main() -> None:
    if os.environ.get("DAOGOU_TEST_CLOCK"):
        clock.pin(dt.datetime.fromisoformat(os.environ["DAOGOU_TEST_CLOCK"]))
    database_url, port = sys.argv[1], int(sys.argv[2])
    redis_url = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
    config = {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "live-test-secret",
              "JOBS_MODE": "thread", "SCHEDULER_ENABLED": False, "LOG_LEVEL": "WARNING",
              "INSTANCE_DIR": str(Path(database_url.rsplit("/", 1)[-1]).parent if database_url.startswith("sqlite") else "/tmp"),
              "REDIS_URL": redis_url, "PORT": port}
    if database_url.startswith("sqlite:///"):
        config["INSTANCE_DIR"] = str(Path(database_url[len("sqlite:///"):]).parent)
    app = create_app(config)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    socketio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, use_reloader=False,
                 log_output=False)


if __name__ == "__main__":
    main()
