"""`clinguide ask "QUESTION" [--audience clinician|patient] [--format text|markdown|html|json] [--full]`.

The default answer is the budgeted view; ``--full`` adds ``more`` (JSON always carries every key).
"""

from __future__ import annotations

from typing import Annotated

import typer

from clinguide.commands.common import check_format, fail

AUDIENCES = ("clinician", "patient")
FORMATS = ("text", "markdown", "html", "json")
MAX_CHARS = 2000


def ask_command(
    question: Annotated[str, typer.Argument(help="The question, in your own words (quote it)")],
    audience: Annotated[str, typer.Option("--audience", help="clinician or patient")] = "clinician",
    fmt: Annotated[str, typer.Option("--format", help="text, markdown, html or json")] = "text",
    full: Annotated[bool, typer.Option("--full", help="also print the sections beyond the default view")] = False,
) -> None:
    """Answer a question from the reviewed, cited statements of the knowledge pack."""
    check_format(fmt, FORMATS)
    if audience not in AUDIENCES:
        fail(f"--audience: '{audience}' is not accepted; use one of: {', '.join(AUDIENCES)}")
    if not question.strip():
        fail('QUESTION: the question is empty; ask for example: clinguide ask "Should I use diazepam for back spasm?"')
    if len(question) > MAX_CHARS:
        fail(f"QUESTION: the question is {len(question)} characters long; at most {MAX_CHARS} are accepted")

    from clinguide.answers.compose import ask
    from clinguide.render.article import print_terminal, render

    article = ask(question, audience)
    if fmt == "text":
        print_terminal(article, full=full)
    else:
        typer.echo(render(article, fmt, full=full), nl=False)


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)
