"""Integrator ingestion (数据接入): bulk upsert API, CSV import and their OpenAPI paths."""
from flask import Flask


def init_app(app: Flask) -> None:
    from app import api_docs
    from app.ingest import commands, routes
    from app.ingest.openapi import PATHS, schemas

    api_docs.init_app(app)
    app.register_blueprint(routes.bp)
    api_docs.register_paths(app, PATHS, schemas())
    commands.init_app(app)
