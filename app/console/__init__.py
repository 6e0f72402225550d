"""The clerk console's server side: conversations API, quick replies, uploads, Socket.IO handlers."""
from flask import Flask


def init_app(app: Flask) -> None:
    app.config.setdefault("UPLOAD_MAX_BYTES", 5 * 1024 * 1024)
    from app.console import events, routes, uploads

    app.register_blueprint(routes.bp)
    app.register_blueprint(uploads.bp)
    if app.config.get("TESTING"):
        from app.console import testing

        app.register_blueprint(testing.bp)
    events.register_handlers()
