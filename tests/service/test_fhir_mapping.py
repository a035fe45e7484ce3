"""FHIR R4 → Case/Order mapping, with a small fake knowledge base (no pack needed)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from clinguide.fhir import FhirInputError, build_patient, iter_resources, medication_request_to_order, validate
from clinguide.fhir.mapping import age_on

from .conftest import bundle, med, patient


@dataclass
class M:
    id: str


@dataclass
class D:
    name: str


class FakeKB:
    drugs: ClassVar[dict[str, D]] = {
        "diazepam": D("diazepam"), "oxycodone": D("oxycodone"), "flurazepam": D("flurazepam")}
    names: ClassVar[dict[str, str]] = {
        "diazepam": "diazepam", "valium": "diazepam", "oxycodone": "oxycodone", "flurazepam": "flurazepam"}
    conditions: ClassVar[dict[str, str]] = {
        "copd": "copd", "chronic obstructive lung disease": "copd", "sleep apnea": "sleep-apnea"}

    def drugs_by_rxnorm(self, code: str) -> tuple[str, ...]:
        return {"197591": ("diazepam",), "1049502": ("oxycodone",)}.get(code, ())

    def resolve_drug(self, text: str, fuzzy: bool = True) -> M | None:
        hit = self.names.get(text.strip().lower())
        return M(hit) if hit else None

    def resolve_condition(self, text: str, fuzzy: bool = True) -> M | None:
        hit = self.conditions.get(text.strip().lower())
        return M(hit) if hit else None


KB = FakeKB()
NOW = dt.datetime(2023, 5, 1, tzinfo=dt.UTC)


def test_age_is_relative_to_pinned_now() -> None:
    assert age_on("2003-05-01", NOW) == 20
    assert age_on("2003-05-02", NOW) == 19
    assert age_on("1950", NOW) == 72


def test_rxnorm_code_structured_dose_frequency_days() -> None:
    mapped = medication_request_to_order(med("a", "diazepam 5 MG Oral Tablet", code="197591", dose_mg=5, per_day=3,
                                             days=7, prn=True), KB)
    assert mapped.drug_id == "diazepam"
    assert mapped.order.dose == "5 mg"
    assert mapped.order.frequency == "3 times daily"
    assert mapped.order.days == 7
    assert mapped.order.prn is True
    assert mapped.order.code == "197591"


def test_tablet_count_times_strength_refills_and_display_search() -> None:
    resource = med("b", "12 HR Oxycodone Hydrochloride 10 MG Extended Release Oral Tablet", code="999")
    resource["dosageInstruction"] = [{
        "timing": {"repeat": {"frequency": 1, "period": 12, "periodUnit": "h"}},
        "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "tablet", "code": "{tablet}"}}],
    }]
    resource["dispenseRequest"] = {"numberOfRepeatsAllowed": 1,
                                   "expectedSupplyDuration": {"value": 2, "unit": "weeks", "code": "wk"}}
    mapped = medication_request_to_order(resource, KB)
    assert mapped.drug_id == "oxycodone"  # found in the display text: the code is unknown
    assert mapped.order.dose == "20 mg"
    assert mapped.order.frequency == "2 times daily"
    assert mapped.order.days == 28  # 14-day supply x (1 + 1 refill)
    assert any("refill" in n for n in mapped.notes)


def test_every_n_hours_validity_period_and_free_text() -> None:
    resource = med("c", "Valium")
    resource["dosageInstruction"] = [{"text": "5 mg PO q8h prn spasm"}]
    resource["dispenseRequest"] = {"validityPeriod": {"start": "2023-05-01", "end": "2023-05-11"}}
    mapped = medication_request_to_order(resource, KB)
    assert mapped.drug_id == "diazepam"
    assert mapped.order.sig == "diazepam 5 mg PO q8h prn spasm"
    assert mapped.order.days == 10
    resource["dosageInstruction"] = [{"timing": {"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}}}]
    assert medication_request_to_order(resource, KB).order.frequency == "3 times daily"
    resource["dosageInstruction"] = [{"timing": {"repeat": {"frequency": 1, "period": 36, "periodUnit": "h"}}}]
    assert medication_request_to_order(resource, KB).order.frequency == "every 36 hours"


def test_unknown_drug_keeps_its_text() -> None:
    mapped = medication_request_to_order(med("d", "Zzzumab 5 MG"), KB)
    assert mapped.drug_id is None
    assert mapped.order.drug == "Zzzumab 5 MG"


def test_build_patient_from_bundles_and_bare_resources() -> None:
    resources: dict[str, list[dict[str, Any]]] = {}
    prefetch = {
        "x1": patient("1950-06-01", "male"),
        "x2": bundle(med("m1", "oxycodone", dose_mg=5, per_day=4), med("m2", "diazepam", status="completed"),
                     med("draft", "diazepam", code="197591")),
        "x3": bundle({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
                      "code": {"text": "Chronic obstructive lung disease"}},
                     {"resourceType": "Condition", "id": "c2", "subject": {"reference": "Patient/p1"},
                      "code": {"text": "Sleep apnea"},
                      "clinicalStatus": {"coding": [{"code": "resolved"}]}},
                     {"resourceType": "Condition", "id": "c3", "subject": {"reference": "Patient/p1"},
                      "code": {"text": "Essential hypertension"}}),
        "x4": {"resourceType": "AllergyIntolerance", "id": "a1", "patient": {"reference": "Patient/p1"},
               "code": {"text": "Valium"}},
        "x5": {"resourceType": "Procedure", "id": "pr1", "status": "completed", "subject": {"reference": "Patient/p1"},
               "code": {"text": "Posterior lumbar spinal fusion L4-L5"}, "performedDateTime": "2023-04-29T00:00:00Z"},
        "x6": None,
    }
    for key, value in prefetch.items():
        for resource in iter_resources(value, key):
            resources.setdefault(resource["resourceType"], []).append(resource)
    data = build_patient(resources, KB, NOW, exclude={"draft"})
    case = data.case
    assert case.age == 72 and case.sex == "male"
    assert [m.name if hasattr(m, "name") else m for m in case.medications] == ["oxycodone"]
    assert case.conditions == ["copd"]
    assert case.allergies == ["diazepam"]
    assert case.setting == "post-spinal-fusion" and case.surgery_phase == "post-op"
    assert case.hours_since_surgery == 48.0
    assert any("outside the knowledge pack" in n for n in data.notes)


@pytest.mark.parametrize(
    ("resource", "field"),
    [
        ({"resourceType": "MedicationRequest", "id": "x", "status": "active", "intent": "order",
          "subject": {"reference": "Patient/p"}, "medicationCodeableConcept": {"text": "d"},
          "dosageInstruction": [{"timing": {"repeat": {"frequency": "often"}}}]},
         "dosageInstruction.0.timing.repeat.frequency"),
        ({"resourceType": "MedicationRequest", "id": "x", "status": "bogus", "intent": "order",
          "subject": {"reference": "Patient/p"}, "medicationCodeableConcept": {"text": "d"}}, "status"),
        ({"resourceType": "Patient", "id": "p", "gender": "femalex"}, "gender"),
        ({"resourceType": "Patient", "id": "p", "birthDate": "yesterday"}, "birthDate"),
        ({"id": "p"}, "resourceType"),
    ],
)
def test_invalid_fhir_names_resource_and_field(resource: dict[str, Any], field: str) -> None:
    with pytest.raises(FhirInputError) as err:
        validate(resource)
    assert err.value.field == field
    assert field in str(err.value)


def test_invalid_resource_inside_bundle_is_named() -> None:
    bad = bundle(patient(), {"resourceType": "Patient", "id": "q", "birthDate": 5})
    with pytest.raises(FhirInputError) as err:
        list(iter_resources(bad, "prefetch.patient"))
    assert err.value.resource == "Patient/q"
