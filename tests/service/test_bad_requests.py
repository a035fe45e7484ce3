"""Bad requests get a 4xx JSON body that names the problem; none gets a 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import hook_request, med, patient

SIGN = "/cds-services/clinguide-order-sign"


def good() -> dict[str, Any]:
    draft = med("rx1", "Calmazepam", code="99901", status="draft", dose_mg=5, per_day=3, days=5)
    return hook_request("order-sign", [draft], prefetch={"patient": patient(), "medications": None})


def test_malformed_json(mini_client: TestClient) -> None:
    r = mini_client.post(SIGN, content=b'{"hook": "order-sign",', headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"] == "malformed JSON" and "JSON" in r.json()["detail"]


def test_wrong_hook(mini_client: TestClient) -> None:
    body = {**good(), "hook": "patient-view"}
    r = mini_client.post(SIGN, json=body)
    assert r.status_code == 400 and r.json()["field"] == "hook"
    assert "order-sign" in r.json()["detail"]


@pytest.mark.parametrize("missing", ["patientId", "draftOrders"])
def test_missing_context(mini_client: TestClient, missing: str) -> None:
    body = good()
    del body["context"][missing]
    r = mini_client.post(SIGN, json=body)
    assert r.status_code == 400 and r.json()["field"] == f"context.{missing}"


@pytest.mark.parametrize("missing", ["hook", "hookInstance", "context"])
def test_missing_top_level(mini_client: TestClient, missing: str) -> None:
    body = good()
    del body[missing]
    r = mini_client.post(SIGN, json=body)
    assert r.status_code == 400 and r.json()["field"] == f"body.{missing}"


def test_authorization_without_server(mini_client: TestClient) -> None:
    body = {**good(), "fhirAuthorization": {"access_token": "t", "token_type": "Bearer", "expires_in": 60,
                                            "scope": "user/*.read", "subject": "x"}}
    r = mini_client.post(SIGN, json=body)
    assert r.status_code == 400 and "fhirServer" in r.json()["detail"]


def test_selections_required_for_order_select(mini_client: TestClient) -> None:
    body = hook_request("order-select", [med("rx1", "Calmazepam", status="draft")])
    del body["context"]["selections"]
    r = mini_client.post("/cds-services/clinguide-order-select", json=body)
    assert r.status_code == 400 and r.json()["field"] == "context.selections"


@pytest.mark.parametrize(
    ("where", "value", "field", "resource"),
    [
        ("draft", {"dosageInstruction": [{"timing": {"repeat": {"frequency": "lots"}}}]},
         "dosageInstruction.0.timing.repeat.frequency", "MedicationRequest/rx1"),
        ("draft", {"status": "signed-ish"}, "status", "MedicationRequest/rx1"),
        ("patient", {"birthDate": "01/02/1980"}, "birthDate", "Patient/p1"),
        ("patient", {"gender": "femalex"}, "gender", "Patient/p1"),
    ],
)
def test_fhir_that_does_not_validate(mini_client: TestClient, where: str, value: dict[str, Any], field: str,
                                     resource: str) -> None:
    body = good()
    if where == "draft":
        body["context"]["draftOrders"]["entry"][0]["resource"].update(value)
    else:
        body["prefetch"]["patient"].update(value)
    r = mini_client.post(SIGN, json=body)
    assert r.status_code == 400, r.text
    data = r.json()
    assert data["error"] == "invalid FHIR resource" and data["resource"] == resource
    assert data["field"] == field and field in data["detail"]


def test_draft_orders_not_a_bundle(mini_client: TestClient) -> None:
    body = good()
    body["context"]["draftOrders"] = {"resourceType": "MedicationRequest"}
    r = mini_client.post(SIGN, json=body)
    assert r.status_code == 400 and r.json()["field"] == "context.draftOrders"


def test_ten_megabyte_body(mini_client: TestClient) -> None:
    body = json.dumps({**good(), "padding": "x" * 10_000_000}).encode()
    r = mini_client.post(SIGN, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "request too large"


def test_chunked_body_over_the_limit(mini_client: TestClient) -> None:
    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(20):
            yield b"x" * 100_000

    r = mini_client.post(SIGN, content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_unknown_service_and_path(mini_client: TestClient) -> None:
    r = mini_client.post("/cds-services/nope", json=good())
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    r = mini_client.get("/no/such/page")
    assert r.status_code == 404 and r.json()["error"] == "not found"
    r = mini_client.delete("/cds-services")
    assert r.status_code == 405 and r.json()["error"] == "method not allowed"


@pytest.mark.parametrize("path", ["/api/check", SIGN])
@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None])
def test_a_body_that_is_not_json_is_415(mini_client: TestClient, path: str, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    r = mini_client.post(path, content=b'{"order": {"sig": "diazepam 5 mg"}}', headers=headers)
    assert r.status_code == 415, r.text
    assert r.json()["error"] == "unsupported media type" and "application/json" in r.json()["detail"]
    # JSON with a charset, or a +json type, is JSON
    ok = mini_client.post("/api/check", content=b'{"order": {"sig": "diazepam 5 mg PO TID"}}',
                          headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code == 200, ok.text


def test_problem_paths_name_fields_not_pydantic_internals(mini_client: TestClient) -> None:
    body = {"order": {"sig": "diazepam 5 mg PO TID"}, "case": {"medications": [{"name": "x", "dose_mg": 5}, 7]}}
    r = mini_client.post("/api/check", json=body)
    assert r.status_code == 422
    fields = [p["field"] for p in r.json()["problems"]]
    assert "body.case.medications.0.dose_mg" in fields and "body.case.medications.1" in fields
    assert not [f for f in fields if "MedicationEntry" in f or "constrained" in f], fields
    unknown = mini_client.post("/api/check", json={"Order": {}, "order": {"sig": "diazepam"}})
    assert [p["field"] for p in unknown.json()["problems"]] == ["body.Order"]


def test_malformed_utf8_is_answered_like_malformed_json(mini_client: TestClient) -> None:
    api = mini_client.post("/api/check", content=b'\xff{"order"', headers={"Content-Type": "application/json"})
    assert api.status_code == 422 and api.json()["error"] == "malformed JSON"
    cds = mini_client.post(SIGN, content=b'\xff{"hook"', headers={"Content-Type": "application/json"})
    assert cds.status_code == 400 and cds.json()["error"] == "malformed JSON"
