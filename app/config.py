"""One configuration, read from the environment; the defaults are the embedded mode."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


def _secret_key(instance_dir: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept under instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance_dir / "secret_key"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgres:// and postgresql:// URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def origin_list(raw: str | None) -> list[str]:
    """``https://a.example, https://b.example`` → the origins, without a trailing slash."""
    return [o.rstrip("/") for o in (raw or "").replace(",", " ").split() if o.rstrip("/")]


def from_env(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the config dict. Nothing here connects to anything."""
    env = os.environ if environ is None else environ
    instance = Path(env.get("DAOGOU_INSTANCE_DIR", INSTANCE_DIR))
    return {
        "INSTANCE_DIR": str(instance),
        "SECRET_KEY": _secret_key(instance) if environ is None else env.get("SECRET_KEY", "dev"),
        "DATABASE_URL": normalise_database_url(
            env.get("DATABASE_URL", f"sqlite:///{instance / 'daogou.sqlite3'}")),
        "REDIS_URL": env.get("REDIS_URL") or None,
        # thread: in the server process; rq: RQ workers on REDIS_URL; sync: inline (tests)
        "JOBS_MODE": env.get("JOBS_MODE") or ("rq" if env.get("REDIS_URL") else "thread"),
        "SCHEDULER_ENABLED": env.get("SCHEDULER_ENABLED", "1") == "1",
        "HOST": env.get("HOST", "127.0.0.1"),
        "PORT": int(env.get("PORT", "5000")),
        # Where people reach this deployment (https://daogou.example.com): links in WeCom notices
        # to clerks and in customers' personal pages. Unset: links are left out.
        "PUBLIC_URL": (env.get("PUBLIC_URL") or "").rstrip("/") or None,
        "BRAND_NAME": env.get("BRAND_NAME", "导购演示品牌"),
        "BRAND_TIMEZONE": env.get("BRAND_TIMEZONE", "Asia/Shanghai"),
        "DEFAULT_LOCALE": env.get("DEFAULT_LOCALE", "zh-CN"),
        "OPENAI_API_KEY": env.get("OPENAI_API_KEY") or None,
        "OPENAI_BASE_URL": env.get("OPENAI_BASE_URL") or None,
        "OPENAI_MODEL": env.get("OPENAI_MODEL", "gpt-4o-mini"),
        "DRAFT_MODEL_BUDGET": float(env.get("DRAFT_MODEL_BUDGET", "3")),
        "SMS_SIGNATURE": env.get("SMS_SIGNATURE") or None,
        "CHANNEL_SECRET_KEY": env.get("CHANNEL_SECRET_KEY") or None,
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        "LOG_FORMAT": env.get("LOG_FORMAT", "json"),
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024))),
        "PERMANENT_SESSION_LIFETIME": int(env.get("SESSION_HOURS", "12")) * 3600,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "0") == "1",
        # Pages on other origins allowed to open the console's socket; its own origin always is.
        "SOCKETIO_ALLOWED_ORIGINS": origin_list(env.get("SOCKETIO_ALLOWED_ORIGINS")),
        "BULK_LIMIT": 5000,
    }


DEFAULT_TIMEZONE = "Asia/Shanghai"


def brand_timezone_name() -> str:
    """The brand's timezone (``BRAND_TIMEZONE``): the one lookup every area uses."""
    from flask import current_app, has_app_context

    return current_app.config.get("BRAND_TIMEZONE", DEFAULT_TIMEZONE) if has_app_context() else DEFAULT_TIMEZONE


def brand_timezone() -> ZoneInfo:
    return ZoneInfo(brand_timezone_name())
