"""Structured (JSON-lines) logs with secrets redacted, configured by the factory, never on import."""
from __future__ import annotations

import json
import logging
import re
import time
from typing import Any
from urllib.parse import unquote

from flask import Flask, g, request

_SECRET_KEY = re.compile(r"(pass(word)?|secret|token|api[_-]?key|authorization|aes|signature|cookie)", re.I)
_SECRET_VALUE = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+|(access_token=)[^&\s]+", re.I)
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_QUERY_PARAM = re.compile(r"([?&;])([^=&;\s#?]+)=([^&;\s#]*)")


def redact(value: Any, key: str = "") -> Any:
    """Mask values whose key looks secret, and bearer/access tokens and secret-looking query
    parameters (``?token=…``) inside strings."""
    if key and _SECRET_KEY.search(key):
        return "***"
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        value = _SECRET_VALUE.sub(lambda m: (m.group(1) or m.group(2)) + "***", value)
        return _QUERY_PARAM.sub(_mask_secret_param, value)
    return value


def _mask_secret_param(m: re.Match[str]) -> str:
    return f"{m.group(1)}{m.group(2)}=***" if _SECRET_KEY.search(unquote(m.group(2))) else m.group(0)


class QuerySecretsFilter(logging.Filter):
    """Redacts the request line Werkzeug's server logs (``"POST /channels/sms/s1?token=…"``),
    which the app's own access log never sees, the same way the JSON logs are redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for k, v in vars(record).items():
            if k not in _RESERVED and not k.startswith("_"):
                entry[k] = redact(v, k)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def init_app(app: Flask) -> None:
    root = logging.getLogger("daogou")
    if not any(getattr(h, "_daogou", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler._daogou = True  # type: ignore[attr-defined]
        if app.config.get("LOG_FORMAT") == "json":
            handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    root.propagate = False
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, QuerySecretsFilter) for f in werkzeug.filters):
        werkzeug.addFilter(QuerySecretsFilter())
    app.logger.handlers = []
    app.logger.parent = root
    access = logging.getLogger("daogou.access")

    @app.before_request
    def _start_timer() -> None:
        g._t0 = time.perf_counter()

    @app.after_request
    def _log_request(response):  # type: ignore[no-untyped-def]
        if request.path.startswith("/static") or request.path.startswith("/web/"):
            return response
        elapsed = (time.perf_counter() - g.get("_t0", time.perf_counter())) * 1000
        access.info("request", extra={"method": request.method, "path": request.path,
                                      "status": response.status_code, "ms": round(elapsed, 1)})
        return response
