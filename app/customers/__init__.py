"""The follower book: customer profiles and lists, scoped by role."""
from flask import Flask


def init_app(app: Flask) -> None:
    from app.customers.routes import bp

    app.register_blueprint(bp)
