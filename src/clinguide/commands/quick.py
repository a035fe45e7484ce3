"""`clinguide check ... --format json` without typer: the call a script makes once per order.

Importing typer and building its command (a pydantic TypeAdapter per option) costs about as much as
the check itself. A plain argument list for ``check --format json`` is therefore read here into the
keyword arguments typer would pass, and handed to the same function (``check_run.run_check``), with
typer's handling of exit codes around it. Anything else returns False and the caller runs typer, so
every help text, usage error and exit code stays typer's: another verb, ``--help``, ``--opt=value``,
an unknown or repeated single-valued option, a value that starts with ``-`` or is empty, a number
not written as plain digits, a format other than json, a stdout that is not UTF-8, shell completion.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Numbers typer (pydantic, lax) reads exactly as int()/float() do; others ("1e2", " 7", "1_000") go to typer.
_INT = re.compile(r"(?:0|[1-9][0-9]{0,8})")
_FLOAT = re.compile(r"(?:0|[1-9][0-9]{0,8})(?:\.[0-9]{1,9})?")


def parse(args: Sequence[str], options: Mapping[str, tuple[str, str | bool]]) -> dict[str, Any] | None:
    """The keyword arguments for ``args`` (the words after the verb), or None when typer should read them."""
    values: dict[str, Any] = {}
    i = 0
    while i < len(args):
        spec = options.get(args[i])
        if spec is None:
            return None
        name, kind = spec
        if isinstance(kind, bool):  # a flag
            if name in values:
                return None
            values[name] = kind
            i += 1
            continue
        if i + 1 >= len(args):
            return None
        raw = args[i + 1]
        if not raw or raw.startswith("-"):
            return None
        i += 2
        if kind == "list":
            values.setdefault(name, []).append(raw)
            continue
        if name in values:
            return None
        if kind == "int":
            if not _INT.fullmatch(raw):
                return None
            values[name] = int(raw)
        elif kind == "float":
            if not _FLOAT.fullmatch(raw):
                return None
            values[name] = float(raw)
        elif kind == "path":
            values[name] = Path(raw)
        else:
            values[name] = raw
    return values


def _plain(args: Sequence[str]) -> bool:
    """Arguments and environment the quick path reads exactly as typer would."""
    from clinguide.commands.common import stdout_is_utf8

    if any(key.endswith("_COMPLETE") for key in os.environ):  # a shell-completion request is typer's
        return False
    try:
        for arg in args:
            arg.encode("utf-8")  # no lone surrogates (undecodable bytes in argv)
    except UnicodeEncodeError:
        return False
    return stdout_is_utf8()


def run(argv: Sequence[str]) -> bool:
    """Run ``argv`` (``sys.argv[1:]``) if it is a plain ``check ... --format json``; False to let typer run it."""
    if not argv or argv[0] != "check" or "--format" not in argv:
        return False
    from clinguide.commands.check_run import OPTIONS, run_check

    kwargs = parse(argv[1:], OPTIONS)
    if kwargs is None or kwargs.get("fmt") != "json" or not _plain(argv):
        return False
    _as_typer_does(run_check, kwargs)
    return True


def _as_typer_does(command: Any, kwargs: dict[str, Any]) -> None:
    """Call ``command`` with the exit-code handling of typer's standalone main (``typer/core.py:_main``)."""
    try:
        command(**kwargs)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:
        import errno

        if exc.errno != errno.EPIPE:
            raise
        from typer._click.utils import PacifyFlushWrapper

        sys.stdout = PacifyFlushWrapper(sys.stdout)  # type: ignore[assignment]
        sys.stderr = PacifyFlushWrapper(sys.stderr)  # type: ignore[assignment]
        sys.exit(1)
    except Exception as exc:
        exit_code = _typer_exit_code(exc)
        if exit_code is None:
            raise
        sys.exit(exit_code)
    sys.exit(0)


def _typer_exit_code(exc: BaseException) -> int | None:
    """The code of a ``typer.Exit`` (raised by ``commands.common.fail``, which imported typer), else None."""
    typer = sys.modules.get("typer")
    if typer is None or not isinstance(exc, typer.Exit):
        return None
    return int(exc.exit_code)
