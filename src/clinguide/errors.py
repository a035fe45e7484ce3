"""Errors every interface maps to a clear message: bad input (exit 2 / HTTP 4xx)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # no pydantic import for the cheap CLI paths that only need InputError
    from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound="BaseModel")


class InputError(ValueError):
    """Input that cannot be used; the message names the field, what was wrong and what is accepted."""

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(message)


class ContractError(InputError):
    """Input that does not fit a contract (Order, Case). ``problems`` lists (field, message) pairs."""

    def __init__(self, what: str, problems: list[tuple[str, str]]):
        self.what = what
        self.problems = problems
        first = problems[0][0] if problems else ""
        super().__init__(
            "; ".join(f"{what}.{f}: {m}" if f else f"{what}: {m}" for f, m in problems),
            field=f"{what}.{first}" if first else what,
        )


def problem_message(err: Mapping[str, Any]) -> str:
    """The one wording of a pydantic error, for every interface (CLI, REST, Python API)."""
    kind = err.get("type")
    if kind == "extra_forbidden":
        return "is not a field of this contract (check the spelling)"
    if kind == "missing":
        return "is required"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"should be a JSON object with named fields, not {_json_kind(err.get('input'))}"
    return str(err.get("msg", "is not valid"))


def _json_kind(value: Any) -> str:
    """How a JSON reader would name a value's type ("a string", "a list")."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__


def validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(field path, message) for each problem of a pydantic ValidationError."""
    return [(".".join(str(part) for part in err["loc"]), problem_message(err)) for err in exc.errors()]


def describe_validation_error(exc: ValidationError, what: str) -> str:
    """One line per problem: `case.age: Input should be less than or equal to 130`."""
    return "; ".join(f"{what}.{where}: {message}" if where else f"{what}: {message}"
                     for where, message in validation_problems(exc))


def coerce(value: Any, model: type[M], what: str) -> M:
    """The one path from input (a model, a dict, or a sig string for an Order) to a contract model.

    Anything that does not fit raises :class:`ContractError` naming each field and the problem.
    """
    from pydantic import ValidationError as _ValidationError

    if isinstance(value, model):
        return value
    if isinstance(value, str) and model.__name__ == "Order":
        value = {"sig": value}
    if not isinstance(value, Mapping):
        raise ContractError(what, [("", f"expected a JSON object, not {type(value).__name__}")])
    try:
        return model.model_validate(dict(value))
    except _ValidationError as exc:
        raise ContractError(what, validation_problems(exc)) from None
