"""Errors every interface maps to a clear message: bad input (exit 2 / HTTP 4xx)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # no pydantic import for the cheap CLI paths that only need InputError
    from pydantic import ValidationError


class InputError(ValueError):
    """Input that cannot be used; the message names the field, what was wrong and what is accepted."""

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(message)


def describe_validation_error(exc: ValidationError, what: str) -> str:
    """One line per problem: `case.age: Input should be less than or equal to 130`."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"])
        prefix = f"{what}.{where}" if where else what
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "is not a known field"
        lines.append(f"{prefix}: {message}")
    return "; ".join(lines)
