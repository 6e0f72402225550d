"""Domain errors and their JSON form: ``{"error": "...", "fields": {"name": "reason"}}``."""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """Base for errors an action raises; views map them to a status code."""

    status = 400

    def __init__(self, message: str, fields: dict[str, str] | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}
        if status is not None:
            self.status = status

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body


class Invalid(DomainError):
    """Bad input: names each offending field and why."""

    status = 422


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class TooManyAttempts(DomainError):
    """Refused for now (login throttling); ``headers`` carries ``Retry-After``."""

    status = 429


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)


def _domain_error(err: DomainError):
    return jsonify(err.to_dict()), err.status, err.headers


def _http_error(err: HTTPException):
    if request.path.startswith(("/api/", "/auth/", "/channels/", "/healthz")):
        return jsonify({"error": err.description or err.name}), err.code
    return err
