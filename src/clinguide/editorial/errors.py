"""Refused editorial operations; each carries the HTTP status and code the REST API answers with."""

from __future__ import annotations


class EditorialError(Exception):
    """A refused operation; ``status`` is the HTTP status the REST API answers with."""

    status = 400
    code = "bad-request"

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []


class Unauthorized(EditorialError):
    status, code = 401, "unauthorized"


class Forbidden(EditorialError):
    status, code = 403, "forbidden"


class NotFound(EditorialError):
    status, code = 404, "not-found"


class IllegalTransition(EditorialError):
    status, code = 409, "illegal-transition"


class Conflict(EditorialError):
    status, code = 409, "conflict"


class InvalidContent(EditorialError):
    status, code = 422, "invalid-content"
