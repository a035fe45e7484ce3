"""Mutations of a benzodiazepine + opioid request that once gave no card: every one must now be seen.

Real pack, HTTP in-process. The partner of the swept medication is diazepam (draft) or oxycodone (draft).
"""

from __future__ import annotations

import csv
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from clinguide.kb import get_kb
from clinguide.service.app import create_app
from clinguide.service.cds.security import REPLAY

from .conftest import INTEROP, NOW, bundle, hook_request, patient
from .test_cds_hooks import assert_spec_shape

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SIGN, SELECT, VIEW = "clinguide-order-sign", "clinguide-order-select", "clinguide-patient-view"
OXYCODONE = {"coding": [{"system": RXNORM, "code": "1049621"}]}  # code only
DIAZEPAM = {"coding": [{"system": RXNORM, "code": "197591", "display": "diazepam 5 MG Oral Tablet"}]}


def mr(rid: str, status: str = "active", concept: dict[str, Any] | None = None, ref: str | None = None,
       **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "MedicationRequest", "id": rid, "status": status, "intent": "order",
                                "subject": {"reference": "Patient/p1"}, **extra}
    if ref is not None:
        resource["medicationReference"] = {"reference": ref}
    else:
        resource["medicationCodeableConcept"] = concept
    return resource


def diazepam_draft(rid: str = "draft-1", **dosage: Any) -> dict[str, Any]:
    dose = dosage.get("dose", 5)
    resource = mr(rid, "draft", DIAZEPAM)
    resource["dosageInstruction"] = [{
        "timing": {"repeat": {"frequency": dosage.get("frequency", 1), "period": dosage.get("period", 8),
                              "periodUnit": "h"}},
        "doseAndRate": [{"doseQuantity": {"value": dose, "unit": "mg", "system": "http://unitsofmeasure.org",
                                          "code": "mg"}}]}]
    resource["dispenseRequest"] = {"expectedSupplyDuration": {"value": dosage.get("days", 3), "unit": "days",
                                                              "system": "http://unitsofmeasure.org", "code": "d"}}
    return resource


def medication(mid: str, concept: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Medication", "id": mid, **extra}
    if concept is not None:
        out["code"] = concept
    return out


@pytest.fixture(scope="module")
def client() -> Any:
    mp = pytest.MonkeyPatch()
    mp.setenv("CLINGUIDE_CDS_ALLOW_UNSIGNED", "1")
    REPLAY.clear()
    yield TestClient(create_app(now=NOW), raise_server_exceptions=False)
    mp.undo()


def call(client: TestClient, service: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(f"/cds-services/{service}", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert_spec_shape(data)
    return list(data["cards"])


def topics(cards: list[dict[str, Any]]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards]


def critical_pair(cards: list[dict[str, Any]]) -> bool:
    return any(c["source"]["topic"]["code"] == "opioid-benzodiazepine" and c["indicator"] == "critical"
               for c in cards)


def sign(active: list[dict[str, Any]] | dict[str, Any], draft: dict[str, Any] | None = None,
         **prefetch: Any) -> dict[str, Any]:
    return hook_request("order-sign", [draft or diazepam_draft()], prefetch={
        "patient": patient(), "medications": active if isinstance(active, dict) else bundle(*active), **prefetch})


# ----- medicationReference --------------------------------------------------------------


def test_contained_medication_reference(client: TestClient) -> None:
    active = mr("opioid", ref="#m1", contained=[medication("m1", OXYCODONE)])
    assert critical_pair(call(client, SIGN, sign([active])))


def test_contained_medication_by_ingredient_only(client: TestClient) -> None:
    """A compounded Medication with no code: its ingredients decide."""
    med = medication("m1", ingredient=[{"itemCodeableConcept": {"coding": [{"system": RXNORM, "code": "7804",
                                                                             "display": "oxycodone"}]}}])
    active = mr("opioid", ref="#m1", contained=[med])
    assert critical_pair(call(client, SIGN, sign([active])))


@pytest.mark.parametrize("key", ["medications", "medicationResources", "item7"])
def test_medication_reference_to_prefetch_single_resource_any_key(client: TestClient, key: str) -> None:
    body = sign([mr("opioid", ref="Medication/m9")])
    body["prefetch"][key if key != "medications" else "extra"] = medication("m9", OXYCODONE)
    assert critical_pair(call(client, SIGN, body))


def test_medication_reference_to_prefetch_searchset_by_full_url(client: TestClient) -> None:
    """MedicationRequest?…&_include=MedicationRequest:medication returns both in one searchset."""
    searchset = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"fullUrl": "urn:uuid:4a1f1b0e-6c1e-4bbf-a0b2-d6b0cf6c6f01",
         "resource": medication("m-any", OXYCODONE), "search": {"mode": "include"}},
        {"fullUrl": "https://ehr.example.org/fhir/MedicationRequest/opioid",
         "resource": mr("opioid", ref="urn:uuid:4a1f1b0e-6c1e-4bbf-a0b2-d6b0cf6c6f01"), "search": {"mode": "match"}},
    ]}
    assert critical_pair(call(client, SIGN, sign(searchset)))


def test_medication_reference_in_the_draft_itself(client: TestClient) -> None:
    """An opioid draft by reference, next to an active diazepam."""
    draft = mr("draft-oxy", "draft", ref="#m")
    draft["contained"] = [medication("m", OXYCODONE)]
    body = hook_request("order-select", [draft], prefetch={"patient": patient(), "medications": bundle(
        mr("benzo", concept=DIAZEPAM))})
    assert critical_pair(call(client, SELECT, body))


def test_reference_that_cannot_be_followed_is_named(client: TestClient) -> None:
    cards = call(client, SIGN, sign([mr("opioid", ref="Medication/nowhere")]))
    unknown = [c for c in cards if c["source"]["topic"]["code"] == "unknown-medication"]
    assert len(unknown) == 1 and "Medication/nowhere" in unknown[0]["summary"]
    assert "could not be followed" in unknown[0]["detail"]


# ----- draft vs record -------------------------------------------------------------------


def test_record_order_sharing_the_draft_id_but_not_its_drug_is_kept(client: TestClient) -> None:
    """Published Rec 08 test data reuse the draft's id for a different existing order."""
    assert critical_pair(call(client, SIGN, sign([mr("draft-1", concept=OXYCODONE)])))


def test_record_order_that_is_the_draft_itself_is_not_a_second_diazepam(client: TestClient) -> None:
    same = diazepam_draft()
    same["status"] = "active"
    cards = call(client, SIGN, sign([same]))
    assert "duplicate-therapy" not in topics(cards) and not critical_pair(cards)


def test_drafts_signed_together_see_each_other(client: TestClient) -> None:
    opioid = mr("draft-oxy", "draft", OXYCODONE)
    body = hook_request("order-sign", [diazepam_draft(), opioid], prefetch={"patient": patient(), "medications": None})
    cards = call(client, SIGN, body)
    assert topics(cards).count("opioid-benzodiazepine") == 1


# ----- never silent -----------------------------------------------------------------------


@pytest.mark.parametrize(("concept", "named"), [
    ({"coding": [{"system": RXNORM, "code": "99999999"}]}, "RxNorm 99999999"),
    ({"text": "Zzzumab 5 MG Oral Tablet"}, "Zzzumab"),
    ({"coding": [{"system": "http://snomed.info/sct", "code": "12345"}]}, "unnamed"),
])
def test_unknown_draft_gets_a_warning_naming_it(client: TestClient, concept: dict[str, Any], named: str) -> None:
    body = hook_request("order-select", [mr("new", "draft", concept)], prefetch={
        "patient": patient(), "medications": None})
    cards = call(client, SELECT, body)
    unknown = [c for c in cards if c["source"]["topic"]["code"] == "unknown-drug"]
    assert len(unknown) == 1 and unknown[0]["indicator"] == "warning"
    assert named in unknown[0]["summary"] and "not checked" in unknown[0]["summary"]


@pytest.mark.parametrize("service", [SIGN, VIEW])
def test_unknown_active_medication_is_named(client: TestClient, service: str) -> None:
    active = [mr("mystery", concept={"coding": [{"system": RXNORM, "code": "99999999"}]})]
    body = sign(active) if service == SIGN else hook_request("patient-view", prefetch={
        "patient": patient(), "medications": bundle(*active)})
    cards = call(client, service, body)
    unknown = [c for c in cards if c["source"]["topic"]["code"] == "unknown-medication"]
    assert len(unknown) == 1 and "RxNorm 99999999" in unknown[0]["summary"]


def _outside_pack_cns_depressants() -> list[str]:
    path = INTEROP / "valuesets" / "cns-depressant-medications.tsv"
    if not path.exists():
        return []
    kb = get_kb()
    with path.open(encoding="utf-8") as handle:
        return [r["code"] for r in csv.DictReader(handle, delimiter="\t") if not kb.drugs_by_rxnorm(r["code"])]


def test_cns_depressants_outside_the_pack_are_named(client: TestClient) -> None:
    missing = _outside_pack_cns_depressants()
    if not INTEROP.is_dir():
        pytest.skip("shared interop data not present")
    assert len(missing) == 27  # the appetite suppressants the pack does not cover
    silent = []
    for code in missing:
        active = [mr("cns", concept={"coding": [{"system": RXNORM, "code": code}]})]
        cards = call(client, SIGN, sign(active))
        if not any(c["source"]["topic"]["code"] == "unknown-medication" and code in c["summary"] for c in cards):
            silent.append(code)
    assert silent == []


# ----- bad numbers (FHIR dosage) -------------------------------------------------------------


@pytest.mark.parametrize(("dosage", "code", "path"), [
    ({"dose": -5}, "unparseable-order", "doseQuantity.value is -5"),
    ({"dose": 0}, "unparseable-order", "doseQuantity.value is 0"),
    ({"dose": 1e12}, "implausible-dose", "doseQuantity.value"),
    ({"period": 0}, "unparseable-order", "repeat.period is 0"),
    ({"period": -8}, "unparseable-order", "repeat.period is -8"),
    ({"period": 0.00001}, "implausible-dose", "timing.repeat"),
    ({"days": -3}, "unparseable-order", "expectedSupplyDuration.value is -3"),
    ({"days": 1e6}, "implausible-dose", "expectedSupplyDuration"),
])
def test_bad_numbers_are_critical_never_absolute(client: TestClient, dosage: dict[str, Any], code: str,
                                                 path: str) -> None:
    body = hook_request("order-sign", [diazepam_draft(**dosage)], prefetch={"patient": patient(),
                                                                             "medications": None})
    cards = call(client, SIGN, body)
    flagged = [c for c in cards if c["source"]["topic"]["code"] == code and path in c["detail"]]
    assert flagged and flagged[0]["indicator"] == "critical", topics(cards)
    # nothing read the number as its absolute value: no dose arithmetic on it
    assert not any("5 mg ×" in c.get("detail", "") and dosage.get("dose") == -5 for c in cards)


def test_zero_count_where_fhir_requires_a_positive_integer_is_a_clear_400(client: TestClient) -> None:
    """timing.repeat.frequency is a positiveInt: R4 validation names the field (the EHR sees why)."""
    body = hook_request("order-sign", [diazepam_draft(frequency=0)], prefetch={"patient": patient()})
    response = client.post(f"/cds-services/{SIGN}", json=body)
    assert response.status_code == 400
    assert response.json()["field"] == "dosageInstruction.0.timing.repeat.frequency"


def test_bad_dose_on_an_active_prescription_is_flagged_in_patient_view(client: TestClient) -> None:
    active = diazepam_draft(dose=-10)
    active["status"] = "active"
    cards = call(client, VIEW, hook_request("patient-view", prefetch={"patient": patient(),
                                                                      "medications": bundle(active)}))
    assert any(c["source"]["topic"]["code"] == "unparseable-order" and c["indicator"] == "critical" for c in cards)


# ----- no prefetch: FHIR server allowed or not ------------------------------------------------------


def _server(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path.endswith("/Patient/p1"):
            return httpx.Response(200, json=patient())
        if path.endswith("/MedicationRequest"):
            return httpx.Response(200, json=bundle(mr("opioid", ref="Medication/m1")))
        if path.endswith("/Medication/m1"):
            return httpx.Response(200, json=medication("m1", OXYCODONE))
        return httpx.Response(200, json=bundle())

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("allowed", [True, False])
def test_no_prefetch_reads_the_server_only_when_allowed(monkeypatch: pytest.MonkeyPatch, allowed: bool) -> None:
    monkeypatch.setenv("CLINGUIDE_CDS_ALLOW_UNSIGNED", "1")
    if allowed:
        monkeypatch.setenv("CLINGUIDE_CDS_FHIR_SERVERS_UNSIGNED", "https://ehr.example.org/fhir")
    seen: list[httpx.Request] = []
    app_client = TestClient(create_app(now=NOW, fhir_transport=_server(seen)), raise_server_exceptions=False)
    body = hook_request("order-sign", [diazepam_draft()], fhirServer="https://ehr.example.org/fhir",
                        fhirAuthorization={"access_token": "secret-token", "token_type": "Bearer", "expires_in": 300,
                                           "scope": "user/*.read", "subject": "clinguide"})
    cards = call(app_client, SIGN, body)
    if allowed:
        assert critical_pair(cards)  # found through MedicationRequest -> Medication/m1 on the server
        assert any(r.url.path.endswith("/Medication/m1") for r in seen)
        assert all(r.headers["authorization"] == "Bearer secret-token" for r in seen)
    else:
        assert seen == []
        assert not critical_pair(cards)
        note = [c for c in cards if c["summary"].startswith("Could not read the record")]
        assert len(note) == 1 and "ehr.example.org" in note[0]["summary"]
