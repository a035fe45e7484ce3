"""Helpers shared by the CLI verbs: input errors with exit code 2, JSON files, output.

Typer is imported only on the error path: the quick path (``commands/quick.py``) runs without it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

FORMATS_TEXT_JSON = ("text", "json")


def fail(message: str, code: int = 2) -> NoReturn:
    """Report bad input on stderr and exit (2 = bad input)."""
    import typer

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


def stdout_is_utf8() -> bool:
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    return encoding == "utf8"


def print_json(data: Any) -> None:
    """The JSON and a newline on stdout, flushed.

    On a UTF-8 stdout this is what ``typer.echo`` writes (JSON escapes every control character, so
    there are no ANSI codes for it to strip); any other stdout goes through ``typer.echo``, which may
    re-encode it.
    """
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if stdout_is_utf8():
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return
    import typer

    typer.echo(text)


def merge_case(case: dict[str, Any], scalars: dict[str, Any], lists: dict[str, list[str] | None]) -> dict[str, Any]:
    """A case file (or {}) with the terminal's quick flags on top: scalars replace, repeated flags append."""
    case.update({key: value for key, value in scalars.items() if value is not None})
    for key, values in lists.items():
        if values:
            existing = case.get(key) if isinstance(case.get(key), list) else []
            case[key] = [*existing, *values]
    return case
