"""`clinguide check` on the fixture pack (in-process) and once on the shipped pack (subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinguide.cli import app
from clinguide.kb import provider
from clinguide.kb.loader import load

MINIPACK = Path(__file__).resolve().parent / "fixtures" / "minipack"
runner = CliRunner()


@pytest.fixture(autouse=True)
def minipack():
    kb = load(MINIPACK)
    provider.set_provider(lambda: kb)
    yield kb
    provider.set_provider(None)


def invoke(*args: str):
    return runner.invoke(app, ["check", *args])


def test_sig_json_contract():
    r = invoke("--sig", "calmazepam 10 mg qid x 28 days", "--age", "72", "--med", "painocodone", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["verdict"] == "do-not-prescribe"
    assert data["order"]["daily_mg"] == 40
    assert "10 mg × 4 doses/day = 40 mg/day" in data["order"]["calculation"]
    codes = {f["code"] for f in data["findings"]}
    assert {"opioid-benzodiazepine", "geriatric-avoid", "duration-exceeds-limit"} <= codes
    assert "taper-needed" not in codes  # never a plan for stopping a do-not-prescribe order
    assert data["sources"] and data["knowledge_version"]


def test_text_output_has_severity_words():
    r = invoke("--sig", "calmazepam 10 mg qid x 28 days", "--med", "painocodone", "--condition", "copd")
    assert r.exit_code == 0
    assert "CRITICAL" in r.stdout and "WARNING" in r.stdout and "Verdict: DO NOT PRESCRIBE" in r.stdout


def test_order_and_case_files(tmp_path):
    order = tmp_path / "order.json"
    order.write_text(json.dumps({"drug": "calmazepam", "dose": "2 mg", "frequency": "TID", "days": 3}))
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"age": 40, "sex": "male", "tried": ["heat"], "symptom_days": 2}))
    r = invoke("--order", str(order), "--case", str(case), "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["verdict"] == "ok"


def test_unknown_drug_still_exit_0():
    r = invoke("--sig", "flubberol 5 mg tid", "--format", "json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["verdict"] == "cannot-assess"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "--order"),
        (("--sig", "calmazepam 2 mg tid", "--format", "xml"), "--format"),
        (("--sig", "calmazepam 2 mg tid", "--alcohol", "lots"), "--alcohol"),
        (("--sig", "calmazepam 2 mg tid", "--setting", "icu"), "--setting"),
        (("--sig", "calmazepam 2 mg tid", "--age", "200"), "case.age"),
        (("--order", "/nonexistent.json"), "file not found"),
    ],
)
def test_bad_input_exit_2(args, needle):
    r = invoke(*args)
    assert r.exit_code == 2
    assert needle in r.output


def test_bad_order_field(tmp_path):
    order = tmp_path / "order.json"
    order.write_text(json.dumps({"drugg": "calmazepam", "dose": "2 mg"}))
    r = invoke("--order", str(order))
    assert r.exit_code == 2
    assert "order.drugg" in r.output and "not a field" in r.output


def test_python_api_accepts_models_and_dicts(minipack):
    from clinguide.checks.engine import InputError, check
    from clinguide.contracts import Case, Order

    a = check(Order(sig="calmazepam 2 mg tid"), Case(age=40), kb=minipack)
    b = check({"sig": "calmazepam 2 mg tid"}, {"age": 40}, kb=minipack)
    assert a.to_json() == b.to_json()
    with pytest.raises(InputError) as exc:
        check({"sig": "calmazepam 2 mg tid"}, {"alcohol": "lots"}, kb=minipack)
    assert exc.value.problems[0][0] == "alcohol"


def test_cli_process_on_shipped_pack():
    from clinguide.kb.validate import validate_pack

    assert not validate_pack(), "the shipped pack does not validate"
    exe = Path(sys.executable).with_name("clinguide")
    out = subprocess.run([str(exe), "check", "--sig", "Valium 10 mg PO QID x 28 days", "--age", "72", "--med",
                          "oxycodone", "--format", "json"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["order"]["drug"] == "diazepam" and data["verdict"] == "do-not-prescribe"
