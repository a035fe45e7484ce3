"""`clinguide check`: check one prescription for one patient."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from clinguide.commands.common import FORMATS_TEXT_JSON, check_format, fail, merge_case, print_json, read_json

ALCOHOL = ("none", "moderate", "heavy")
SETTINGS = ("back-spasm", "post-spinal-fusion")


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
    check_format(fmt, FORMATS_TEXT_JSON)
    if (order_file is None) == (sig is None):
        fail("give exactly one of --order FILE (Order JSON) or --sig TEXT (e.g. --sig 'diazepam 5 mg PO TID')")
    order: dict[str, Any] = read_json(order_file, "--order") if order_file is not None else {"sig": sig}
    case: dict[str, Any] = read_json(case_file, "--case") if case_file is not None else {}
    if alcohol is not None and alcohol not in ALCOHOL:
        fail(f"--alcohol: '{alcohol}' is not accepted; use one of: {', '.join(ALCOHOL)}")
    if setting is not None and setting not in SETTINGS:
        fail(f"--setting: '{setting}' is not accepted; use one of: {', '.join(SETTINGS)}")
    merge_case(
        case,
        {"age": age, "pregnant": pregnant, "sex": sex, "alcohol": alcohol, "setting": setting,
         "symptom_days": symptom_days},
        {"medications": med, "conditions": condition, "allergies": allergy, "tried": tried},
    )  # fmt: skip

    from clinguide.checks.engine import InputError, check

    try:
        result = check(order, case)
    except InputError as exc:
        fail("; ".join(f"{exc.what}.{f}: {m}" if f else f"{exc.what}: {m}" for f, m in exc.problems))
    if fmt == "json":
        print_json(result.to_json())
        return
    from clinguide.render.findings import print_result

    print_result(result)


def register(app: typer.Typer) -> None:
    app.command("check")(check_command)
