"""The `clinguide` command: a thin shell over the engine.

Each verb lives in ``clinguide.commands.<verb>`` and imports the engine lazily (inside the
command function), so a single call starts fast. Exit codes: 0 ran, 2 bad input, 1 internal error.
"""

from __future__ import annotations

import sys

import typer

from clinguide.commands import ask, assess, audit, check, editorial, kb, serve

VERBS = (kb, check, assess, ask, serve, editorial, audit)

app = typer.Typer(
    name="clinguide",
    help="Offline, cited decision support: diazepam and muscle relaxants for back spasm; pain after spinal fusion.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _verb in VERBS:
    _verb.register(app)


def main() -> None:
    try:
        _serve_editorial_content()
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the last line of defence: no traceback to the user
        from clinguide.errors import InputError

        if isinstance(exc, InputError):  # e.g. a setting in the environment that is not accepted
            print(f"clinguide: {exc}", file=sys.stderr)
            sys.exit(2)
        print(f"clinguide: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("Please report this with the command you ran.", file=sys.stderr)
        sys.exit(1)


def _serve_editorial_content() -> None:
    """Answers, checks and plans use approved editorial versions whenever a store exists (cheap when none does)."""
    from clinguide.editorial.overlay import install_if_configured

    install_if_configured(only_with_content=True)


if __name__ == "__main__":  # python -m clinguide.cli
    main()
