"""JWT verification of CDS clients: keys generated here, never the network."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm

from clinguide.kb import provider
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.service.app import create_app
from clinguide.service.cds.security import REPLAY, Unauthorized, verify_token

from .conftest import NOW, hook_request, patient

ISS = "https://ehr.example.org"
URL = "http://testserver/cds-services/clinguide-patient-view"
SPEC_TOKEN = (
    "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImV4YW1wbGUta2lkIiwiamt1IjoiaHR0cHM6Ly9maGlyLWVoci5leGFtcGxlLmNvbS9qd2t"
    "fdXJpIn0.eyJpc3MiOiJodHRwczovL2ZoaXItZWhyLmV4YW1wbGUuY29tLyIsImF1ZCI6Imh0dHBzOi8vY2RzLmV4YW1wbGUub3JnL2Nkcy1zZXJ2aW"
    "Nlcy9zb21lLXNlcnZpY2UiLCJleHAiOjE0MjI1Njg4NjAsImlhdCI6MTMxMTI4MDk3MCwianRpIjoiZWUyMmIwMjEtZTFiNy00NjExLWJhNWItOGVlY"
    "zZhMzNhYzFlIiwidGVuYW50IjoiMmRkZDZjM2EtOGU5YS00NGM2LWEzMDUtNTIxMTFhZDMwMmEyIn0.d1WfLjGRKlcWB94l9do4cM8REXeYJLL6SGUBO"
    "8VHZhfM8mwKYP70EMxJ67War4TQblEpaQrp11wx5p7oPFm2ETYgCicS84vXWEIYTdjooZdooCSDf2L8-i4awdoUwiEb"
)
SPEC_JWK = {"kty": "EC", "use": "sig", "crv": "P-384", "kid": "example-kid", "alg": "ES384",
            "x": "46SDH7Znh821wblCBglA61sNE9ZrHYKKt3qRtRTmSXyOI_FIGBLWrWa0GPUkDCEk",
            "y": "XMcRuuoGW7CXjQdy-F5i3FeBE0x9hPLdeFdSoDd3ELmx404tLX0VRRcqzAsPhXcI"}

KEY = ec.generate_private_key(ec.SECP384R1())
OTHER_KEY = ec.generate_private_key(ec.SECP384R1())


def public_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": "ES384", "use": "sig"}


def token(key: Any = KEY, alg: str = "ES384", kid: str = "k1", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISS, "aud": URL, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm=alg,
                      headers={"kid": kid, "typ": "JWT"})


@pytest.fixture()
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, minikb: KnowledgeBase) -> Any:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"issuers": {ISS: {"keys": [public_jwk(KEY, "k1")]},
                                            "https://fhir-ehr.example.com/": {"keys": [SPEC_JWK]}}}))
    monkeypatch.setenv("CLINGUIDE_CDS_JWKS_FILE", str(jwks))
    monkeypatch.setenv("CLINGUIDE_CDS_ISSUERS", f"{ISS},https://fhir-ehr.example.com/")
    monkeypatch.delenv("CLINGUIDE_CDS_ALLOW_UNSIGNED", raising=False)
    REPLAY.clear()
    provider.set_provider(lambda: minikb)
    yield TestClient(create_app(now=NOW))
    provider.set_provider(None)


def call(client: TestClient, bearer: str | None, path: str = "/cds-services/clinguide-patient-view") -> Any:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    if path == "/cds-services":
        return client.get(path, headers=headers)
    return client.post(path, json=hook_request("patient-view", prefetch={"patient": patient()}), headers=headers)


def test_valid_token_is_accepted_for_service_and_discovery(client: TestClient) -> None:
    assert call(client, token()).status_code == 200
    assert call(client, token(aud="http://testserver/cds-services"), "/cds-services").status_code == 200


def test_audience_as_list_is_accepted(client: TestClient) -> None:
    assert call(client, token(aud=[URL])).status_code == 200


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda: token(key=OTHER_KEY), id="bad-signature"),
        pytest.param(lambda: token(iss="https://other.example.org"), id="wrong-iss"),
        pytest.param(lambda: token(aud="https://cds.example.org/cds-services/clinguide-patient-view"), id="wrong-aud"),
        pytest.param(lambda: token(exp=int(time.time()) - 3600, iat=int(time.time()) - 3900), id="expired"),
        pytest.param(lambda: token(jti=None), id="no-jti"),
        pytest.param(lambda: token(kid="unknown"), id="unknown-kid"),
        pytest.param(lambda: token(key="a-shared-secret-of-enough-length-for-hs256!", alg="HS256"), id="hs256"),
        pytest.param(lambda: jwt.encode({"iss": ISS, "aud": URL, "exp": int(time.time()) + 60, "iat": 1, "jti": "x"},
                                        None, algorithm="none"), id="alg-none"),
        pytest.param(lambda: "not-a-jwt", id="garbage"),
        pytest.param(lambda: None, id="missing"),
    ],
)
def test_rejections_are_401_json(client: TestClient, bad: Any) -> None:
    response = call(client, bad())
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert "www-authenticate" in response.headers


def test_replayed_jti_is_rejected(client: TestClient) -> None:
    once = token()
    assert call(client, once).status_code == 200
    assert call(client, once).status_code == 401


def test_spec_vector_signature_verifies_but_token_is_expired(client: TestClient) -> None:
    key = jwt.PyJWK(SPEC_JWK, algorithm="ES384")
    claims = jwt.decode(SPEC_TOKEN, key=key, algorithms=["ES384"], options={"verify_exp": False},
                        audience="https://cds.example.org/cds-services/some-service")
    assert claims["jti"] == "ee22b021-e1b7-4611-ba5b-8eec6a33ac1e"
    with pytest.raises(Unauthorized) as err:
        verify_token(SPEC_TOKEN, "https://cds.example.org/cds-services/some-service")
    assert err.value.reason == "token expired"


def test_unsigned_allowed_from_localhost_only(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINGUIDE_CDS_ALLOW_UNSIGNED", "1")
    assert call(client, None).status_code == 200  # the test client counts as local
    remote = TestClient(client.app, client=("203.0.113.7", 50000))
    assert call(remote, None).status_code == 401
    assert call(remote, token()).status_code == 200  # a signed call from anywhere is still fine
    # a token that is present is always verified, even from localhost
    assert call(client, token(key=OTHER_KEY)).status_code == 401


def test_base_url_setting_defines_the_audience(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINGUIDE_CDS_BASE_URL", "https://cds.example.org/")
    good = token(aud="https://cds.example.org/cds-services/clinguide-patient-view")
    assert call(client, good).status_code == 200
    assert call(client, token()).status_code == 401
