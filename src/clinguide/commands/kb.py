"""`clinguide kb validate|show|stats`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clinguide.commands.common import FORMATS_TEXT_JSON, check_format, fail, print_json

kb_app = typer.Typer(help="Inspect and validate the knowledge pack.", no_args_is_help=True)


@kb_app.command("validate")
def validate(
    pack: Annotated[
        Path | None, typer.Option("--pack", help="A pack directory to validate instead of the shipped one")
    ] = None,
) -> None:
    """Validate the whole pack; exit 2 naming file, item and field of each problem."""
    from clinguide.kb.validate import validate_pack

    if pack is not None and not pack.is_dir():
        fail(f"--pack: {pack} is not a directory")
    problems = validate_pack(pack)
    if problems:
        for problem in problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(problems)} problem(s) in the knowledge pack", err=True)
        raise typer.Exit(2)
    if pack is not None:
        typer.echo(f"knowledge pack at {pack} is valid")
        return
    from clinguide.kb import shipped_kb

    kb = shipped_kb()
    typer.echo(f"knowledge pack {kb.version} is valid")


@kb_app.command("stats")
def stats(fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text") -> None:
    """Counts of sources, drugs, conditions, therapies, statements and plans."""
    check_format(fmt, FORMATS_TEXT_JSON)
    from clinguide.kb import get_kb

    kb = get_kb()
    counts = {
        "version": kb.version,
        "sources": len(kb.sources),
        "classes": len(kb.classes),
        "monographs": sum(1 for d in kb.drugs.values() if d.role == "monograph"),
        "agents": sum(1 for d in kb.drugs.values() if d.role == "agent"),
        "rxnorm_codes": len(kb.rxnorm_index),
        "conditions": len(kb.conditions),
        "therapies": len(kb.therapies),
        "interactions": len(kb.interactions),
        "statements": len(kb.statements),
        "plans": len(kb.plans),
        "last_reviewed": kb.last_reviewed.isoformat() if kb.last_reviewed else None,
    }
    if fmt == "json":
        print_json(counts)
        return
    for key, value in counts.items():
        typer.echo(f"{key:>14}: {value}")


@kb_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="A drug, condition or therapy by any of its names")],
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Show a drug (monograph or agent), condition or therapy found by any of its names."""
    check_format(fmt, FORMATS_TEXT_JSON)
    from clinguide.kb import get_kb
    from clinguide.render.monograph import print_item

    kb = get_kb()
    for kind, resolver, table in (
        ("drug", kb.resolve_drug, kb.drugs),
        ("condition", kb.resolve_condition, kb.conditions),
        ("therapy", kb.resolve_therapy, kb.therapies),
    ):
        match = resolver(name)
        if match:
            item = table[match.id]
            if fmt == "json":
                print_json(
                    {"kind": kind, "matched": match.matched, "how": match.how, "item": item.model_dump(mode="json")}
                )
            else:
                print_item(kb, kind, item, match)
            return
    fail(f"'{name}' is not a drug, condition or therapy in the knowledge pack (try `clinguide kb stats`)")


def register(app: typer.Typer) -> None:
    app.add_typer(kb_app, name="kb")
