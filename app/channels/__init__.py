"""Channel callbacks (``/channels/<kind>/<account>``) and the outbox dispatcher."""
from flask import Flask


def init_app(app: Flask) -> None:
    import connectors.loopback  # noqa: F401  (registers the demo channel)
