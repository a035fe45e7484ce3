"""`clinguide assess` at the terminal: quick flags, case files, JSON contract, bad input."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from clinguide.cli import app

runner = CliRunner()


def test_quick_flags_text_reads_like_a_note():
    result = runner.invoke(
        app, ["assess", "--age", "44", "--days", "5", "--spasm", "severe", "--tried", "heat", "--tried", "ibuprofen"]
    )
    assert result.exit_code == 0, result.output
    assert "Diazepam: may be considered, short-term only" in result.output
    assert "(consider-short-term)" not in result.output  # the label, not its machine code (issue 12)
    assert "Plan" in result.output


def test_case_file_json_is_the_plan_contract(tmp_path):
    case = tmp_path / "case.json"
    case.write_text(
        json.dumps(
            {
                "age": 60,
                "setting": "post-spinal-fusion",
                "surgery_phase": "post-op",
                "hours_since_surgery": 30,
                "spasm": "moderate",
            }
        )
    )
    result = runner.invoke(app, ["assess", "--case", str(case), "--format", "json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert set(plan) >= {
        "setting",
        "phase",
        "steps",
        "diazepam",
        "preferred_muscle_relaxant",
        "findings",
        "sources",
        "knowledge_version",
    }
    assert plan["phase"] == "post-op-early"
    assert plan["diazepam"]["verdict"] == "avoid"


def test_bad_value_exits_2_naming_the_field():
    result = runner.invoke(app, ["assess", "--spasm", "extreme"])
    assert result.exit_code == 2
    assert "case.spasm" in result.output


def test_missing_case_file_exits_2(tmp_path):
    result = runner.invoke(app, ["assess", "--case", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "file not found" in result.output


def test_bad_format_exits_2():
    result = runner.invoke(app, ["assess", "--format", "xml"])
    assert result.exit_code == 2
    assert "--format" in result.output
