"""The head-office home (总览): sales attributed to clerks, contacts, replies, first response,
task completion and campaign results, today, this month and as daily trends."""
from flask import Flask


def init_app(app: Flask) -> None:
    from app.dashboard import routes

    app.register_blueprint(routes.bp)
