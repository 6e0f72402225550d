"""今日: the clerk's ranked contact list with reasons, and what they did with each suggestion."""
from flask import Flask


def init_app(app: Flask) -> None:
    from app.today.routes import bp

    app.register_blueprint(bp)
