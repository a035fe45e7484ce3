"""A synthetic population as FHIR R4 Bulk Data NDJSON, for tests and benchmarks.

Deterministic for a given (n, year, seed). The products are real RxNorm codes from the pack's
imported value sets and verified ingredient codes, so every dispense resolves through the same
code index as a real export would; a small share uses an unknown code, a cancelled or
entered-in-error status, or a date in late December of the year before, so every rule of the
audit is exercised. Nothing here is clinical advice: the mix is made up.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from pathlib import Path

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"


@dataclass(frozen=True)
class Product:
    code: str
    display: str
    dose_mg: float | None  # per dose, when the product has one ingredient; None for combinations
    per_day: int
    sig: str


# RxNorm product codes present in the pack's code lists (or verified ingredient codes)
OPIOIDS = (
    Product("1049621", "oxycodone hydrochloride 5 MG Oral Tablet", 5, 4, "oxycodone 5 mg PO q6h prn pain"),
    Product("835603", "tramadol hydrochloride 50 MG Oral Tablet", 50, 4, "tramadol 50 mg PO q6h prn pain"),
    Product("857002", "acetaminophen 325 MG / hydrocodone bitartrate 5 MG Oral Tablet", None, 4,
            "1 tablet PO q6h prn pain"),
)
BENZODIAZEPINES = (
    Product("197591", "diazepam 5 MG Oral Tablet", 5, 3, "diazepam 5 mg PO TID"),
    Product("197589", "diazepam 10 MG Oral Tablet", 10, 4, "diazepam 10 mg PO QID"),
    Product("308048", "alprazolam 0.5 MG Oral Tablet", 0.5, 3, "alprazolam 0.5 mg PO TID"),
    Product("197901", "lorazepam 1 MG Oral Tablet", 1, 2, "lorazepam 1 mg PO BID"),
)
RELAXANTS = (
    Product("2101", "carisoprodol", 350, 4, "carisoprodol 350 mg PO QID"),
)
OTHERS = (
    Product("140587", "celecoxib", 200, 1, "celecoxib 200 mg PO daily"),
)
UNKNOWN = Product("999999901", "investigational product 10 MG Oral Tablet", 10, 1, "10 mg PO daily")

EXCLUSIONS = (("C34.90", "Malignant neoplasm of unspecified part of bronchus or lung"),
              ("D57.1", "Sickle-cell disease without crisis"),
              ("Z51.5", "Encounter for palliative care"))
BACK_PAIN = ("M54.50", "Low back pain, unspecified")


def _dispense(rid: str, patient: str, product: Product, day: dt.date, days: int, status: str = "completed") -> str:
    dose_and_rate = (
        [{"doseQuantity": {"value": product.dose_mg, "unit": "mg", "system": "http://unitsofmeasure.org",
                           "code": "mg"}}]
        if product.dose_mg is not None
        else [{"doseQuantity": {"value": 1, "unit": "tablet"}}]
    )
    resource = {
        "resourceType": "MedicationDispense", "id": rid, "status": status,
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": product.code,
                                                  "display": product.display}]},
        "subject": {"reference": f"Patient/{patient}"},
        "quantity": {"value": days * product.per_day, "unit": "tablet"},
        "daysSupply": {"value": days, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"},
        "whenHandedOver": f"{day.isoformat()}T10:00:00Z",
        "dosageInstruction": [{"text": product.sig,
                               "timing": {"repeat": {"frequency": product.per_day, "period": 1, "periodUnit": "d"}},
                               "doseAndRate": dose_and_rate}],
    }
    return json.dumps(resource, separators=(",", ":"))


def _condition(rid: str, patient: str, code: tuple[str, str], day: dt.date) -> str:
    resource = {
        "resourceType": "Condition", "id": rid,
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "code": {"coding": [{"system": ICD10, "code": code[0], "display": code[1]}]},
        "subject": {"reference": f"Patient/{patient}"},
        "onsetDateTime": day.isoformat(),
    }
    return json.dumps(resource, separators=(",", ":"))


def generate(n: int, out: Path, year: int = 2025, seed: int = 42) -> dict[str, int]:
    """Write Patient, MedicationDispense and Condition NDJSON for ``n`` patients into ``out``; return line counts."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    start = dt.date(year - 1, 12, 1)
    last = dt.date(year, 12, 31)
    span = (dt.date(year, 12, 31) - start).days
    counts = {"Patient": 0, "MedicationDispense": 0, "Condition": 0}
    with (open(out / "Patient.ndjson", "w", encoding="utf-8") as pf,
          open(out / "MedicationDispense.ndjson", "w", encoding="utf-8") as df,
          open(out / "Condition.ndjson", "w", encoding="utf-8") as cf):
        for i in range(n):
            pid = f"p{i:07d}"
            roll = rng.random()
            if roll < 0.02:
                birth = dt.date(year - 18, 1, 1)  # exactly 18 on 1 January
            elif roll < 0.05:
                birth = dt.date(year - rng.randint(12, 17), rng.randint(1, 12), rng.randint(1, 28))
            else:
                birth = dt.date(year - rng.randint(19, 92), rng.randint(1, 12), rng.randint(1, 28))
            gender = rng.choice(("female", "male"))
            pf.write(json.dumps({"resourceType": "Patient", "id": pid, "gender": gender,
                                 "birthDate": birth.isoformat()}, separators=(",", ":")) + "\n")
            counts["Patient"] += 1
            lines: list[str] = []
            k = 0

            def add(product: Product, day: dt.date, days: int, status: str = "completed",
                    _pid: str = pid, lines: list[str] = lines) -> None:
                nonlocal k
                if day > last:  # the population covers December of Y-1 to December of Y
                    return
                k += 1
                lines.append(_dispense(f"{_pid}-d{k}", _pid, product, day, days, status))

            profile = rng.random()
            first = start + dt.timedelta(days=rng.randint(0, span - 10))
            if profile < 0.30:  # opioid courses
                product = rng.choice(OPIOIDS)
                day = first
                for _ in range(rng.randint(1, 4)):
                    days = rng.choice((5, 7, 10, 14, 30))
                    add(product, day, days)
                    day += dt.timedelta(days=days + rng.randint(-3, 20))
            elif profile < 0.42:  # opioid with a benzodiazepine
                opioid, benzo = rng.choice(OPIOIDS), rng.choice(BENZODIAZEPINES)
                day = first
                for _ in range(rng.randint(2, 4)):
                    days = rng.choice((14, 30))
                    add(opioid, day, days)
                    add(benzo, day + dt.timedelta(days=rng.randint(0, 10)), rng.choice((7, 14, 30)))
                    day += dt.timedelta(days=days)
            elif profile < 0.55:  # diazepam for spasm, sometimes too long
                product = rng.choice(BENZODIAZEPINES[:2])
                add(product, first, rng.choice((5, 7, 14, 21, 30)))
            elif profile < 0.63:  # a skeletal muscle relaxant
                add(RELAXANTS[0], first, rng.choice((7, 14, 30)))
            elif profile < 0.75:
                add(OTHERS[0], first, 30)
            if rng.random() < 0.02:
                add(UNKNOWN, first, 30)
            if rng.random() < 0.02:
                add(rng.choice(OPIOIDS), first, 30, status=rng.choice(("cancelled", "entered-in-error")))
            for line in lines:
                df.write(line + "\n")
            counts["MedicationDispense"] += len(lines)
            c = 0
            if rng.random() < 0.05:
                c += 1
                cf.write(_condition(f"{pid}-c{c}", pid, rng.choice(EXCLUSIONS),
                                    start + dt.timedelta(days=rng.randint(0, span))) + "\n")
            if rng.random() < 0.2:
                c += 1
                cf.write(_condition(f"{pid}-c{c}", pid, BACK_PAIN, first) + "\n")
            counts["Condition"] += c
    return counts
