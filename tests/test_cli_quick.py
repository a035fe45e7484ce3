"""The quick path of `clinguide check ... --format json` (commands/quick.py) answers exactly as typer does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from clinguide import cli
from clinguide.commands import check as check_command_module
from clinguide.commands import quick
from clinguide.commands.check_run import OPTIONS

SIG = "diazepam 5 mg PO q8h prn x 7 days"


def test_options_table_matches_the_typer_signature():
    app = typer.Typer(add_completion=False)
    check_command_module.register(app)
    command = typer.main.get_command(app)
    seen: dict[str, tuple[str, str | bool]] = {}
    for param in command.params:
        if param.name == "help":
            continue
        for opt in param.opts:
            seen[opt] = (param.name, "list" if param.multiple else "flag" if param.is_flag else "value")
        for opt in param.secondary_opts:
            seen[opt] = (param.name, "flag")
    expected = {
        opt: (name, "list" if kind == "list" else "flag" if isinstance(kind, bool) else "value")
        for opt, (name, kind) in OPTIONS.items()
    }
    assert seen == expected
    hints = typer.main.get_params_from_function(check_command_module.check_command)
    kinds = {"str": str, "path": Path, "float": float, "int": int}
    for opt, (name, kind) in OPTIONS.items():
        annotation = hints[name].annotation
        if isinstance(kind, bool):
            assert annotation == bool | None, opt
        elif kind == "list":
            assert annotation == list[str] | None, opt
        elif name == "fmt":
            assert annotation is str
        else:
            assert annotation == kinds[kind] | None, opt


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--sig", SIG, "--format", "json"], {"sig": SIG, "fmt": "json"}),
        (["--age", "70", "--med", "a", "--med", "b", "--not-pregnant", "--symptom-days", "12", "--format", "json"],
         {"age": 70.0, "med": ["a", "b"], "pregnant": False, "symptom_days": 12, "fmt": "json"}),
        (["--order", "o.json", "--case", "c.json"], {"order_file": Path("o.json"), "case_file": Path("c.json")}),
        (["--age", "70.5"], {"age": 70.5}),
        (["--sig=x"], None),
        (["--sig", "x", "--sig", "y"], None),
        (["--pregnant", "--not-pregnant"], None),
        (["--sig", "-5 mg"], None),
        (["--sig", ""], None),
        (["--sig"], None),
        (["--age", "1e2"], None),
        (["--age", " 70"], None),
        (["--age", "007"], None),
        (["--days-of-symptoms", "1_000"], None),
        (["--help"], None),
        (["extra"], None),
        (["--order", "-"], None),
    ],
)
def test_parse(args, expected):
    assert quick.parse(args, OPTIONS) == expected


CASES = [
    ["check", "--sig", SIG, "--age", "70", "--med", "oxycodone", "--format", "json"],
    ["check", "--format", "json", "--sig", "flexeril 10 tid x 2 wks", "--condition", "copd", "--condition", "OSA"],
    ["check", "--sig", "tizanidine 4 mg q8h", "--med", "ciprofloxacin", "--sex", "female", "--age", "33.5",
     "--pregnant", "--format", "json"],
    ["check", "--sig", "flubberol 10 mg bid", "--format", "json"],
    ["check", "--sig", "diazepam 5 mg", "--alcohol", "heavy", "--setting", "post-spinal-fusion",
     "--days-of-symptoms", "3", "--tried", "heat", "--allergy", "penicillin", "--format", "json"],
    ["check", "--sig", "diazepam 5 mg", "--alcohol", "lots", "--format", "json"],  # exit 2 from fail()
    ["check", "--sig", "diazepam 5 mg", "--setting", "icu", "--format", "json"],
    ["check", "--sig", "diazepam 5 mg", "--age", "200", "--format", "json"],  # exit 2 from the contract
    ["check", "--format", "json"],  # neither --order nor --sig
    ["check", "--sig", "x", "--order", "o.json", "--format", "json"],
    ["check", "--order", "/nonexistent/order.json", "--format", "json"],
    ["check", "--sig", "x", "--format", "xml"],  # typer's path
    ["check", "--sig", "x", "--age", "abc", "--format", "json"],  # typer's path: usage error
    ["check", "--sig=diazepam 2 mg", "--format", "json"],  # typer's path
]


def _run(argv: list[str], monkeypatch, capsys, quick_enabled: bool) -> tuple[int, str, str, bool]:
    ran = []
    real = quick._as_typer_does

    def spy(command, kwargs):
        ran.append(True)
        real(command, kwargs)

    monkeypatch.setattr(quick, "_as_typer_does", spy)
    if not quick_enabled:
        monkeypatch.setattr(quick, "run", lambda argv: False)
    monkeypatch.setattr(sys, "argv", ["clinguide", *argv])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    out, err = capsys.readouterr()
    return (exit_info.value.code or 0), out, err, bool(ran)


@pytest.mark.parametrize("argv", CASES)
def test_quick_path_prints_what_typer_prints(argv, monkeypatch, capsys):
    code, out, err, quick_ran = _run(argv, monkeypatch, capsys, quick_enabled=True)
    with monkeypatch.context() as m:
        typer_code, typer_out, typer_err, _ = _run(argv, m, capsys, quick_enabled=False)
    assert (code, out, err) == (typer_code, typer_out, typer_err)
    plain = "--format" in argv and argv[argv.index("--format") + 1] == "json" and not any("=" in a for a in argv)
    assert quick_ran == (plain and "abc" not in argv)
    if code == 0:
        assert json.loads(out)["verdict"]


def test_quick_path_does_not_import_typer(tmp_path):
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('TYPER-IMPORTED' if 'typer' in sys.modules else 'NO-TYPER'))\n"
        "from clinguide.cli import main\n"
        f"sys.argv = ['clinguide', 'check', '--sig', {SIG!r}, '--age', '70', '--format', 'json']\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.endswith("NO-TYPER")
    assert json.loads(result.stdout)["order"]["drug"] == "diazepam"


def test_a_stdout_that_is_not_utf8_goes_through_typer(monkeypatch):
    class Latin1:
        encoding = "latin-1"

    monkeypatch.setattr(sys, "stdout", Latin1())
    assert quick.run(["check", "--sig", "x", "--format", "json"]) is False
