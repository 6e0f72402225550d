"""Channel callbacks (``/channels/<kind>/<account>``), accounts, and the outbox dispatcher."""
from flask import Flask


def init_app(app: Flask) -> None:
    import connectors.bridge
    import connectors.registry
    from app import api_docs, jobs
    from app.channels import accounts, commands, dispatch, inbox, kf, routes

    connectors.registry.load_all()  # importing a connector module registers its channel kind
    app.extensions["daogou.channels"] = accounts.ChannelRegistry(app)
    app.extensions["daogou.inbox"] = inbox.Inbox(app)
    app.register_blueprint(routes.bp)
    api_docs.register_paths(app, connectors.bridge.OPENAPI_PATHS, connectors.bridge.OPENAPI_SCHEMAS)
    dispatch.init_app(app)
    jobs.runner(app).every(app.config.get("KF_SYNC_SECONDS", 60), kf.sync_all_kf, name="channels.kf_sync")
    commands.init_app(app)
