"""Server-side request forgery: ``fhirServer`` is read, and the EHR's token sent, only when allow-listed.

A real listener on 127.0.0.1 (started here) plays the FHIR server; the app uses its real HTTP client.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clinguide.kb import provider
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.service.app import create_app
from clinguide.service.cds.allowlist import matches, parse_base, permitted
from clinguide.service.cds.security import REPLAY

from .conftest import NOW, bundle, hook_request, med, patient
from .test_cds_security import ISS, KEY, public_jwk, token

SIGN = "clinguide-order-sign"
TOKEN = "ehr-access-token-must-not-leak"


class Listener:
    """A tiny FHIR server that records every request it receives."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                path = self.path.split("?", 1)[0]
                if path.endswith("/Patient/p1"):
                    body: Any = patient("1950-01-01")
                elif path.endswith("/MedicationRequest"):
                    body = bundle(med("rx0", "Painocodone", dose_mg=5, per_day=4))
                else:
                    body = bundle()
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/fhir"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def listener() -> Iterator[Listener]:
    with Listener() as running:
        yield running


@pytest.fixture()
def app(minikb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("CLINGUIDE_CDS_ALLOW_UNSIGNED", "1")
    for name in ("CLINGUIDE_CDS_FHIR_SERVERS", "CLINGUIDE_CDS_FHIR_SERVERS_UNSIGNED"):
        monkeypatch.delenv(name, raising=False)
    provider.set_provider(lambda: minikb)
    REPLAY.clear()
    try:
        yield TestClient(create_app(now=NOW), raise_server_exceptions=False)
    finally:
        provider.set_provider(None)


def body(server: str) -> dict[str, Any]:
    draft = med("rx1", "Calmazepam", code="99901", status="draft", dose_mg=5, per_day=3, days=5)
    return hook_request("order-sign", [draft], fhirServer=server, fhirAuthorization={
        "access_token": TOKEN, "token_type": "Bearer", "expires_in": 300, "scope": "user/*.read",
        "subject": "clinguide"})


def topics(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["source"]["topic"]["code"] for c in response.json()["cards"]]


def could_not_read(response: Any) -> bool:
    return any(c["summary"].startswith("Could not read the record") for c in response.json()["cards"])


def test_server_not_allow_listed_receives_nothing(app: TestClient, listener: Listener) -> None:
    response = app.post(f"/cds-services/{SIGN}", json=body(listener.base))
    assert "opioid-benzodiazepine" not in topics(response)
    assert could_not_read(response)
    assert listener.requests == []
    assert TOKEN not in response.text


def test_allow_listed_server_receives_the_token(app: TestClient, listener: Listener,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINGUIDE_CDS_FHIR_SERVERS_UNSIGNED", listener.base)
    response = app.post(f"/cds-services/{SIGN}", json=body(listener.base))
    assert "opioid-benzodiazepine" in topics(response)
    assert not could_not_read(response)
    assert listener.requests, "the allow-listed server was not read"
    assert all(headers.get("authorization") == f"Bearer {TOKEN}" for _, headers in listener.requests)
    assert {path.split("?")[0].rsplit("/", 1)[-1] for path, _ in listener.requests} >= {"p1", "MedicationRequest"}


@pytest.mark.parametrize("named", [
    "{base}/../admin",          # dot segments climb out of the listed path
    "{base}@127.0.0.1",         # user info
    "{base}x",                  # a different path that merely starts like the entry
    "{base}?_format=json",      # a query
    "https://127.0.0.1:{port}/fhir",  # another port/scheme than listed
    "http://localhost:{port}/fhir",  # the same machine by another name
    "http://169.254.169.254/latest/meta-data",  # link-local metadata service
])
def test_tricks_around_an_allow_listed_loopback_entry(app: TestClient, listener: Listener,
                                                     monkeypatch: pytest.MonkeyPatch, named: str) -> None:
    monkeypatch.setenv("CLINGUIDE_CDS_FHIR_SERVERS_UNSIGNED", listener.base)
    port = listener.base.split(":")[2].split("/")[0]
    server = named.format(base=listener.base, port=port)
    response = app.post(f"/cds-services/{SIGN}", json=body(server))
    assert response.status_code == 200
    assert listener.requests == []
    assert could_not_read(response)


def test_per_issuer_allow_list_with_jwt(app: TestClient, listener: Listener, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A verified issuer may only name its own servers; the unsigned development list does not apply to it."""
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"issuers": {ISS: {"keys": [public_jwk(KEY, "k1")]}}}))
    monkeypatch.setenv("CLINGUIDE_CDS_JWKS_FILE", str(jwks))
    monkeypatch.setenv("CLINGUIDE_CDS_ISSUERS", ISS)
    monkeypatch.setenv("CLINGUIDE_CDS_FHIR_SERVERS_UNSIGNED", listener.base)  # not for signed calls
    aud = f"http://testserver/cds-services/{SIGN}"

    def signed() -> Any:
        return app.post(f"/cds-services/{SIGN}", json=body(listener.base),
                        headers={"Authorization": f"Bearer {token(aud=aud)}"})

    monkeypatch.setenv("CLINGUIDE_CDS_FHIR_SERVERS", json.dumps({"https://other-issuer.example": [listener.base]}))
    assert could_not_read(signed()) and listener.requests == []
    allow_file = tmp_path / "fhir-servers.json"
    allow_file.write_text(json.dumps({ISS: [listener.base]}))
    monkeypatch.setenv("CLINGUIDE_CDS_FHIR_SERVERS", str(allow_file))
    response = signed()
    assert "opioid-benzodiazepine" in topics(response)
    assert listener.requests and all(h.get("authorization") == f"Bearer {TOKEN}" for _, h in listener.requests)


def test_entry_scheme_defaults_to_https(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINGUIDE_CDS_ALLOW_UNSIGNED", "1")
    monkeypatch.setenv("CLINGUIDE_CDS_FHIR_SERVERS_UNSIGNED", "ehr.example.org/fhir,http://10.0.0.5:8080/fhir")
    assert permitted("https://ehr.example.org/fhir", None)
    assert permitted("https://EHR.example.org:443/fhir/", None)
    assert not permitted("http://ehr.example.org/fhir", None)  # https unless the entry says otherwise
    assert permitted("http://10.0.0.5:8080/fhir/r4", None)  # a private address, listed explicitly
    assert not permitted("http://10.0.0.6:8080/fhir", None)
    assert not permitted("https://ehr.example.org/fhir", "https://some-issuer.example")  # signed: per issuer
    monkeypatch.delenv("CLINGUIDE_CDS_ALLOW_UNSIGNED")
    assert not permitted("https://ehr.example.org/fhir", None)  # the development list needs development mode
    entry = parse_base("https://ehr.example.org/fhir")
    assert entry is not None and not matches("https://ehr.example.org/fhir/%2e%2e/admin", entry)
