"""Errors the server's code raises; ``app.py`` turns each into its HTTP status, in one place."""

from __future__ import annotations


class ApiError(Exception):
    """A request the server refuses; ``status`` is its HTTP code, ``detail`` the message."""

    status = 500

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413
