"""``GET /healthz``: is the database reachable, and Redis when configured."""
from __future__ import annotations

from flask import Flask, current_app, jsonify

from sqlalchemy.exc import SQLAlchemyError

from app import db


def check() -> tuple[dict[str, str], int]:
    body = {"status": "ok", "database": "ok", "redis": "not configured"}
    try:
        db.ping(db.get_db())
    except SQLAlchemyError as exc:
        body.update(status="degraded", database=f"error: {type(exc).__name__}")
    url = current_app.config.get("REDIS_URL")
    if url:
        from redis import Redis
        from redis.exceptions import RedisError

        try:
            Redis.from_url(url, socket_timeout=1).ping()
            body["redis"] = "ok"
        except RedisError as exc:
            body.update(status="degraded", redis=f"error: {type(exc).__name__}")
    return body, 200 if body["status"] == "ok" else 503


def init_app(app: Flask) -> None:
    app.add_url_rule("/healthz", "healthz", lambda: (lambda b, c: (jsonify(b), c))(*check()))
