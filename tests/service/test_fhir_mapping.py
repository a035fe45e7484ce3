"""FHIR R4 → Case/Order mapping, with a small fake knowledge base (no pack needed)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinguide.fhir import FhirInputError, build_patient, iter_resources, medication_request_to_order, validate
from clinguide.fhir.mapping import age_on, drug_from_concept, medication_index, same_medication
from clinguide.kb import get_kb

from .conftest import bundle, med, patient


@dataclass
class M:
    id: str


@dataclass
class D:
    name: str


class FakeKB:
    drugs: ClassVar[dict[str, D]] = {
        "diazepam": D("diazepam"), "oxycodone": D("oxycodone"), "flurazepam": D("flurazepam"),
        "acetaminophen": D("acetaminophen")}
    names: ClassVar[dict[str, str]] = {
        "diazepam": "diazepam", "valium": "diazepam", "oxycodone": "oxycodone", "flurazepam": "flurazepam",
        "acetaminophen": "acetaminophen"}
    conditions: ClassVar[dict[str, str]] = {
        "copd": "copd", "chronic obstructive lung disease": "copd", "sleep apnea": "sleep-apnea"}
    policy = get_kb().policy  # the shipped pack's procedure term lists

    def drugs_by_rxnorm(self, code: str) -> tuple[str, ...]:
        return {"197591": ("diazepam",), "1049502": ("oxycodone",),
                "1049621": ("oxycodone",),
                # a combination product whose other ingredient sorts first
                "1049221": ("acetaminophen", "oxycodone")}.get(code, ())

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


# ----- every ingredient counts ----------------------------------------------------------------

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def test_combination_code_gives_every_ingredient() -> None:
    ids, code, name = drug_from_concept({"coding": [{"system": RXNORM, "code": "1049221"}]}, KB)
    assert ids == ("acetaminophen", "oxycodone") and code == "1049221"
    assert name == "acetaminophen / oxycodone"


def test_combination_display_without_known_code_is_read_part_by_part() -> None:
    ids, _, _ = drug_from_concept({"coding": [{"system": RXNORM, "code": "000", "display":
                                   "Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet"}]}, KB)
    assert ids == ("acetaminophen", "oxycodone")


def test_combination_order_has_one_order_and_entry_per_ingredient_with_its_strength() -> None:
    resource = med("p", "Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet", code="1049221")
    resource["dosageInstruction"] = [{"timing": {"repeat": {"frequency": 4, "period": 1, "periodUnit": "d"}},
                                      "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "tablet"}}]}]
    mapped = medication_request_to_order(resource, KB)
    assert mapped.drug_ids == ("acetaminophen", "oxycodone")
    assert [(d, o.drug, o.dose, o.code) for d, o in mapped.orders] == [
        ("acetaminophen", "acetaminophen", "650 mg", None), ("oxycodone", "oxycodone", "10 mg", None)]
    assert [(e.name, e.code) for e in mapped.entries] == [("acetaminophen", None), ("oxycodone", None)]
    data = build_patient({"MedicationRequest": [resource]}, KB, NOW)
    assert [m.name for m in data.case.medications] == ["acetaminophen", "oxycodone"]


def test_contained_and_indexed_medication_references() -> None:
    contained = {"resourceType": "MedicationRequest", "id": "r", "status": "active", "intent": "order",
                 "subject": {"reference": "Patient/p1"}, "medicationReference": {"reference": "#m"},
                 "contained": [{"resourceType": "Medication", "id": "m",
                                "code": {"coding": [{"system": RXNORM, "code": "1049502"}]}}]}
    assert medication_request_to_order(contained, KB).drug_ids == ("oxycodone",)
    by_ref = {**contained, "contained": [], "medicationReference": {"reference": "urn:uuid:1"}}
    index = medication_index([({"resourceType": "Medication", "id": "x", "code": {"text": "Valium"}}, "urn:uuid:1")])
    assert medication_request_to_order(by_ref, KB, index).drug_ids == ("diazepam",)
    lost = medication_request_to_order({**by_ref, "medicationReference": {"reference": "Medication/gone"}}, KB)
    assert lost.drug_ids == () and lost.unfollowed == "Medication/gone"
    assert lost.describe() == "medication Medication/gone"


def test_record_order_with_the_draft_id_is_dropped_only_when_same_medication() -> None:
    draft = medication_request_to_order(med("rx", "diazepam", status="draft"), KB)
    other = med("rx", "oxycodone")
    same = med("rx", "Valium")
    data = build_patient({"MedicationRequest": [other, same]}, KB, NOW, drafts=[draft])
    assert [m.drug_ids for m in data.medications] == [("oxycodone",)]
    assert same_medication(draft, medication_request_to_order(same, KB))


def test_unresolved_record_medications_are_kept_aside_not_passed_to_checks() -> None:
    data = build_patient({"MedicationRequest": [med("u", "Zzzumab"), med("o", "oxycodone")]}, KB, NOW)
    assert [m.name for m in data.unresolved] == ["Zzzumab"]
    assert [m.name for m in data.case.medications] == ["oxycodone"]


# ----- numbers are never repaired ----------------------------------------------------------------


def _dosed(value: float, **repeat: float) -> dict[str, Any]:
    resource = med("n", "diazepam")
    resource["dosageInstruction"] = [{
        "timing": {"repeat": {"frequency": 1, "period": 8, "periodUnit": "h", **repeat}},
        "doseAndRate": [{"doseQuantity": {"value": value, "unit": "mg", "code": "mg"}}]}]
    return resource


@pytest.mark.parametrize(("resource", "code", "fld"), [
    (_dosed(-5), "unparseable-order", "dose"),
    (_dosed(0), "unparseable-order", "dose"),
    (_dosed(1e9), "implausible-dose", "dose"),
    (_dosed(5, period=-8), "unparseable-order", "frequency"),
    (_dosed(5, period=0), "unparseable-order", "frequency"),
    (_dosed(5, period=1, periodUnit="s", frequency=100), "implausible-dose", "frequency"),  # type: ignore[arg-type]
    ({**med("n", "diazepam", dose_mg=5, per_day=3), "dispenseRequest": {
        "expectedSupplyDuration": {"value": -7, "code": "d"}}}, "unparseable-order", "days"),
    ({**med("n", "diazepam", dose_mg=5, per_day=3), "dispenseRequest": {
        "expectedSupplyDuration": {"value": 30, "code": "d"}, "numberOfRepeatsAllowed": 500}}, "implausible-dose",
     "days"),
    ({**med("n", "diazepam", dose_mg=5, per_day=3), "dispenseRequest": {
        "validityPeriod": {"start": "2023-05-10", "end": "2023-05-01"}}}, "unparseable-order", "days"),
])
def test_bad_numbers_are_problems_and_not_used(resource: dict[str, Any], code: str, fld: str) -> None:
    mapped = medication_request_to_order(resource, KB)
    assert [(p.code, p.field) for p in mapped.problems] == [(code, fld)]
    value = {"dose": mapped.order.dose, "frequency": mapped.order.frequency, "days": mapped.order.days}[fld]
    assert value is None
    assert mapped.order.sig is None


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_a_dose_is_used_only_as_written(value: float) -> None:
    """Safety invariant: the dose passed to the checks is the number written, or nothing."""
    mapped = medication_request_to_order(_dosed(value), KB)
    if mapped.order.dose is None:
        assert mapped.problems and (value <= 0 or value >= 1e7 or value < 1e-6)
    else:
        assert 0 < value < 1e7
        assert abs(float(mapped.order.dose.split()[0]) - value) <= max(1e-6, value * 1e-9)


def test_tablet_count_in_free_text_takes_the_product_strength() -> None:
    resource = med("t", "diazepam 5 MG Oral Tablet", code="197591")
    resource["dosageInstruction"] = [{"text": "take 2 tablets by mouth every 8 hours"}]
    mapped = medication_request_to_order(resource, KB)
    assert mapped.order.dose == "10 mg"
    assert mapped.order.sig == "diazepam take 2 tablets by mouth every 8 hours"  # timing still from the text
    combo = med("c", "Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet", code="1049221")
    combo["dosageInstruction"] = [{"text": "1 tablet every 6 hours"}]
    mapped = medication_request_to_order(combo, KB)
    assert mapped.order.dose is None  # the product as a whole: which strength? not guessed
    assert [o.dose for _, o in mapped.orders] == ["325 mg", "5 mg"]  # each ingredient: its own strength


def test_course_from_timing_bounds_when_no_dispense_request() -> None:
    resource = med("b", "diazepam", dose_mg=5, per_day=3)
    resource["dosageInstruction"][0]["timing"]["repeat"]["boundsDuration"] = {"value": 2, "unit": "wk", "code": "wk"}
    assert medication_request_to_order(resource, KB).order.days == 14
    resource["dosageInstruction"][0]["timing"]["repeat"]["boundsDuration"]["value"] = -2
    mapped = medication_request_to_order(resource, KB)
    assert mapped.order.days is None and [p.field for p in mapped.problems] == ["days"]


def test_current_medication_statement_counts_as_an_active_medicine() -> None:
    statement = {"resourceType": "MedicationStatement", "id": "s1", "status": "active",
                 "subject": {"reference": "Patient/p1"}, "medicationCodeableConcept": {"text": "Valium"},
                 "dosage": [{"text": "5 mg at bedtime"}]}
    stopped = {**statement, "id": "s2", "status": "stopped", "medicationCodeableConcept": {"text": "oxycodone"}}
    for resource in (statement, stopped):
        validate(resource)
    data = build_patient({"MedicationStatement": [statement, stopped]}, KB, NOW)
    assert [(m.drug_ids, m.ref) for m in data.medications] == [(("diazepam",), "MedicationStatement/s1")]
