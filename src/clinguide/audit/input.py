"""Find the input files of an audit: FHIR R4 Bulk Data NDJSON (optionally gzipped) or Parquet, by resource type.

A file belongs to a resource type when one of the dot/dash/underscore-separated parts of its
name is the type: ``Patient.ndjson``, ``1.MedicationDispense.ndjson.gz``, ``Condition-000.parquet``.
``PATHS`` lists the FHIR fields an audit reads (Spark extracts them by these paths; DuckDB's typed
structure in ``engines/duckdb.py`` names the same fields).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from clinguide.errors import InputError

RESOURCE_TYPES = ("Patient", "MedicationDispense", "Condition", "MedicationRequest")
REQUIRED = ("Patient", "MedicationDispense")
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10")
NDJSON_SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")
PARQUET_SUFFIXES = (".parquet",)
_SPLIT = re.compile(r"[._-]")

# (column, JSON path) per resource type: the fields an audit reads, and nothing else
PATHS: dict[str, tuple[tuple[str, str], ...]] = {
    "Patient": (("resource_type", "$.resourceType"), ("id", "$.id"), ("birth_date", "$.birthDate"),
                ("gender", "$.gender")),
    "MedicationDispense": (
        ("resource_type", "$.resourceType"), ("id", "$.id"), ("status", "$.status"),
        ("subject", "$.subject.reference"), ("handed_over", "$.whenHandedOver"),
        ("days_supply", "$.daysSupply.value"), ("codings", "$.medicationCodeableConcept.coding"),
        ("concept_text", "$.medicationCodeableConcept.text"), ("dosage", "$.dosageInstruction[0]"),
    ),
    "Condition": (
        ("resource_type", "$.resourceType"), ("id", "$.id"), ("subject", "$.subject.reference"),
        ("codings", "$.code.coding"), ("onset", "$.onsetDateTime"), ("onset_start", "$.onsetPeriod.start"),
        ("recorded", "$.recordedDate"), ("abatement", "$.abatementDateTime"), ("onset_end", "$.onsetPeriod.end"),
        ("verification", "$.verificationStatus.coding[0].code"),
    ),
    "MedicationRequest": (
        ("resource_type", "$.resourceType"), ("id", "$.id"), ("status", "$.status"),
        ("subject", "$.subject.reference"), ("authored", "$.authoredOn"),
    ),
}


def not_object_sql(line: str) -> str:
    """SQL (DuckDB and Spark) naming what a valid JSON line holds when it is not an object, else NULL.

    A valid JSON text's first non-blank character tells its type, so no engine-specific type function is needed."""
    first = f"substr(regexp_replace({line}, '^[ \t\r\n]+', ''), 1, 1)"
    return (f"CASE {first} WHEN '{{' THEN NULL WHEN '[' THEN 'an array' WHEN '\"' THEN 'a string' "
            "WHEN 'n' THEN 'null' WHEN 't' THEN 'a boolean' WHEN 'f' THEN 'a boolean' ELSE 'a number' END")


# the problem of a line that is valid JSON but not an object (after the stage's `invalid` test)
NOT_OBJECT_PROBLEM = ("WHEN not_object IS NOT NULL THEN 'not a JSON object (' || not_object || '): "
                      "one FHIR resource per line is expected'")


@dataclass
class InputSet:
    root: Path
    files: dict[str, list[Path]] = field(default_factory=dict)

    def kind(self, path: Path) -> str:
        return "parquet" if path.name.endswith(PARQUET_SUFFIXES) else "ndjson"

    def all_files(self) -> list[tuple[str, Path]]:
        return [(rtype, p) for rtype in RESOURCE_TYPES for p in self.files.get(rtype, [])]


def resource_type_of(path: Path) -> str | None:
    name = path.name
    for suffix in (*NDJSON_SUFFIXES, *PARQUET_SUFFIXES):
        if name.endswith(suffix):
            parts = _SPLIT.split(name[: -len(suffix)])
            for rtype in RESOURCE_TYPES:
                if rtype in parts:
                    return rtype
            return None
    return None


def find_inputs(root: Path) -> InputSet:
    """The input files under ``root`` (a folder), or InputError naming what is missing and what is accepted."""
    if not root.exists():
        raise InputError(f"INPUT: {root} does not exist; give a folder of FHIR NDJSON or Parquet files",
                         field="INPUT")
    if not root.is_dir():
        raise InputError(f"INPUT: {root} is not a folder; give the folder that holds Patient.ndjson, "
                         "MedicationDispense.ndjson, Condition.ndjson (and optionally MedicationRequest.ndjson)",
                         field="INPUT")
    found = InputSet(root)
    other: list[str] = []
    for path in sorted(p for p in root.iterdir() if p.is_file()):
        rtype = resource_type_of(path)
        if rtype:
            found.files.setdefault(rtype, []).append(path)
        elif not path.name.startswith("."):
            other.append(path.name)
    missing = [r for r in REQUIRED if r not in found.files]
    if missing:
        seen = ""
        if other:
            listed = ", ".join(other[:5]) + (f" and {len(other) - 5} more" if len(other) > 5 else "")
            seen = (f". Not taken: {listed} (a file is read when a part of its name is the resource type, "
                    "spelt as in FHIR: Patient, MedicationDispense, Condition, MedicationRequest)")
        raise InputError(
            f"INPUT: no {' or '.join(missing)} file in {root}; expected files such as "
            + ", ".join(f"{r}.ndjson" for r in missing)
            + " (NDJSON, .ndjson.gz or .parquet; one resource per line)" + seen, field="INPUT")
    return found


def first_unreadable(files: list[Path], rtype: str, inputs: InputSet, exc: BaseException,
                     probe: Callable[[Path], object], errors: tuple[type[BaseException], ...]) -> InputError:
    """The InputError naming the first of ``files`` that ``probe`` cannot read (an engine failed on the set as a
    whole and ``exc`` was its error; the first file is named when each reads on its own)."""
    bad = files[0]
    for path in files:
        try:
            probe(path)
        except errors as one:
            bad, exc = path, one
            break
    return unreadable(bad, rtype, inputs.kind(bad), exc)


def unreadable(path: Path, rtype: str, kind: str, exc: BaseException) -> InputError:
    """The InputError of an input file an engine could not read (not gzip, not Parquet, not UTF-8 text)."""
    text = str(exc)
    # Py4J (Spark) puts the Java exception on the lines after "An error occurred while calling o403.parquet."
    lines = [ln.strip().lstrip(": ") for ln in text.splitlines() if ln.strip()
             and not ln.startswith("An error occurred while calling")]
    reason = "not UTF-8 text" if "unicode" in text.lower() or "utf-8" in text.lower() else (
        (lines or [type(exc).__name__])[0][:300])
    return InputError(f"INPUT: {path} could not be read as {rtype} {kind} ({reason}); give NDJSON text in UTF-8 "
                      "(optionally gzip-compressed, named .ndjson.gz) or a Parquet file", field="INPUT")


def patient_id(reference: str | None) -> str | None:
    """'Patient/123' -> '123'; a reference to another resource type -> None."""
    if not reference:
        return None
    if "/" not in reference:
        return reference
    rtype, _, rid = reference.rpartition("/")
    return rid if rtype.split("/")[-1] == "Patient" and rid else None
