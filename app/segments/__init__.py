"""Segments: head office's saved filters over customers, previewed with a live count."""
from flask import Flask


def init_app(app: Flask) -> None:
    from app.segments.routes import bp

    app.register_blueprint(bp)
