"""`clinguide assess --case FILE [quick flags] [--format text|json]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from clinguide.commands.common import FORMATS_TEXT_JSON, check_format, fail, merge_case, print_json, read_json


def assess_command(
    case_file: Annotated[Path | None, typer.Option("--case", help="Case JSON file ('-' for stdin)")] = None,
    age: Annotated[float | None, typer.Option(help="Age in years")] = None,
    days: Annotated[int | None, typer.Option("--days", help="Days of symptoms")] = None,
    spasm: Annotated[str | None, typer.Option(help="none, mild, moderate or severe")] = None,
    tried: Annotated[list[str] | None, typer.Option("--tried", help="A therapy tried without enough relief")] = None,
    med: Annotated[list[str] | None, typer.Option("--med", help="A current medication")] = None,
    condition: Annotated[list[str] | None, typer.Option("--condition", help="A condition")] = None,
    symptom: Annotated[list[str] | None, typer.Option("--symptom", help="A symptom (red flags are looked for)")] = None,
    setting: Annotated[str | None, typer.Option(help="back-spasm or post-spinal-fusion")] = None,
    surgery_phase: Annotated[str | None, typer.Option("--surgery-phase", help="pre-op, intra-op or post-op")] = None,
    hours: Annotated[float | None, typer.Option("--hours-since-surgery", help="Hours since surgery")] = None,
    pregnant: Annotated[bool | None, typer.Option("--pregnant/--not-pregnant")] = None,
    alcohol: Annotated[str | None, typer.Option(help="none, moderate or heavy")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """A care plan for one patient: phase, steps, a verdict on diazepam, a preferred relaxant."""
    check_format(fmt, FORMATS_TEXT_JSON)
    case: dict[str, Any] = read_json(case_file, "--case") if case_file else {}
    merge_case(
        case,
        {
            "age": age,
            "symptom_days": days,
            "spasm": spasm,
            "setting": setting,
            "surgery_phase": surgery_phase,
            "hours_since_surgery": hours,
            "pregnant": pregnant,
            "alcohol": alcohol,
        },
        {"tried": tried, "medications": med, "conditions": condition, "symptoms": symptom},
    )

    from clinguide.errors import InputError
    from clinguide.plans.assess import assess

    try:
        plan = assess(case)
    except InputError as exc:
        fail(str(exc))
    if fmt == "json":
        print_json(plan.to_json())
        return
    from clinguide.render.plan import print_plan

    print_plan(plan)


def register(app: typer.Typer) -> None:
    app.command("assess")(assess_command)
