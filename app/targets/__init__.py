"""Monthly sales targets (业绩目标): set by managers and head office, read on the earnings screens."""
from flask import Flask


def init_app(app: Flask) -> None:
    from app.targets.routes import bp

    app.register_blueprint(bp)
