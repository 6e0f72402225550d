"""Serve ``web/`` (the console and head-office pages) as static files, cache-busted.

``/static/<version>/<path>`` is cached for a year: the version is a hash of the file tree taken
at start-up, so a deploy changes every URL. HTML pages are served with no-cache and get the
version substituted for ``{{V}}``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, Response, abort, current_app, redirect, send_from_directory
from flask_compress import Compress

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
compress = Compress()


def tree_version(root: Path = WEB_DIR) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:10]


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_MIMETYPES", [
        "text/html", "text/css", "application/javascript", "text/javascript", "application/json",
        "image/svg+xml", "application/manifest+json",
    ])
    app.config.setdefault("COMPRESS_ALGORITHM", ["gzip"])
    compress.init_app(app)
    app.extensions["daogou.web_version"] = tree_version()
    app.add_url_rule("/", "index", lambda: redirect("/console/"))
    app.add_url_rule("/console/", "console", lambda: page("console/index.html"))
    app.add_url_rule("/hq/", "hq", lambda: page("hq/index.html"))
    app.add_url_rule("/console/sw.js", "console_worker", service_worker)
    app.add_url_rule("/static/<version>/<path:path>", "static_file", static_file)
    app.after_request(_never_framed)


def page(relative: str) -> Response:
    path = WEB_DIR / relative
    if not path.is_file():
        abort(404)
    html = path.read_text(encoding="utf-8").replace("{{V}}", current_app.extensions["daogou.web_version"])
    resp = Response(html, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self' ws: wss:; script-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
        "form-action 'self'")
    return resp


def service_worker() -> Response:
    """The console's service worker, at the console's own path so that it may control it."""
    script = (WEB_DIR / "console" / "sw.js").read_text(encoding="utf-8")
    resp = Response(script.replace("{{V}}", current_app.extensions["daogou.web_version"]),
                    mimetype="application/javascript")
    resp.headers["Cache-Control"] = "no-cache"  # a deploy must reach the browser at once
    return resp


def _never_framed(resp: Response) -> Response:
    """No page of ours is ever shown inside another site's frame (clickjacking); the CSP of each
    page says the same with ``frame-ancestors``, this header covers older browsers."""
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    return resp


def static_file(version: str, path: str) -> Response:
    resp = send_from_directory(WEB_DIR, path, max_age=31536000 if version == current_app.extensions["daogou.web_version"] else 0)
    # A streamed file response is not gzipped by Flask-Compress; read it in (the largest static
    # file is ~1 MB) so scripts and styles go out compressed — the console's first-load budget.
    resp.direct_passthrough = False
    resp.make_sequence()
    return resp
