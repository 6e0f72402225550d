"""Brand settings head office can change; each part registers its own routes."""
from flask import Flask


def init_app(app: Flask) -> None:
    from app.settings.tag_rules import bp as tag_rules_bp

    app.register_blueprint(tag_rules_bp)
