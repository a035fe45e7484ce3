"""Hand-built FHIR resources and a one-call audit for the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from clinguide.audit.generate import RXNORM
from clinguide.audit.run import run_audit

YEAR = 2025
OXYCODONE = ("1049621", "oxycodone hydrochloride 5 MG Oral Tablet")
TRAMADOL = ("835603", "tramadol hydrochloride 50 MG Oral Tablet")
DIAZEPAM = ("197591", "diazepam 5 MG Oral Tablet")
ALPRAZOLAM = ("308048", "alprazolam 0.5 MG Oral Tablet")
HYDROCODONE_APAP = ("857002", "acetaminophen 325 MG / hydrocodone bitartrate 5 MG Oral Tablet")
CARISOPRODOL = ("2101", "carisoprodol")
UNKNOWN = ("999999901", "investigational product 10 MG Oral Tablet")


def patient(pid: str, birth: str | None = "1970-05-05", gender: str = "female") -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Patient", "id": pid, "gender": gender}
    if birth is not None:
        res["birthDate"] = birth
    return res


def dispense(pid: str, product: tuple[str, str], date: str, days: int, status: str = "completed",
             dose_mg: float | None = None, per_day: int | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "MedicationDispense", "status": status,
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": product[0], "display": product[1]}]},
        "subject": {"reference": f"Patient/{pid}"}, "whenHandedOver": date,
        "daysSupply": {"value": days, "unit": "days"},
    }
    if dose_mg is not None and per_day is not None:
        res["dosageInstruction"] = [{
            "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": dose_mg, "unit": "mg", "code": "mg"}}]}]
    return res


def condition(pid: str, icd: str, onset: str, verification: str | None = None,
              abatement: str | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Condition", "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": icd}]}, "onsetDateTime": onset,
    }
    if verification:
        res["verificationStatus"] = {"coding": [{"code": verification}]}
    if abatement:
        res["abatementDateTime"] = abatement
    return res


def write(folder: Path, resources: list[dict[str, Any]], extra_lines: dict[str, list[str]] | None = None) -> Path:
    """Write resources into <Type>.ndjson files (every required file exists, maybe empty)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines: dict[str, list[str]] = {"Patient": [], "MedicationDispense": [], "Condition": []}
    for res in resources:
        lines.setdefault(res["resourceType"], []).append(json.dumps(res))
    for rtype, extra in (extra_lines or {}).items():
        lines.setdefault(rtype, []).extend(extra)
    for rtype, rows in lines.items():
        (folder / f"{rtype}.ndjson").write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    return folder


def audit(folder: Path, engine: str = "duckdb", year: int = YEAR) -> tuple[dict[str, Any], dict[str, dict[str, Any]],
                                                                            list[dict[str, Any]]]:
    """(summary, COB rows by patient, findings rows) of an audit of ``folder``."""
    out = folder / "_out"
    summary = run_audit(folder, year=year, engine_name=engine, out=out, workers=1)
    cob = {r["patient_id"]: r for r in pq.read_table(out / "cob_patients.parquet").to_pylist()}
    findings = pq.read_table(out / "findings.parquet").to_pylist()
    return summary, cob, findings
