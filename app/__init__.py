"""The Daogou Flask application. ``create_app`` is the table of contents."""
from __future__ import annotations

from typing import Any

from flask import Flask

from app import config as config_module


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application; tests pass a config dict that overrides the environment."""
    app = Flask(__name__, static_folder=None, instance_path=config_module.INSTANCE_DIR.as_posix())
    app.config.update(config_module.from_env())
    if config:
        app.config.update(config)
        if "DATABASE_URL" in config:
            app.config["DATABASE_URL"] = config_module.normalise_database_url(config["DATABASE_URL"])

    # Infrastructure first, then the domain areas, then the web shell and CLI.
    from app import audit, auth, cli, counters, db, errors, health, hooks, i18n, jobs, logs, params, realtime, web
    from app import (care, channels, coach, commission, console, contact, coupons, customers, dashboard, demo, drafts,
                     followers, ingest, links, messaging, model, reception, staff, targets, today)

    logs.init_app(app)
    errors.init_app(app)
    params.init_app(app)
    db.init_app(app)
    hooks.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    audit.init_app(app)
    realtime.init_app(app)
    counters.init_app(app)
    jobs.init_app(app)
    health.init_app(app)

    customers.init_app(app)
    ingest.init_app(app)
    coupons.init_app(app)
    messaging.init_app(app)
    drafts.init_app(app)
    contact.init_app(app)
    channels.init_app(app)
    reception.init_app(app)
    followers.init_app(app)
    care.init_app(app)
    commission.init_app(app)
    targets.init_app(app)
    links.init_app(app)
    model.init_app(app)
    today.init_app(app)
    coach.init_app(app)

    console.init_app(app)
    dashboard.init_app(app)
    staff.init_app(app)
    web.init_app(app)
    demo.init_app(app)
    cli.init_app(app)
    return app
