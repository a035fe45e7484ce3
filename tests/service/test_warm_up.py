"""A worker builds its caches at start-up (lifespan), not on the first request; and the answer cache
never serves an answer from another knowledge version."""

from __future__ import annotations

import functools
import sys

import pytest
from fastapi.testclient import TestClient

from clinguide.service import api, warm
from clinguide.service.app import create_app


@pytest.fixture
def started(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CLINGUIDE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CLINGUIDE_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    monkeypatch.setattr(warm, "_WARMED", set())
    with TestClient(create_app()) as client:
        yield client


def test_start_up_builds_the_caches_a_first_request_would(started: TestClient) -> None:
    from clinguide.answers import retrieve
    from clinguide.kb import get_kb

    kb = get_kb()
    assert kb.version in warm._WARMED
    assert kb.version in retrieve._CACHE  # the ask index of this knowledge version
    lazy = [name for name, attr in vars(type(kb)).items() if isinstance(attr, functools.cached_property)]
    assert lazy and all(name in vars(kb) for name in lazy)  # every knowledge lookup table
    for module in ("medicationrequest", "dosage", "timing", "quantity", "codeableconcept", "bundle"):
        assert f"fhir.resources.R4B.{module}" in sys.modules  # FHIR element models imported


def test_a_broken_warm_up_step_does_not_stop_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warm, "_WARMED", set())

    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(warm, "_templates", broken)
    steps = warm.warm_up()
    assert steps and not any(step.startswith("templates") for step in steps)


def test_an_answer_is_cached_per_knowledge_version(started: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    api.ANSWERS.clear()
    question = {"question": "Should I take diazepam for back spasm?", "audience": "patient"}
    first = started.post("/api/ask", json=question)
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/json")
    calls: list[str] = []
    from clinguide.answers import compose

    real = compose.ask
    monkeypatch.setattr(compose, "ask", lambda *a, **k: calls.append("composed") or real(*a, **k))
    again = started.post("/api/ask", json=question)
    assert again.content == first.content and calls == []  # served from the cache
    keys = list(api.ANSWERS._items)
    assert len(keys) == 1 and keys[0][2] == first.json()["knowledge_version"]
    api.ANSWERS.clear()  # a new knowledge version (or a cleared cache) composes again
    assert started.post("/api/ask", json=question).json() == first.json() and calls == ["composed"]
