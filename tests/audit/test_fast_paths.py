"""The audit's speed-ups give exactly what the plain paths give.

- the per-key fast path (order and case prepared once, check's own engine, no safer-order search) equals
  ``check()`` on every distinct key of a generated population;
- DuckDB's one-pass NDJSON reader stages the same rows as the line-by-line reader, and a file it cannot read
  whole goes line by line (so bad lines are reported exactly as before);
- ``--measure-only`` gives the same measure as a full audit and says the checks did not run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from clinguide.audit import rules
from clinguide.audit.engines import duckdb as duck
from clinguide.audit.generate import generate
from clinguide.audit.run import run_audit
from clinguide.checks.engine import check
from clinguide.cli import app

from .audit_helpers import OXYCODONE, dispense, patient, write

EDGE_KEYS = [
    ("diazepam", None, None, 30, 70, "female", ()),
    ("diazepam", "5 mg", None, 10, 40, "male", ("oxycodone",)),
    ("diazepam", "10 mg", "4 times daily", 90, None, None, ("alprazolam", "hydrocodone", "acetaminophen")),
    ("carisoprodol", "350 mg", "4 times daily", 5000, 30, "other", ("diazepam",)),
    ("oxycodone", "200 mg", "4 times daily", 30, 8, "unknown", ()),
    ("celecoxib", "200 mg", "daily", 0, 85, "female", ("lorazepam", "tramadol")),
]
MEASURE = ("eligible", "denominator", "excluded", "numerator", "rate", "denominator_before_exclusions")


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pop") / "pop"
    generate(1500, folder, year=2025, seed=11)
    return folder


def _distinct_keys(folder: Path) -> list[tuple]:
    """Every distinct check key of the population, as the audit builds them (step 1 over all patients)."""
    engine = duck.DuckDBEngine(workers=1)
    try:
        from clinguide.audit.codes import resolve_codes
        from clinguide.audit.input import find_inputs
        from clinguide.audit.run import check_input_sql
        from clinguide.kb import get_kb

        engine.load(find_inputs(folder), lambda *_: None)
        pairs = engine.query("SELECT DISTINCT rx_code, display FROM dispenses")
        engine.put_codemap([(r.code, r.display, r.drug_id, r.opioid, r.benzodiazepine, r.how)
                            for r in resolve_codes(get_kb(), [(p["rx_code"], p["display"]) for p in pairs])])
        keyed = rules.dispense_keys(engine.con.execute(check_input_sql(2025)).df())
    finally:
        engine.close()
    out = []
    for key in sorted(set(keyed["key"])):
        drug, dose, frequency, days, age, sex, others = json.loads(key)
        out.append((drug, dose, frequency, days, age, sex, tuple(others)))
    return out


def test_the_fast_path_equals_check_on_every_distinct_key_of_a_population(population: Path) -> None:
    keys = _distinct_keys(population)
    assert len(keys) > 300  # a real spread: drugs, doses, ages, co-covered drugs
    assert any(k[6] for k in keys) and any(k[4] is not None and k[4] < 18 for k in keys)
    assert any(k[4] is not None and k[4] >= 65 for k in keys)
    keys += EDGE_KEYS  # what the generator does not write: no dose, no age or sex, odd supplies
    for key in keys:
        order, case = rules.order_and_case(*key)
        direct = [(f.code, f.severity, f.title, f.detail) for f in check(order, case).findings]
        fast = [(f.code, f.severity, f.title, f.detail) for f in rules.check_findings(*key)]
        assert fast == direct, key


def test_findings_for_is_check_filtered_as_documented(population: Path) -> None:
    for key in _distinct_keys(population)[::25]:
        order, case = rules.order_and_case(*key)
        expected = [(f.code, f.severity, f.title, f.detail) for f in check(order, case).findings
                    if f.code not in rules.NOT_FROM_DISPENSES
                    and (f.code, f.title) not in rules.NOT_FROM_DISPENSES_TITLES
                    and not (key[1] is None and f.code == "unparseable-order")]
        got = list(rules.findings_for(*key))
        if key[1] is None:
            assert got[-1][:3] == rules.DOSE_NOT_IN_MG
            got = got[:-1]
        assert got == expected, key


def _tables(out: Path) -> dict[str, list[dict]]:
    return {name: pq.read_table(out / f"{name}.parquet").to_pylist()
            for name in ("cob_patients", "findings", "bad_lines", "unknown_codes")}


def test_one_pass_reader_stages_the_same_rows_as_the_line_reader(population: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[bool] = []
    real = duck.DuckDBEngine._read_fast

    def spy(self, rtype, files, inputs):  # type: ignore[no-untyped-def]
        ok = real(self, rtype, files, inputs)
        used.append(ok)
        return ok

    monkeypatch.setattr(duck.DuckDBEngine, "_read_fast", spy)
    fast = run_audit(population, year=2025, workers=1, out=tmp_path / "fast")
    assert used and all(used)  # a clean export is read in one pass
    monkeypatch.setenv("CLINGUIDE_AUDIT_FAST_READ", "0")
    used.clear()
    slow = run_audit(population, year=2025, workers=1, out=tmp_path / "slow")
    assert not any(used)
    for part in (fast, slow):
        part.pop("tables", None)
    assert fast == slow
    assert _tables(tmp_path / "fast") == _tables(tmp_path / "slow")


@pytest.mark.parametrize("odd", ["", "null", "{}", "[1, 2]", '{"resourceType": "MedicationDispense", "subject": "p"}'])
def test_a_file_the_one_pass_reader_cannot_take_whole_is_read_line_by_line(tmp_path: Path, odd: str,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    res = [patient("a"), dispense("a", OXYCODONE, "2025-03-01", 30), dispense("a", OXYCODONE, "2025-04-01", 30)]
    folder = write(tmp_path / "in", res, {"MedicationDispense": [odd, json.dumps(res[1])]})
    summary = run_audit(folder, year=2025, workers=1)
    monkeypatch.setenv("CLINGUIDE_AUDIT_FAST_READ", "0")
    assert run_audit(folder, year=2025, workers=1) == summary
    files = {r["file"]: r for r in summary["files"]}
    assert files["MedicationDispense.ndjson"]["lines"] == 4
    if odd == "":
        assert files["MedicationDispense.ndjson"]["blank"] == 1 and summary["bad_lines"]["count"] == 0
    else:
        assert summary["bad_lines"]["first"][0]["line"] == 3
    if odd == "null":  # read in one pass it would look like a record with no fields
        assert summary["bad_lines"]["first"][0]["problem"].startswith("not a JSON object (null)")
    assert summary["dispenses"]["read"] == 3  # the good line after the odd one is still read, with its number


def test_measure_only_gives_the_same_measure_without_the_checks(population: Path, tmp_path: Path) -> None:
    full = run_audit(population, year=2025, workers=1)
    measure = run_audit(population, year=2025, workers=1, measure_only=True, out=tmp_path / "m")
    assert [measure[k] for k in MEASURE] == [full[k] for k in MEASURE]
    assert measure["cob_reasons"] == full["cob_reasons"] and measure["bad_lines"] == full["bad_lines"]
    assert full["checks"] == "run" and measure["checks"] == "not run (--measure-only)"
    assert measure["findings"]["by_code"] == [] and measure["dispenses"]["checked"] == 0
    assert full["findings"]["by_code"]
    assert pq.read_table(tmp_path / "m" / "findings.parquet").num_rows == 0
    result = CliRunner().invoke(app, ["audit", str(population), "--year", "2025", "--measure-only"])
    assert result.exit_code == 0, result.output
    assert "Not run (--measure-only)" in result.stdout
