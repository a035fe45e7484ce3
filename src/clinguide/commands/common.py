"""Helpers shared by the CLI verbs: input errors with exit code 2, JSON files, output."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer

FORMATS_TEXT_JSON = ("text", "json")


def fail(message: str, code: int = 2) -> NoReturn:
    """Report bad input on stderr and exit (2 = bad input)."""
    typer.echo(f"clinguide: {message}", err=True)
    raise typer.Exit(code)


def read_json(path: Path, what: str) -> dict[str, Any]:
    """Read a JSON object from a file, failing with a message that names the file and the problem."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{what}: file not found: {path}")
    except OSError as exc:
        fail(f"{what}: cannot read {path}: {exc.strerror}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{what}: {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
    if not isinstance(data, dict):
        fail(f"{what}: {path} must hold a JSON object, not {type(data).__name__}")
    return data


def check_format(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        fail(f"--format: '{value}' is not accepted; use one of: {', '.join(allowed)}")
    return value


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def merge_case(case: dict[str, Any], scalars: dict[str, Any], lists: dict[str, list[str] | None]) -> dict[str, Any]:
    """A case file (or {}) with the terminal's quick flags on top: scalars replace, repeated flags append."""
    case.update({key: value for key, value in scalars.items() if value is not None})
    for key, values in lists.items():
        if values:
            existing = case.get(key) if isinstance(case.get(key), list) else []
            case[key] = [*existing, *values]
    return case
