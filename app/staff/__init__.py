"""Head office's staff management: clerks, deactivation and the follower handover."""
from flask import Flask


def init_app(app: Flask) -> None:
    from app.staff import routes

    app.register_blueprint(routes.bp)
