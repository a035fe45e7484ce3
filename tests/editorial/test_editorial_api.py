"""REST: bearer auth (401/403), the workflow over HTTP, JSON errors."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clinguide.editorial.workflow import EditorialStore
from clinguide.service.editorial_api import get_store, router

from .conftest import OVERVIEW_V2, People


@pytest.fixture
def client(store: EditorialStore) -> TestClient:
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_store] = lambda: store
    return TestClient(app)


def _auth(people: People, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {people.tokens[name]}"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/editorial/me"),
        ("get", "/api/editorial/queue"),
        ("get", "/api/editorial/proposals/1"),
        ("post", "/api/editorial/proposals"),
        ("post", "/api/editorial/proposals/1/approve"),
        ("post", "/api/editorial/items/statement/fixturol-overview/retire"),
        ("get", "/api/editorial/history"),
    ],
)
def test_401_without_or_with_a_bad_token(client: TestClient, people: People, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic YTpi"}):
        response = getattr(client, method)(path, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["detail"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


def test_workflow_over_http(client: TestClient, people: People) -> None:
    assert client.get("/api/editorial/me", headers=_auth(people, "rui")).json() == {
        "id": people.reviewer.id,
        "name": "rui",
        "role": "reviewer",
    }
    body = {"kind": "statement", "yaml": OVERVIEW_V2, "rationale": "clarify", "sources": ["S01"]}
    made = client.post("/api/editorial/proposals", json=body, headers=_auth(people, "ada"))
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    assert made.json()["state"] == "submitted"

    queue = client.get("/api/editorial/queue", headers=_auth(people, "rui")).json()
    assert [p["id"] for p in queue] == [pid]
    shown = client.get(f"/api/editorial/proposals/{pid}", headers=_auth(people, "rui")).json()
    assert "-clinician: Fixture clinician text, version one." in shown["diff"]
    assert "+clinician: Fixture clinician text, version two." in shown["diff"]

    # an author may not review; nobody may approve their own proposal
    assert client.post(f"/api/editorial/proposals/{pid}/start-review", headers=_auth(people, "ada")).status_code == 403
    started = client.post(f"/api/editorial/proposals/{pid}/start-review", headers=_auth(people, "rui"))
    assert started.json()["state"] == "under-review"
    forbidden = client.post(f"/api/editorial/proposals/{pid}/approve", headers=_auth(people, "ada"))
    assert forbidden.status_code == 403 and forbidden.json()["detail"]["code"] == "forbidden"

    stale = client.post(
        f"/api/editorial/proposals/{pid}/approve", json={"expected_version": 1}, headers=_auth(people, "rui")
    )
    assert stale.status_code == 409 and stale.json()["detail"]["code"] == "conflict"
    approved = client.post(
        f"/api/editorial/proposals/{pid}/approve",
        json={"comment": "ok", "expected_version": started.json()["version"]},
        headers=_auth(people, "rui"),
    )
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    again = client.post(f"/api/editorial/proposals/{pid}/reject", headers=_auth(people, "rita"))
    assert again.status_code == 409 and again.json()["detail"]["code"] == "illegal-transition"

    retire_path = "/api/editorial/items/statement/fixturol-overview/retire"
    assert client.post(retire_path, headers=_auth(people, "rui")).status_code == 403
    retired = client.post(retire_path, json={"comment": "gone"}, headers=_auth(people, "ed"))
    assert retired.status_code == 200 and retired.json()["retired"] is True

    history = client.get("/api/editorial/history", params={"proposal_id": pid}, headers=_auth(people, "ed")).json()
    assert [h["action"] for h in history] == ["create", "submit", "start-review", "approve", "retire"]
    by_item = client.get(
        "/api/editorial/history",
        params={"kind": "statement", "item_id": "fixturol-overview"},
        headers=_auth(people, "ed"),
    ).json()
    assert by_item == history


def test_json_errors_for_bad_input(client: TestClient, people: People) -> None:
    bad = client.post(
        "/api/editorial/proposals",
        json={
            "kind": "statement",
            "yaml": OVERVIEW_V2.replace("section: overview", "section: bogus"),
            "rationale": "x",
        },
        headers=_auth(people, "ada"),
    )
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "invalid-content"
    assert bad.json()["detail"]["problems"]
    missing = client.get("/api/editorial/proposals/42", headers=_auth(people, "ada"))
    assert missing.status_code == 404 and missing.json()["detail"]["message"] == "no proposal 42"
    ghost = client.post(
        "/api/editorial/proposals",
        json={"kind": "statement", "yaml": OVERVIEW_V2.replace("[fixturol]", "[ghost]"), "rationale": "x"},
        headers=_auth(people, "ada"),
    ).json()["id"]
    client.post(f"/api/editorial/proposals/{ghost}/start-review", headers=_auth(people, "rui"))
    refused = client.post(f"/api/editorial/proposals/{ghost}/approve", headers=_auth(people, "rui"))
    assert refused.status_code == 422 and "no drug with id 'ghost'" in refused.json()["detail"]["message"]
    half = client.get("/api/editorial/history", params={"kind": "statement"}, headers=_auth(people, "ed"))
    assert half.status_code == 400
    assert client.get("/api/editorial/queue", params={"state": "limbo"}, headers=_auth(people, "ed")).status_code == 400
