"""The `clinguide` command: a thin shell over the engine.

Each verb lives in ``clinguide.commands.<verb>`` and imports the engine lazily (inside the
command function), so a single call starts fast. Exit codes: 0 ran, 2 bad input, 1 internal error.

Start-up: a plain ``check ... --format json`` runs without typer (``commands/quick.py``); any other
call builds a typer app holding only the verb it names (the whole app for help, no verb or an
unknown verb), so a call does not pay for building every verb's options.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

# The verbs, in the order they are registered; each module has ``register(app)``.
VERBS = ("kb", "check", "assess", "ask", "serve", "editorial", "audit")

HELP = "Offline, cited decision support: diazepam and muscle relaxants for back spasm; pain after spinal fusion."


def build_app(verbs: tuple[str, ...] = VERBS) -> typer.Typer:
    """The typer app with these verbs (all of them by default)."""
    import typer

    app = typer.Typer(
        name="clinguide",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for verb in verbs:
        importlib.import_module(f"clinguide.commands.{verb}").register(app)
    return app


def __getattr__(name: str) -> Any:
    """``clinguide.cli.app``: the whole typer app (tests and ``typer.testing.CliRunner`` use it)."""
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _run_typer(argv: list[str]) -> None:
    """Run typer on ``argv``: with only the named verb when there is one, else the whole app."""
    import typer.main

    verb = argv[0] if argv else ""
    if verb not in VERBS:
        build_app()()
        return
    # What Typer.__call__ does, on a group of the one verb (typer would make a lone command the whole program).
    if sys.excepthook != typer.main.except_hook:
        sys.excepthook = typer.main.except_hook
    typer.main.get_group(build_app((verb,)))()


def main() -> None:
    try:
        _serve_editorial_content()
        argv = sys.argv[1:]
        if argv[:1] == ["check"]:
            from clinguide.commands import quick

            if quick.run(argv):
                return
        _run_typer(argv)
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
