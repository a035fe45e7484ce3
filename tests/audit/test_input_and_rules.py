"""Bad lines, Parquet input, the per-dispense checks (same engine as `check`), the CLI and the generator."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from clinguide.audit.generate import generate
from clinguide.audit.input import find_inputs, patient_id, resource_type_of
from clinguide.audit.rules import NOT_FROM_DISPENSES, age_on, findings_for
from clinguide.checks.engine import check
from clinguide.cli import app
from clinguide.errors import InputError

from .audit_helpers import CARISOPRODOL, DIAZEPAM, OXYCODONE, audit, dispense, patient, write

runner = CliRunner()


def _broken_folder(folder: Path) -> Path:
    good = [patient("a"), dispense("a", OXYCODONE, "2025-03-01", 30), dispense("a", OXYCODONE, "2025-04-01", 30)]
    no_subject = dispense("a", OXYCODONE, "2025-05-01", 30)
    del no_subject["subject"]
    no_date = dispense("a", OXYCODONE, "2025-05-01", 30)
    del no_date["whenHandedOver"]
    bad_date = dispense("a", OXYCODONE, "2025-02-30", 30)
    return write(folder, good, {
        "MedicationDispense": ["{not json", "", json.dumps(patient("x")), json.dumps(no_subject), json.dumps(no_date),
                               json.dumps(bad_date)],
        "Patient": ["[1, 2"],
    })


def test_bad_lines_are_reported_with_file_and_line_and_the_run_continues(tmp_path: Path) -> None:
    summary, cob, _ = audit(_broken_folder(tmp_path))
    first = {(r["file"], r["line"]): r["problem"] for r in summary["bad_lines"]["first"]}
    assert first == {
        ("MedicationDispense.ndjson", 3): "invalid JSON",
        ("MedicationDispense.ndjson", 5): "resourceType is 'Patient', expected MedicationDispense",
        ("MedicationDispense.ndjson", 6): "missing subject",
        ("MedicationDispense.ndjson", 7): "missing date (whenHandedOver)",
        ("MedicationDispense.ndjson", 8): "whenHandedOver is not a date",
        ("Patient.ndjson", 2): "invalid JSON",
    }
    assert summary["bad_lines"]["count"] == 6
    files = {r["file"]: r for r in summary["files"]}
    assert files["MedicationDispense.ndjson"]["blank"] == 1  # a blank line is counted, not called bad
    assert cob["a"]["in_denominator"] == 1  # the good lines were still used


def test_a_line_of_valid_json_that_is_not_an_object_is_called_that_not_resourcetype_missing(tmp_path: Path) -> None:
    good = [patient("a"), dispense("a", OXYCODONE, "2025-03-01", 30)]
    folder = write(tmp_path, good, {"MedicationDispense": ["[1, 2]", '"x"', "3", "null", "true", '  {"id": "d9"}'],
                                    "Patient": ["[]"]})
    summary, _, _ = audit(folder)
    first = {(r["file"], r["line"]): r["problem"] for r in summary["bad_lines"]["first"]}
    expected = "not a JSON object ({}): one FHIR resource per line is expected"
    assert first == {
        ("MedicationDispense.ndjson", 2): expected.format("an array"),
        ("MedicationDispense.ndjson", 3): expected.format("a string"),
        ("MedicationDispense.ndjson", 4): expected.format("a number"),
        ("MedicationDispense.ndjson", 5): expected.format("null"),
        ("MedicationDispense.ndjson", 6): expected.format("a boolean"),
        ("MedicationDispense.ndjson", 7): "resourceType is missing, expected MedicationDispense",  # an object
        ("Patient.ndjson", 2): expected.format("an array"),
    }
    assert summary["dispenses"]["read"] == 1


def test_strict_fails_with_exit_2_on_bad_lines(tmp_path: Path) -> None:
    folder = _broken_folder(tmp_path / "in")
    lax = runner.invoke(app, ["audit", str(folder), "--year", "2025", "--format", "json"])
    assert lax.exit_code == 0, lax.output
    assert json.loads(lax.stdout)["bad_lines"]["count"] == 6
    strict = runner.invoke(app, ["audit", str(folder), "--year", "2025", "--strict"])
    assert strict.exit_code == 2
    assert "6 bad input line" in strict.stderr
    assert "MedicationDispense.ndjson:3  invalid JSON" in strict.stdout


def test_parquet_input_gives_the_same_result_as_ndjson(tmp_path: Path) -> None:
    src = tmp_path / "ndjson"
    generate(300, src, year=2025, seed=7)
    pq_dir = tmp_path / "parquet"
    pq_dir.mkdir()
    con = duckdb.connect()
    for rtype in ("Patient", "MedicationDispense", "Condition"):
        con.execute(f"COPY (SELECT * FROM read_json('{src / rtype}.ndjson', format='newline_delimited')) "
                    f"TO '{pq_dir / rtype}.parquet' (FORMAT parquet)")
    a, _, fa = audit(src)
    b, _, fb = audit(pq_dir)
    keys = ("eligible", "denominator", "excluded", "numerator", "rate")
    assert [a[k] for k in keys] == [b[k] for k in keys]
    assert a["findings"]["by_code"] == b["findings"]["by_code"]
    assert len(fa) == len(fb) > 0


def test_findings_are_what_check_gives_for_the_same_order_and_patient(tmp_path: Path) -> None:
    res = [patient("old", birth="1950-02-02", gender="male"),
           dispense("old", DIAZEPAM, "2025-03-01", 30, dose_mg=5, per_day=3),
           dispense("old", OXYCODONE, "2025-02-20", 30, dose_mg=5, per_day=4),
           patient("young", birth="1990-02-02", gender="male"),
           dispense("young", CARISOPRODOL, "2025-06-01", 7, dose_mg=350, per_day=4)]
    _, _, findings = audit(write(tmp_path, res))
    got = {f["code"] for f in findings if f["patient_id"] == "old" and f["drug_id"] == "diazepam"}
    direct = check({"drug": "diazepam", "dose": "5 mg", "frequency": "3 times daily", "days": 30},
                   {"age": 75, "sex": "male", "medications": ["oxycodone"]})
    expected = {f.code for f in direct.findings} - NOT_FROM_DISPENSES
    expected.discard("missing-data")  # the only missing-data check gives here is the dropped "phase unknown" one
    got.discard("missing-data")
    assert got == expected
    assert {"duration-exceeds-limit", "geriatric-avoid", "opioid-benzodiazepine"} <= got
    old = [f for f in findings if f["patient_id"] == "old" and f["drug_id"] == "diazepam"]
    assert {f["age"] for f in old} == {75} and {f["age_band"] for f in old} == {"75-84"}
    assert {f["src_file"] for f in old} == {"MedicationDispense.ndjson"} and {f["src_line"] for f in old} == {1}
    young = {f["code"] for f in findings if f["patient_id"] == "young"}
    assert "geriatric-avoid" not in young and "duration-exceeds-limit" not in young


def test_a_dispense_without_a_dose_in_mg_says_which_checks_did_not_run() -> None:
    out = findings_for("diazepam", None, None, 30, 70, "female", ())
    codes = [f[0] for f in out]
    assert "unparseable-order" not in codes
    assert ("missing-data", "info", "Dose not recorded in mg: dose, daily-dose and duration checks not run") in [
        f[:3] for f in out]
    assert "geriatric-avoid" in codes  # age rules do not need the dose


def test_age_on_a_dispense_date() -> None:
    import datetime as dt

    from clinguide.audit.cob import epoch_day

    assert age_on("2007-01-01", epoch_day(dt.date(2025, 1, 1))) == 18
    assert age_on("2007-01-02", epoch_day(dt.date(2025, 1, 1))) == 17
    assert age_on("1960-12-31", epoch_day(dt.date(2025, 6, 1))) == 64  # partial '1960' is read as 1960-12-31
    assert age_on(None, 0) is None


def test_input_discovery_and_references(tmp_path: Path) -> None:
    assert resource_type_of(Path("1.MedicationDispense.ndjson.gz")) == "MedicationDispense"
    assert resource_type_of(Path("Patient-000.parquet")) == "Patient"
    assert resource_type_of(Path("Observation.ndjson")) is None
    assert patient_id("Patient/123") == "123" and patient_id("Group/9") is None and patient_id("abc") == "abc"
    with pytest.raises(InputError, match="does not exist"):
        find_inputs(tmp_path / "nope")
    (tmp_path / "Patient.ndjson").write_text("")
    with pytest.raises(InputError, match="no MedicationDispense file"):
        find_inputs(tmp_path)


def test_cli_rejects_bad_arguments_with_exit_2(tmp_path: Path) -> None:
    for args, words in ((["audit", str(tmp_path / "missing")], "does not exist"),
                        (["audit", str(tmp_path), "--engine", "oracle"], "--engine"),
                        (["audit", str(tmp_path), "--format", "xml"], "--format"),
                        (["audit"], "INPUT"),
                        (["audit", "--generate", "10"], "--out")):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, args
        assert words in result.stderr, (args, result.stderr)


def test_generate_is_deterministic_and_writes_the_three_files(tmp_path: Path) -> None:
    a = generate(200, tmp_path / "a", seed=3)
    b = generate(200, tmp_path / "b", seed=3)
    assert a == b and a["Patient"] == 200
    for name in ("Patient.ndjson", "MedicationDispense.ndjson", "Condition.ndjson"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    result = runner.invoke(app, ["audit", "--generate", "50", "--out", str(tmp_path / "c")])
    assert result.exit_code == 0 and "50 Patient" in result.stdout


def test_out_writes_json_parquet_and_a_self_contained_html_report(tmp_path: Path) -> None:
    generate(200, tmp_path / "pop", seed=5)
    result = runner.invoke(app, ["audit", str(tmp_path / "pop"), "--year", "2025", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert {"measure", "year", "eligible", "denominator", "excluded", "numerator", "rate"} <= set(summary)
    for name in ("cob_patients", "findings", "bad_lines", "unknown_codes"):
        assert (out / f"{name}.parquet").exists()
    page = (out / "report.html").read_text()
    assert "<svg" in page and "Concurrent use of opioids and benzodiazepines" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page


def test_the_process_pool_gives_the_same_findings_as_one_process(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from clinguide.audit.engines import duckdb as engine
    from clinguide.audit.run import run_audit

    generate(300, tmp_path / "pop", seed=9)
    one = run_audit(tmp_path / "pop", year=2025, workers=1)
    monkeypatch.setattr(engine, "IN_PROCESS_BELOW", 0)
    monkeypatch.setattr(engine, "ROWS_PER_PARTITION", 100)  # several patient partitions
    pooled = run_audit(tmp_path / "pop", year=2025, workers=2)
    assert pooled["findings"] == one["findings"] and one["findings"]["by_code"]
    assert pooled["dispenses"] == one["dispenses"]


def test_advice_and_what_could_not_be_checked_are_listed_apart_from_the_problems(tmp_path: Path) -> None:
    """Taper advice for every benzodiazepine course and "dose not checked" for every opioid would drown the
    problems: the pack's audit groups put them in their own lists, counted, never dropped."""
    from clinguide.audit.report import render_html, render_text
    from clinguide.kb import get_kb

    groups = get_kb().policy.finding_groups
    assert "taper-needed" in groups.audit_advice and "missing-data" in groups.audit_not_checked
    res = [patient("old", birth="1950-02-02"), patient("kid", birth="2012-03-03"), patient("kid2", birth="2010-03-03"),
           dispense("old", DIAZEPAM, "2025-03-01", 30, dose_mg=5, per_day=3),
           dispense("old", OXYCODONE, "2025-02-20", 30, dose_mg=5, per_day=4),
           dispense("kid", OXYCODONE, "2025-05-01", 5, dose_mg=5, per_day=4),
           dispense("kid2", DIAZEPAM, "2025-05-01", 5, dose_mg=5, per_day=3)]
    summary, _, findings = audit(write(tmp_path, res))
    by_code = {r["code"]: r for r in summary["findings"]["by_code"]}
    assert by_code["taper-needed"]["group"] == "advice"
    assert by_code["pediatric-not-assessed"]["group"] == "not checked"
    assert by_code["opioid-benzodiazepine"]["group"] == "problem"
    assert {r["code"] for r in summary["findings"]["advice"]} == {"taper-needed"}
    not_checked = {r["title"]: r for r in summary["findings"]["not_checked"]}
    kids = not_checked["[drug] not assessed for a patient aged [n]"]  # two drugs, two ages: one row
    assert kids["findings"] == 2 and {d["drug"] for d in kids["drugs"]} == {"oxycodone", "diazepam"}
    assert sum(r["findings"] for r in summary["findings"]["not_checked"]) == sum(
        1 for f in findings if f["code"] in groups.audit_not_checked)  # all counted
    text = render_text(summary)
    problems = text.split("Most frequent:")[0].split("would find):")[1]
    assert "opioid-benzodiazepine" in problems and "taper-needed" not in problems and "pediatric" not in problems
    assert "Advice for the dispensing (not problems):" in text and "What could not be checked" in text
    page = render_html(summary)
    assert "Advice for the dispensing" in page and "[drug] not assessed for a patient aged [n]" in page


def test_odd_input_gets_a_message_that_names_the_file_and_exit_2(tmp_path: Path) -> None:
    good = write(tmp_path / "good", [patient("a"), dispense("a", OXYCODONE, "2025-03-01", 30)])
    lower = tmp_path / "lower"
    lower.mkdir()
    (lower / "patients.ndjson").write_text((good / "Patient.ndjson").read_text())
    result = runner.invoke(app, ["audit", str(lower)])
    assert result.exit_code == 2 and "Not taken: patients.ndjson" in result.stderr, result.stderr
    for name, data in (("Patient.ndjson.gz", b"not gzip\n"), ("Patient.ndjson", b'{"id": "\xe9"}\n'),
                       ("Condition.parquet", b"PAR1 not parquet")):
        folder = tmp_path / name.replace(".", "_")
        write(folder, [patient("a"), dispense("a", OXYCODONE, "2025-03-01", 30)])
        if name.startswith("Patient"):
            (folder / "Patient.ndjson").unlink()
        (folder / name).write_bytes(data)
        result = runner.invoke(app, ["audit", str(folder), "--year", "2025"])
        assert result.exit_code == 2, (name, result.output)
        assert f"{folder / name} could not be read" in result.stderr, result.stderr
        assert "internal error" not in result.stderr
    assert "not UTF-8 text" in runner.invoke(app, ["audit", str(tmp_path / "Patient_ndjson"), "--year", "2025"]).stderr


def test_a_year_without_dispenses_or_an_input_without_any_says_so(tmp_path: Path) -> None:
    folder = write(tmp_path / "in", [patient("a"), dispense("a", OXYCODONE, "2025-03-01", 30),
                                     dispense("a", OXYCODONE, "2024-03-01", 30)])
    result = runner.invoke(app, ["audit", str(folder), "--year", "2019"])
    assert result.exit_code == 0
    assert "NOTE: No completed dispense is dated in 2019" in result.stdout
    assert "2025 (1), 2024 (1); give one of these with --year" in result.stdout
    as_json = runner.invoke(app, ["audit", str(folder), "--year", "2019", "--format", "json"])
    assert json.loads(as_json.stdout)["notes"] and "note: No completed dispense" in as_json.stderr
    assert json.loads(runner.invoke(app, ["audit", str(folder), "--format", "json"]).stdout)["notes"] == []
    empty = write(tmp_path / "empty", [])
    result = runner.invoke(app, ["audit", str(empty)])
    assert result.exit_code == 2 and "no completed MedicationDispense with a date was read" in result.stderr
    result = runner.invoke(app, ["audit", str(empty), "--year", "2025"])
    assert result.exit_code == 0 and "NOTE: No valid MedicationDispense line was read" in result.stdout


def test_gzipped_bulk_export_files_give_the_same_audit(tmp_path: Path) -> None:
    import gzip

    generate(200, tmp_path / "plain", year=2025, seed=4)
    packed = tmp_path / "gz"
    packed.mkdir()
    for rtype in ("Patient", "MedicationDispense", "Condition"):  # names as a $export writes them
        data = (tmp_path / "plain" / f"{rtype}.ndjson").read_bytes()
        (packed / f"1.{rtype}.ndjson.gz").write_bytes(gzip.compress(data))
    a, _, fa = audit(tmp_path / "plain")
    b, _, fb = audit(packed)
    for key in ("eligible", "denominator", "excluded", "numerator", "rate", "cob_reasons", "unknown_codes"):
        assert a[key] == b[key], key
    assert a["findings"]["by_code"] == b["findings"]["by_code"] and len(fa) == len(fb) > 0
    assert {r["file"] for r in b["files"]} == {"1.Patient.ndjson.gz", "1.MedicationDispense.ndjson.gz",
                                               "1.Condition.ndjson.gz"}


def test_an_unreadable_file_message_gives_the_reason_not_the_py4j_call() -> None:
    from clinguide.audit.input import unreadable

    spark_like = RuntimeError("An error occurred while calling o403.parquet.\n: org.apache.spark.SparkException: "
                              "[FAILED_READ_FILE.CANNOT_READ_FILE_FOOTER] Could not read footer.\n\tat org.x(X.java:1)")
    message = str(unreadable(Path("in/Condition.parquet"), "Condition", "parquet", spark_like))
    assert "in/Condition.parquet could not be read as Condition parquet" in message
    assert "CANNOT_READ_FILE_FOOTER" in message and "o403" not in message
