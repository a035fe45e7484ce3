"""Exposed on a network: optional /api authentication (keys or CDS-style JWTs), per-client rate limit
with a clear 429, nosniff everywhere, HSTS over https, and JSON errors that never echo markup."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clinguide.kb import provider
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.service.app import create_app
from clinguide.service.protect import RateLimiter
from clinguide.settings import SettingError

from .test_cds_security import ISS, KEY, public_jwk, token

KEY_A = "key-alpha-0123456789abcdef"
KEY_B = "key-bravo-0123456789abcdef"
ASK = {"question": "How long can diazepam be used for muscle spasm?"}
CHECK = {"order": {"sig": "diazepam 5 mg PO TID x 5 days"}}


@pytest.fixture()
def mini(minikb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Build an app over the mini pack with the environment the test sets first."""
    monkeypatch.setattr(provider, "_provider", lambda: minikb, raising=False)

    def build(**env: str) -> TestClient:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return TestClient(create_app(), raise_server_exceptions=False)

    return build


# ----- API authentication -------------------------------------------------------------
def test_api_is_open_by_default(real_client: TestClient) -> None:
    assert real_client.post("/api/check", json=CHECK).status_code == 200


@pytest.mark.parametrize("path,body", [("/api/check", CHECK), ("/api/ask", ASK)])
def test_api_keys(real_client: TestClient, monkeypatch: pytest.MonkeyPatch, path: str, body: dict) -> None:
    digest = hashlib.sha256(KEY_B.encode()).hexdigest()
    monkeypatch.setenv("CLINGUIDE_API_AUTH", "key")
    monkeypatch.setenv("CLINGUIDE_API_KEYS", f"{KEY_A}, sha256:{digest}")
    client = real_client
    refused = client.post(path, json=body)
    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthorized" and "X-API-Key" in refused.json()["detail"]
    assert refused.headers["www-authenticate"].startswith("Bearer")
    wrong = client.post(path, json=body, headers={"X-API-Key": "key-alpha-0123456789abcdeX"})
    assert wrong.status_code == 401 and "not valid" in wrong.json()["detail"]
    assert client.post(path, json=body, headers={"X-API-Key": KEY_A}).status_code == 200
    assert client.post(path, json=body, headers={"Authorization": f"Bearer {KEY_B}"}).status_code == 200
    # other routes keep their own rules: health, the page, the CDS discovery
    assert client.get("/healthz").status_code == 200
    assert client.get("/cds-services").status_code == 200


def test_api_jwt(real_client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"issuers": {ISS: {"keys": [public_jwk(KEY, "k1")]}}}))
    monkeypatch.setenv("CLINGUIDE_CDS_JWKS_FILE", str(jwks))
    monkeypatch.setenv("CLINGUIDE_CDS_ISSUERS", ISS)
    monkeypatch.setenv("CLINGUIDE_API_AUTH", "jwt")
    url = "http://testserver/api/check"
    good = token(aud=url)
    assert real_client.post("/api/check", json=CHECK, headers={"Authorization": f"Bearer {good}"}).status_code == 200
    # replayed, wrong audience, garbage, an API key where a JWT is needed: all 401
    for bad in (good, token(aud="http://testserver/api/ask"), "abc.def.ghi", KEY_A):
        response = real_client.post("/api/check", json=CHECK, headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad
        assert "trusted issuer" in response.json()["detail"]


def test_auth_modes_that_could_never_admit_anyone_refuse_to_start(mini: Any) -> None:
    with pytest.raises(SettingError, match="CLINGUIDE_API_KEYS"):
        mini(CLINGUIDE_API_AUTH="key")
    with pytest.raises(SettingError, match="CLINGUIDE_API_AUTH"):
        mini(CLINGUIDE_API_AUTH="maybe")


def test_short_plain_keys_are_refused(mini: Any) -> None:
    with pytest.raises(SettingError, match="at least 16"):
        mini(CLINGUIDE_API_AUTH="key", CLINGUIDE_API_KEYS="short")


# ----- rate limit -----------------------------------------------------------------------
def test_rate_limit_answers_429_with_retry_after(mini: Any) -> None:
    client = mini(CLINGUIDE_RATE_LIMIT_PER_MINUTE="60", CLINGUIDE_RATE_LIMIT_BURST="3")
    statuses = [client.get("/cds-services").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.post("/api/check", json=CHECK)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    body = limited.json()
    assert body["error"] == "too many requests" and body["retry_after"] == int(limited.headers["retry-after"])
    assert "60 requests per minute" in body["detail"]
    assert limited.headers["x-content-type-options"] == "nosniff"
    assert client.get("/healthz").status_code == 200  # probes are never limited


def test_rate_limit_is_per_client() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    assert [limiter.take("a"), limiter.take("a")] == [0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)
    assert limiter.take("b") == 0.0  # another client is not affected
    now[0] += 1.0  # one request per second comes back
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0


# ----- headers and escaping ------------------------------------------------------------
def test_nosniff_on_every_kind_of_response(real_client: TestClient) -> None:
    for response in (
        real_client.get("/healthz"),
        real_client.post("/api/check", json=CHECK),
        real_client.post("/api/check", json={"order": 1}),
        real_client.get("/nowhere"),
        real_client.get("/openapi.json"),
        real_client.get("/docs"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff", response.url
        assert "strict-transport-security" not in response.headers  # plain http


def test_hsts_over_https(real_client: TestClient) -> None:
    https = TestClient(real_client.app, base_url="https://testserver")
    assert "max-age=" in https.get("/healthz").headers["strict-transport-security"]


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("get", "/api/<script>alert(1)</script>", None),
        ("put", "/api/check?<img src=x onerror=alert(1)>", None),
        ("post", "/api/check", {"order": {"drug": "<script>alert(1)</script>"}, "case": {"sex": "<b>"}}),
        ("post", "/api/ask", {"question": "<svg onload=alert(1)>", "audience": "<i>"}),
        ("post", "/api/check", {"order": {"sig": "x"}, "<script>": 1}),
        ("post", "/cds-services/<script>", {"hook": "<b>"}),
    ],
)
def test_json_never_carries_raw_markup(real_client: TestClient, method: str, path: str, body: Any) -> None:
    kwargs = {"json": body} if body is not None else {}
    response = getattr(real_client, method)(path, **kwargs) if method != "put" else real_client.put(path)
    raw = response.content
    assert b"<" not in raw and b">" not in raw, raw[:300]
    assert response.headers["content-type"].startswith("application/json")
    json.loads(raw)  # still plain JSON: the escapes decode to the same strings


def test_serve_refuses_settings_that_cannot_work(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "CLINGUIDE_DATA_DIR": str(tmp_path)}
    for extra, expected in (
        ({"CLINGUIDE_API_AUTH": "key"}, "CLINGUIDE_API_KEYS"),
        ({"CLINGUIDE_RATE_LIMIT_PER_MINUTE": "lots"}, "CLINGUIDE_RATE_LIMIT_PER_MINUTE='lots' is not a whole number"),
    ):
        result = subprocess.run([sys.executable, "-m", "clinguide.cli", "serve", "--port", "1"],
                                env={**env, **extra}, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert expected in result.stderr and "Traceback" not in result.stderr


def test_openapi_names_the_api_credential_when_one_is_needed(mini: Any) -> None:
    open_doc = mini().get("/openapi.json").json()
    assert "security" not in open_doc["paths"]["/api/check"]["post"]
    doc = mini(CLINGUIDE_API_AUTH="key", CLINGUIDE_API_KEYS=KEY_A).get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert doc["paths"]["/api/check"]["post"]["security"] == [{"ApiKey": []}]
    responses = doc["paths"]["/api/check"]["post"]["responses"]
    assert {"401", "413", "415", "422", "429"} <= set(responses)
    assert responses["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    assert responses["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
