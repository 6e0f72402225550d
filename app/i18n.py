"""One translation mechanism for server and browser: JSON catalogues per locale and area.

``app/translations/<locale>/<area>.json`` files are merged per locale, so each area keeps its own
strings. zh-CN is the default and the fallback; English is available. ``t("key", n=3)`` formats
with ``str.format``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Flask, current_app, g, has_request_context, jsonify, request, session

LOCALES = ("zh-CN", "en")
_DIR = Path(__file__).resolve().parent / "translations"


def load_catalogues(directory: Path = _DIR) -> dict[str, dict[str, str]]:
    catalogues: dict[str, dict[str, str]] = {}
    for locale in LOCALES:
        merged: dict[str, str] = {}
        for path in sorted((directory / locale).glob("*.json")):
            merged.update(json.loads(path.read_text(encoding="utf-8")))
        catalogues[locale] = merged
    return catalogues


def init_app(app: Flask) -> None:
    app.extensions["daogou.i18n"] = load_catalogues()
    app.add_url_rule("/i18n/<locale>.json", "i18n_catalogue", _catalogue)


def negotiate_locale() -> str:
    """?lang= beats the session's choice, which beats the staff preference and the browser."""
    default = current_app.config.get("DEFAULT_LOCALE", "zh-CN")
    if not has_request_context():
        return default
    if "locale" in g:
        return g.locale
    wanted = request.args.get("lang") or session.get("locale")
    if wanted not in LOCALES:
        wanted = request.accept_languages.best_match(LOCALES, default=default) if request.accept_languages else default
    g.locale = wanted
    return wanted


def t(key: str, locale: str | None = None, **params: object) -> str:
    """The text for ``key`` in the locale (zh-CN if missing there; the key itself if nowhere)."""
    catalogues = current_app.extensions["daogou.i18n"]
    loc = locale or negotiate_locale()
    text = catalogues.get(loc, {}).get(key) or catalogues["zh-CN"].get(key) or key
    return text.format(**params) if params else text


_INDEX = re.compile(r"\[(\d+)\]")


def field_sentences(errors: dict[str, str], prefix: str) -> dict[str, str]:
    """A validator's ``{path: reason}`` as sentences a person reads, keyed by the same paths.

    The sentence for ``tiers[1].from`` is ``<prefix>.tiers.from`` in the catalogue, formatted with
    ``n``, the 1-based position of the first index; a path the catalogue does not know keeps the
    validator's reason (it names something no form sends: an integrator reads it).
    """
    catalogues = current_app.extensions["daogou.i18n"]
    texts = {**catalogues["zh-CN"], **catalogues.get(negotiate_locale(), {})}
    out = {}
    for path, reason in errors.items():
        text = texts.get(f"{prefix}.{_INDEX.sub('', path)}")
        index = _INDEX.search(path)
        out[path] = text.format(n=int(index.group(1)) + 1 if index else "") if text else reason
    return out


def _catalogue(locale: str):
    catalogues = current_app.extensions["daogou.i18n"]
    if locale not in catalogues:
        return jsonify({"error": "unknown locale", "fields": {"locale": f"one of {', '.join(LOCALES)}"}}), 404
    resp = jsonify(catalogues[locale])
    resp.cache_control.max_age = 300
    return resp
