"""The JSON API: contracts in, contracts out; OpenAPI exact; errors as JSON."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from clinguide.contracts import Article, CheckResult, Plan


def test_healthz_and_placeholder_or_web(real_client: TestClient) -> None:
    assert real_client.get("/healthz").json()["status"] == "ok"
    page = real_client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_check_returns_the_contract(real_client: TestClient) -> None:
    r = real_client.post("/api/check", json={"order": {"sig": "diazepam 5 mg PO TID x 30 days"},
                                             "case": {"age": 70}})
    assert r.status_code == 200, r.text
    result = CheckResult.model_validate(r.json())
    assert {"duration-exceeds-limit", "geriatric-avoid"} <= {f.code for f in result.findings}
    assert result.order.drug == "diazepam"


def test_check_without_case(real_client: TestClient) -> None:
    r = real_client.post("/api/check", json={"order": {"drug": "diazepam", "dose": "5 mg", "frequency": "TID"}})
    assert r.status_code == 200 and r.json()["order"]["daily_mg"] == 15


def test_assess_returns_a_plan(real_client: TestClient) -> None:
    r = real_client.post("/api/assess", json={"case": {"age": 40, "symptom_days": 3, "spasm": "severe"}})
    assert r.status_code == 200, r.text
    Plan.model_validate(r.json())


def test_ask_returns_an_article(real_client: TestClient) -> None:
    r = real_client.post("/api/ask", json={"question": "Is diazepam safe for back spasm?", "audience": "patient"})
    assert r.status_code == 200, r.text
    assert Article.model_validate(r.json()).audience == "patient"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/check", {"order": {"dose": "5 mg"}}, "body.order"),
        ("/api/check", {"order": {"sig": "diazepam 5 mg"}, "case": {"age": 200}}, "body.case.age"),
        ("/api/check", {"order": {"sig": "x"}, "case": {"medication": ["a"]}}, "body.case.medication"),
        ("/api/assess", {}, "body.case"),
        ("/api/ask", {"question": "", "audience": "patient"}, "body.question"),
        ("/api/ask", {"question": "q", "audience": "robot"}, "body.audience"),
    ],
)
def test_validation_errors_name_the_field(real_client: TestClient, path: str, body: dict, field: str) -> None:
    r = real_client.post(path, json=body)
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == field
    assert field in r.json()["detail"]


def test_malformed_json_is_422_json(real_client: TestClient) -> None:
    r = real_client.post("/api/check", content=b"{", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "malformed JSON"


def test_openapi_uses_the_contracts(real_client: TestClient) -> None:
    spec = real_client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert {"CheckRequest", "CheckResult", "Plan", "Article", "Case", "Order", "HookRequest"} <= set(schemas)
    ok = spec["paths"]["/api/check"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/CheckResult")
    assert "/cds-services/{service_id}" in spec["paths"]
