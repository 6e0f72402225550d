"""Web addresses that end up as a link or an image on someone's screen (product pages and images).

Only ``http(s)://host/…`` is accepted, or, where a caller allows it, a path on this site
(``/uploads/…``). Judged strictly rather than the way a browser repairs them: a browser drops
tabs and newlines anywhere in a URL and control characters at its ends, so ``java\\tscript:…``
*is* ``javascript:…`` to it. No real address contains such characters, so any of them refuses
the value instead of being cleaned away.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from app.errors import Invalid
from app.i18n import t

WEB_SCHEMES = frozenset({"http", "https"})
MAX_URL_CHARS = 500
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f-\x9f\\]")  # includes tab, newline, backslash


def web_url_problem(value: Any, *, site_path: bool = False) -> str | None:
    """Why ``value`` is not an acceptable web address (translated), or None when it is.

    ``site_path``: also accept an absolute path on this site (``/uploads/a.jpg``, not ``//host``).
    """
    if not isinstance(value, str) or not value:
        return t("input.url")
    if len(value) > MAX_URL_CHARS:
        return t("input.too_long", max=MAX_URL_CHARS)
    if _CONTROL_OR_SPACE.search(value):
        return t("input.url")
    if site_path and value.startswith("/") and not value.startswith("//"):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:  # an unbalanced IPv6 bracket and the like
        return t("input.url")
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.hostname:
        return t("input.url")
    return None


def require_web_url(field: str, value: Any, *, site_path: bool = False) -> str:
    """``value`` when it is an acceptable web address; else 422 naming ``field``."""
    problem = web_url_problem(value, site_path=site_path)
    if problem:
        raise Invalid(t("input.invalid", field=field), {field: problem})
    return value
