"""CDS Hooks 2.0 endpoints against the test mini-pack: discovery, cards, suggestions, missing data, feedback."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from clinguide.kb import provider
from clinguide.service.app import create_app
from clinguide.service.cds.models import CardsResponse, DiscoveryResponse

from .conftest import NOW, bundle, hook_request, med, patient

SELECT, SIGN, VIEW = "clinguide-order-select", "clinguide-order-sign", "clinguide-patient-view"


def assert_spec_shape(response: dict[str, Any]) -> None:
    """The conformance checklist (§12.6) of CDS_HOOKS.md, plus the 3.0 invariants usable under 2.0."""
    CardsResponse.model_validate(response)

    def no_empties(value: Any, where: str) -> None:
        assert value not in (None, "", [], {}), f"empty member at {where}"
        if isinstance(value, dict):
            for k, v in value.items():
                no_empties(v, f"{where}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                no_empties(v, f"{where}[{i}]")

    for card in response["cards"]:
        no_empties(card, "card")
        assert len(card["summary"]) < 140
        assert card["indicator"] in ("info", "warning", "critical")
        assert card["source"]["label"] and card["uuid"]
        if "suggestions" in card:
            assert card["selectionBehavior"] in ("at-most-one", "any")
            assert sum(bool(s.get("isRecommended")) for s in card["suggestions"]) <= 1
            for s in card["suggestions"]:
                assert s["uuid"] and s["label"]
                for action in s["actions"]:
                    assert action["description"]
                    if action["type"] == "delete":
                        assert action["resourceId"].startswith("MedicationRequest/") and "resource" not in action
                    else:
                        assert action["resource"]["resourceType"] == "MedicationRequest"
        for reason in card.get("overrideReasons", []):
            assert reason["display"] and reason["code"] and reason["system"]


def codes(response: dict[str, Any]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in response["cards"]]


def test_discovery_lists_three_services_with_prefetch(mini_client: TestClient) -> None:
    data = mini_client.get("/cds-services").json()
    DiscoveryResponse.model_validate(data)
    by_id = {s["id"]: s for s in data["services"]}
    assert {by_id[SELECT]["hook"], by_id[SIGN]["hook"], by_id[VIEW]["hook"]} == {"order-select", "order-sign",
                                                                                  "patient-view"}
    for service in data["services"]:
        assert service["description"] and service["title"]
        assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
        assert service["prefetch"]["medications"].startswith("MedicationRequest?patient={{context.patientId}}")
        assert "Condition?" in service["prefetch"]["conditions"]
        assert "AllergyIntolerance?" in service["prefetch"]["allergies"]


def test_order_sign_benzo_with_active_opioid_older_adult(mini_client: TestClient) -> None:
    draft = med("rx1", "Calmazepam 5 MG Oral Tablet", code="99901", status="draft", dose_mg=5, per_day=3, days=30)
    req = hook_request(SIGN.removeprefix("clinguide-"), [draft], prefetch={
        "patient": patient("1950-01-01"), "medications": bundle(med("rx0", "Painocodone", dose_mg=5, per_day=4)),
        "conditions": None, "allergies": None})
    response = mini_client.post(f"/cds-services/{SIGN}", json=req).json()
    assert_spec_shape(response)
    first = response["cards"][0]
    assert first["indicator"] == "critical" and first["source"]["topic"]["code"] == "opioid-benzodiazepine"
    assert first["suggestions"][0]["actions"] == [
        {"type": "delete", "description": "Remove the draft order", "resourceId": "MedicationRequest/rx1"}]
    assert "S59" in first["detail"]
    assert {"geriatric-avoid", "duration-exceeds-limit"} <= set(codes(response))
    duration = next(c for c in response["cards"] if c["source"]["topic"]["code"] == "duration-exceeds-limit")
    # A shorter course would still be critical with the opioid: no "safer" update is offered (issue 12).
    assert not any(a["type"] == "update" for s in duration.get("suggestions", []) for a in s["actions"])


def test_order_sign_duration_update_when_the_shorter_course_is_safe(mini_client: TestClient) -> None:
    draft = med("rx1", "Calmazepam 2 MG Oral Tablet", code="99901", status="draft", dose_mg=2, per_day=3, days=30)
    req = hook_request(SIGN.removeprefix("clinguide-"), [draft], prefetch={
        "patient": patient("1980-01-01"), "medications": None, "conditions": None, "allergies": None})
    response = mini_client.post(f"/cds-services/{SIGN}", json=req).json()
    duration = next(c for c in response["cards"] if c["source"]["topic"]["code"] == "duration-exceeds-limit")
    update = duration["suggestions"][0]["actions"][0]
    assert update["type"] == "update"
    supply = update["resource"]["dispenseRequest"]["expectedSupplyDuration"]
    assert supply["value"] == 14 and supply["code"] == "d"
    assert update["resource"]["id"] == "rx1"


def test_post_fusion_substitution_is_delete_plus_create(mini_client: TestClient) -> None:
    draft = med("rx1", "Calmazepam", code="99901", status="draft", dose_mg=5, per_day=3, days=5)
    req = hook_request("order-sign", [draft], prefetch={
        "patient": patient("1980-01-01"), "medications": None,
        "procedures": bundle({"resourceType": "Procedure", "id": "pr", "status": "completed",
                              "subject": {"reference": "Patient/p1"}, "code": {"text": "Lumbar spinal fusion"},
                              "performedDateTime": "2023-04-28"})})
    response = mini_client.post(f"/cds-services/{SIGN}", json=req).json()
    assert_spec_shape(response)
    setting = next(c for c in response["cards"] if c["source"]["topic"]["code"] == "not-recommended-setting")
    actions = setting["suggestions"][0]["actions"]
    assert [a["type"] for a in actions] == ["delete", "create"]
    assert actions[1]["resource"]["medicationCodeableConcept"]["text"].lower() == "spasmolin"
    assert actions[1]["resource"]["status"] == "draft"


def test_opioid_order_with_active_benzo_raises_the_interaction(mini_client: TestClient) -> None:
    req = hook_request("order-select", [med("rx2", "Painocodone", status="draft", dose_mg=5, per_day=4)], prefetch={
        "patient": patient(), "medications": bundle(med("rx0", "Calmium", dose_mg=5, per_day=2, days=5))})
    response = mini_client.post(f"/cds-services/{SELECT}", json=req).json()
    assert_spec_shape(response)
    assert codes(response).count("opioid-benzodiazepine") == 1
    assert response["cards"][0]["indicator"] == "critical"


def test_opioid_order_alone_gives_no_card(mini_client: TestClient) -> None:
    req = hook_request("order-select", [med("rx2", "Painocodone", status="draft", dose_mg=5, per_day=4)],
                       prefetch={"patient": patient(), "medications": None})
    assert mini_client.post(f"/cds-services/{SELECT}", json=req).json() == {"cards": []}


def test_order_select_focuses_on_selections_other_drafts_count_as_current(mini_client: TestClient) -> None:
    benzo = med("rx1", "Calmazepam", code="99901", status="draft", dose_mg=5, per_day=3, days=5)
    opioid = med("rx2", "Painocodone", status="draft", dose_mg=5, per_day=4)
    req = hook_request("order-select", [benzo, opioid], prefetch={"patient": patient(), "medications": None})
    req["context"]["selections"] = ["MedicationRequest/rx1"]
    response = mini_client.post(f"/cds-services/{SELECT}", json=req).json()
    assert "opioid-benzodiazepine" in codes(response)


def test_patient_view_flags_active_prescription_once(mini_client: TestClient) -> None:
    req = hook_request("patient-view", prefetch={"p": patient("1950-01-01"), "m": bundle(
        med("a", "Calmazepam", code="99901", dose_mg=5, per_day=2, days=5),
        med("b", "Sleepazolam", dose_mg=1, per_day=1), med("c", "Painocodone", dose_mg=5, per_day=4))})
    response = mini_client.post(f"/cds-services/{VIEW}", json=req).json()
    assert_spec_shape(response)
    assert codes(response).count("opioid-benzodiazepine") == 1
    assert "geriatric-avoid" in codes(response)
    assert all("suggestions" not in c for c in response["cards"])


def test_no_prefetch_no_server_says_so(mini_client: TestClient) -> None:
    draft = med("rx1", "Calmazepam", code="99901", status="draft", dose_mg=5, per_day=3, days=5)
    response = mini_client.post(f"/cds-services/{SIGN}", json=hook_request("order-sign", [draft])).json()
    assert_spec_shape(response)
    info = [c for c in response["cards"] if c["source"]["topic"]["code"] == "cds-data"]
    assert len(info) == 1 and info[0]["indicator"] == "info"
    assert "age" in info[0]["summary"] and "medication" in info[0]["summary"]


def _fhir_server(requests: list[httpx.Request], fail: bool = False) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if fail:
            return httpx.Response(503)
        path = request.url.path
        if path.endswith("/Patient/p1"):
            return httpx.Response(200, json=patient("1950-01-01"))
        if path.endswith("/MedicationRequest"):
            return httpx.Response(200, json=bundle(med("rx0", "Painocodone", dose_mg=5, per_day=4)))
        return httpx.Response(200, json=bundle())

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("fail", [False, True])
def test_fetches_from_fhir_server_with_bearer_token(minikb: Any, unsigned: None, fail: bool,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINGUIDE_CDS_FHIR_SERVERS_UNSIGNED", "https://ehr.example.org/fhir")
    seen: list[httpx.Request] = []
    provider.set_provider(lambda: minikb)
    try:
        client = TestClient(create_app(now=NOW, fhir_transport=_fhir_server(seen, fail)))
        draft = med("rx1", "Calmazepam", code="99901", status="draft", dose_mg=5, per_day=3, days=5)
        req = hook_request("order-sign", [draft], fhirServer="https://ehr.example.org/fhir", fhirAuthorization={
            "access_token": "tok-123", "token_type": "Bearer", "expires_in": 300, "scope": "user/*.read",
            "subject": "clinguide"})
        response = client.post(f"/cds-services/{SIGN}", json=req).json()
    finally:
        provider.set_provider(None)
    assert_spec_shape(response)
    assert {r.url.path.rsplit("/", 1)[-1] for r in seen} >= {"p1", "MedicationRequest", "Condition"}
    assert all(r.headers["authorization"] == "Bearer tok-123" for r in seen)
    if fail:
        info = [c for c in response["cards"] if c["indicator"] == "info"]
        assert info and "Could not read" in info[-1]["summary"]
        assert "opioid-benzodiazepine" not in codes(response)
    else:
        assert codes(response)[0] == "opioid-benzodiazepine"
        assert "cds-data" not in codes(response)


FEEDBACK_EXAMPLES = [
    {"card": "4e0a3a1e-3283-4575-ab82-028d55fe2719", "outcome": "accepted",
     "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
     "outcomeTimestamp": "2021-12-11T10:05:31Z"},
    {"card": "f6b95768-b1c8-40dc-8385-bf3504b82ffb", "outcome": "overridden",
     "outcomeTimestamp": "2020-12-11T00:00:00Z"},
    {"card": "9368d37b-283f-44a0-93ea-547cebab93ed", "outcome": "overridden",
     "overrideReason": {"reason": {"code": "d7ecf885", "system": "https://example.com/cds-hooks/override-reason-system"},
                        "userComment": "A comment entered by the clinician."},
     "outcomeTimestamp": "2020-12-11T00:00:00Z"},
]


@pytest.mark.parametrize("item", FEEDBACK_EXAMPLES)
def test_feedback_accepts_spec_examples(mini_client: TestClient, item: dict[str, Any]) -> None:
    response = mini_client.post(f"/cds-services/{SIGN}/feedback", json={"feedback": [item]})
    assert response.status_code == 200 and response.json() == {"recorded": 1}


@pytest.mark.parametrize(
    "item",
    [
        {"card": "x", "outcome": "accepted", "outcomeTimestamp": "2021-12-11T10:05:31Z"},
        {"card": "x", "outcome": "ignored", "outcomeTimestamp": "2021-12-11T10:05:31Z"},
        {"card": "x", "outcome": "overridden", "outcomeTimestamp": "not a time"},
        {"card": "x", "outcome": "overridden", "outcomeTimestamp": "2020-12-11T00:00:00Z", "overrideReason": {}},
    ],
)
def test_feedback_rejects_bad_items(mini_client: TestClient, item: dict[str, Any]) -> None:
    response = mini_client.post(f"/cds-services/{SIGN}/feedback", json={"feedback": [item]})
    assert response.status_code == 400
    assert response.json()["problems"][0]["field"].startswith("body.feedback.0")


def test_feedback_for_unknown_service_is_404(mini_client: TestClient) -> None:
    response = mini_client.post("/cds-services/nope/feedback", json={"feedback": [FEEDBACK_EXAMPLES[1]]})
    assert response.status_code == 404 and "nope" in response.json()["detail"]


def test_cors_preflight_for_allowed_and_other_origins(mini_client: TestClient) -> None:
    headers = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    ok = mini_client.options(f"/cds-services/{SIGN}", headers={"Origin": "https://sandbox.cds-hooks.org", **headers})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://sandbox.cds-hooks.org"
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    other = mini_client.options(f"/cds-services/{SIGN}", headers={"Origin": "https://evil.example", **headers})
    assert "access-control-allow-origin" not in other.headers


def test_card_json_is_plain_json(mini_client: TestClient) -> None:
    draft = med("rx1", "Calmazepam", code="99901", status="draft", dose_mg=50, per_day=3, days=5)
    req = hook_request("order-sign", [draft], prefetch={"patient": patient(), "medications": None})
    text = mini_client.post(f"/cds-services/{SIGN}", json=req).text
    assert_spec_shape(json.loads(text))
