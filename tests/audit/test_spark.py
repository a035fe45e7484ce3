"""DuckDB and Spark give identical numbers on the same generated population (Spark local mode).

Marked ``spark``. When Spark cannot start (no Java, no pyspark) the test skips on a developer's
machine but FAILS when ``CI=true``: CI installs Java, so a skip there would hide a broken engine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from clinguide.audit.generate import generate
from clinguide.audit.run import run_audit

pytestmark = pytest.mark.spark
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def spark_available() -> None:
    try:
        from clinguide.audit.engines.spark import session

        session().sql("SELECT 1").collect()
    except Exception as exc:  # no Java, no pyspark, a JVM that does not start
        if IN_CI:
            pytest.fail(f"Spark does not start in CI ({type(exc).__name__}: {exc}); CI must install Java 17")
        pytest.skip(f"Spark does not start here: {type(exc).__name__}: {exc}")


@pytest.mark.timeout(1200)
def test_duckdb_and_spark_agree_on_the_measure_findings_and_bad_lines(
        tmp_path: Path, spark_available: None, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "pop"
    generate(400, folder, year=2025, seed=11)
    path = folder / "MedicationDispense.ndjson"
    lines = path.read_text(encoding="utf-8").splitlines()
    middle = len(lines) // 2
    lines[middle:middle] = ["{broken in the middle", ""]
    lines += ["{broken", "", json.dumps({"resourceType": "Patient", "id": "x"}), "[1, 2]", '"x"', "3", "null"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # several file partitions on Spark, so line numbers must be stitched across them
    monkeypatch.setenv("CLINGUIDE_SPARK_MAX_PARTITION_BYTES", "65536")
    from clinguide.audit.engines.spark import session

    assert session().read.text(str(path)).rdd.getNumPartitions() > 1
    duck = run_audit(folder, year=2025, engine_name="duckdb", workers=1, out=tmp_path / "duck")
    spark = run_audit(folder, year=2025, engine_name="spark", out=tmp_path / "out")
    assert duck["denominator"] > 10 and duck["numerator"] > 0 and duck["findings"]["by_code"]
    for key in ("eligible", "denominator", "excluded", "numerator", "rate", "denominator_before_exclusions",
                "cob_reasons", "dispenses", "unknown_codes", "bad_lines", "findings", "files"):
        assert spark[key] == duck[key], key
    first = {(r["file"], r["line"]) for r in spark["bad_lines"]["first"]}
    assert ("MedicationDispense.ndjson", middle + 1) in first  # the line numbers are the file's own
    assert (tmp_path / "out" / "findings.parquet").exists() and (tmp_path / "out" / "report.html").exists()
    import pyarrow.parquet as pq

    for table in ("cob_patients", "findings", "bad_lines", "unknown_codes"):  # Spark writes one ordered file
        rows = pq.read_table(tmp_path / "out" / f"{table}.parquet").to_pylist()
        assert rows == pq.read_table(tmp_path / "duck" / f"{table}.parquet").to_pylist(), table
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in (tmp_path / "duck").iterdir())
