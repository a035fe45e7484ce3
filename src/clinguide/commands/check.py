"""`clinguide check`: check one prescription for one patient (the typer signature; the work is in check_run)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clinguide.commands.check_run import run_check


def check_command(
    order_file: Annotated[Path | None, typer.Option("--order", help="Order JSON file ('-' for stdin)")] = None,
    sig: Annotated[str | None, typer.Option("--sig", help="A free-text sig, e.g. 'diazepam 5 mg PO q8h x 7 days'")]
    = None,
    case_file: Annotated[Path | None, typer.Option("--case", help="Case JSON file")] = None,
    age: Annotated[float | None, typer.Option("--age", help="Age in years")] = None,
    med: Annotated[list[str] | None, typer.Option("--med", help="Current medication (repeatable)")] = None,
    condition: Annotated[list[str] | None, typer.Option("--condition", help="Condition (repeatable)")] = None,
    allergy: Annotated[list[str] | None, typer.Option("--allergy", help="Drug allergy (repeatable)")] = None,
    tried: Annotated[list[str] | None, typer.Option("--tried", help="Therapy tried (repeatable)")] = None,
    pregnant: Annotated[bool | None, typer.Option("--pregnant/--not-pregnant", help="Pregnancy status")] = None,
    sex: Annotated[str | None, typer.Option("--sex", help="female, male, other or unknown")] = None,
    alcohol: Annotated[str | None, typer.Option("--alcohol", help="none, moderate or heavy")] = None,
    setting: Annotated[str | None, typer.Option("--setting", help="back-spasm or post-spinal-fusion")] = None,
    symptom_days: Annotated[int | None, typer.Option("--days-of-symptoms", "--symptom-days",
                                                     help="Days since symptoms began")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Check a prescription (order or sig) for a patient: findings, sources, verdict."""
    run_check(order_file=order_file, sig=sig, case_file=case_file, age=age, med=med, condition=condition,
              allergy=allergy, tried=tried, pregnant=pregnant, sex=sex, alcohol=alcohol, setting=setting,
              symptom_days=symptom_days, fmt=fmt)


def register(app: typer.Typer) -> None:
    app.command("check")(check_command)
