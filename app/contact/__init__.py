"""The contact policy as the application applies it: settings, bulk history, decisions."""
from flask import Flask


def init_app(app: Flask) -> None:
    from app.contact.routes import bp

    app.register_blueprint(bp)
