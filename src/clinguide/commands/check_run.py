"""What `clinguide check` does once its options are read.

Typer-free, so that the quick path (``commands/quick.py``) runs the very same code as the typer
command in ``commands/check.py`` without importing typer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clinguide.commands.common import FORMATS_TEXT_JSON, check_format, fail, merge_case, print_json, read_json

ALCOHOL = ("none", "moderate", "heavy")
SETTINGS = ("back-spasm", "post-spinal-fusion")

# The options of `clinguide check` as the quick path reads them: option -> (parameter, kind). A kind is
# "str", "path", "float", "int", "list" (repeatable) or a bool constant (a flag). tests/test_cli_quick.py
# holds this table to the typer signature of commands/check.py:check_command.
OPTIONS: dict[str, tuple[str, str | bool]] = {
    "--order": ("order_file", "path"),
    "--sig": ("sig", "str"),
    "--case": ("case_file", "path"),
    "--age": ("age", "float"),
    "--med": ("med", "list"),
    "--condition": ("condition", "list"),
    "--allergy": ("allergy", "list"),
    "--tried": ("tried", "list"),
    "--pregnant": ("pregnant", True),
    "--not-pregnant": ("pregnant", False),
    "--sex": ("sex", "str"),
    "--alcohol": ("alcohol", "str"),
    "--setting": ("setting", "str"),
    "--days-of-symptoms": ("symptom_days", "int"),
    "--symptom-days": ("symptom_days", "int"),
    "--format": ("fmt", "str"),
}


def run_check(
    order_file: Path | None = None,
    sig: str | None = None,
    case_file: Path | None = None,
    age: float | None = None,
    med: list[str] | None = None,
    condition: list[str] | None = None,
    allergy: list[str] | None = None,
    tried: list[str] | None = None,
    pregnant: bool | None = None,
    sex: str | None = None,
    alcohol: str | None = None,
    setting: str | None = None,
    symptom_days: int | None = None,
    fmt: str = "text",
) -> None:
    """Check a prescription (order or sig) for a patient and print findings, sources and verdict."""
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
        fail(str(exc))  # ContractError's message: "order.dose: …; case.age: …"
    if fmt == "json":
        print_json(result.to_json())
        return
    from clinguide.render.findings import print_result

    print_result(result)
