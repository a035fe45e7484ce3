"""Every code of the CDC opioid and benzodiazepine value sets, code-only (no display), raises the critical
opioid + benzodiazepine card on all three services: combination products and kits included.

Evaluated in-process (``run_hook``, no HTTP) so the 764 codes × 3 services run in seconds.
"""

from __future__ import annotations

import asyncio
import csv
import os
from typing import Any

import pytest

from clinguide.service.cds import evaluate

from .conftest import INTEROP, NOW, bundle, hook_request, patient

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
VALUESETS = INTEROP / "valuesets"
OPIOIDS = "opioid-analgesics-with-ambulatory-misuse-potential.tsv"
BENZOS = "benzodiazepine-medications.tsv"
DIAZEPAM_5 = "197591"  # diazepam 5 MG Oral Tablet (benzodiazepine value set)
OXYCODONE_5 = "1049621"  # oxycodone hydrochloride 5 MG Oral Tablet (opioid value set)
SERVICES = {"order-select": "clinguide-order-select", "order-sign": "clinguide-order-sign",
            "patient-view": "clinguide-patient-view"}

pytestmark = pytest.mark.skipif(
    not VALUESETS.is_dir() and not os.environ.get("CI"), reason=f"shared interop data not present at {VALUESETS}"
)


def codes(name: str) -> list[str]:
    with (VALUESETS / name).open(encoding="utf-8") as handle:
        return [row["code"] for row in csv.DictReader(handle, delimiter="\t") if row["system"] == RXNORM]


def code_only(rid: str, code: str, status: str = "active") -> dict[str, Any]:
    """A MedicationRequest whose medication is an RxNorm code and nothing else (no display, no text)."""
    return {"resourceType": "MedicationRequest", "id": rid, "status": status, "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code}]},
            "subject": {"reference": "Patient/p1"}}


def ordered(rid: str, code: str, display: str, status: str) -> dict[str, Any]:
    resource = code_only(rid, code, status)
    resource["medicationCodeableConcept"]["coding"][0]["display"] = display
    resource["dosageInstruction"] = [{
        "timing": {"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}},
        "doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mg", "system": "http://unitsofmeasure.org",
                                          "code": "mg"}}]}]
    resource["dispenseRequest"] = {"expectedSupplyDuration": {"value": 3, "unit": "days",
                                                              "system": "http://unitsofmeasure.org", "code": "d"}}
    return resource


def request(hook: str, swept: str, partner: tuple[str, str]) -> dict[str, Any]:
    """``swept`` code-only among the active medications; the partner drug as the draft (or active, patient-view)."""
    code, display = partner
    if hook == "patient-view":
        return hook_request(hook, prefetch={"patient": patient("1980-01-01"), "medications": bundle(
            code_only("swept", swept), ordered("partner", code, display, "active"))})
    return hook_request(hook, [ordered("draft", code, display, "draft")], prefetch={
        "patient": patient("1980-01-01"), "medications": bundle(code_only("swept", swept)),
        "conditions": None, "allergies": None, "procedures": None})


def sweep(kb: Any, check: Any, swept_codes: list[str], partner: tuple[str, str]) -> dict[str, list[str]]:
    """{hook: codes that did NOT raise the critical opioid + benzodiazepine card}."""
    async def run() -> dict[str, list[str]]:
        failures: dict[str, list[str]] = {hook: [] for hook in SERVICES}
        for code in swept_codes:
            for hook, service in SERVICES.items():
                result = await evaluate.run_hook(service, request(hook, code, partner), kb, check, NOW)
                if not any(card["source"]["topic"]["code"] == "opioid-benzodiazepine"
                           and card["indicator"] == "critical" for card in result["cards"]):
                    failures[hook].append(code)
        return failures

    return asyncio.run(run())


@pytest.fixture(scope="module")
def engine() -> tuple[Any, Any]:
    from clinguide.kb import get_kb

    check = evaluate.load_check()
    assert check is not None
    return get_kb(), check


def test_value_sets_are_the_published_sizes() -> None:
    assert len(codes(OPIOIDS)) == 557 and len(codes(BENZOS)) == 207


def test_every_opioid_code_next_to_a_benzodiazepine(engine: tuple[Any, Any]) -> None:
    failures = sweep(*engine, codes(OPIOIDS), (DIAZEPAM_5, "diazepam 5 MG Oral Tablet"))
    assert failures == {hook: [] for hook in SERVICES}, {h: f"{len(c)} codes: {c}" for h, c in failures.items()}


def test_every_benzodiazepine_code_next_to_an_opioid(engine: tuple[Any, Any]) -> None:
    failures = sweep(*engine, codes(BENZOS), (OXYCODONE_5, "oxycodone hydrochloride 5 MG Oral Tablet"))
    assert failures == {hook: [] for hook in SERVICES}, {h: f"{len(c)} codes: {c}" for h, c in failures.items()}
