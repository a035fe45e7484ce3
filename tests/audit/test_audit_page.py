"""The read-only /audit page shows the newest report in CLINGUIDE_AUDIT_DIR and says clearly when there is none."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from clinguide.service.app import create_app


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app())


def _run(folder: Path, year: int) -> None:
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"measure": "COB", "year": year}))
    page = f"<html><body><h1>Population audit — measurement year {year}</h1></body></html>"
    (folder / "report.html").write_text(page)


def test_audit_page_shows_the_newest_report(tmp_path: Path, client: TestClient,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _run(tmp_path / "older", 2024)
    _run(tmp_path / "newer", 2025)
    past = time.time() - 3600
    os.utime(tmp_path / "older" / "summary.json", (past, past))
    monkeypatch.setenv("CLINGUIDE_AUDIT_DIR", str(tmp_path))
    page = client.get("/audit")
    assert page.status_code == 200 and "measurement year 2025" in page.text
    assert client.get("/audit/summary.json").json()["year"] == 2025


def test_audit_page_without_a_configured_folder_is_a_clear_404(client: TestClient,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLINGUIDE_AUDIT_DIR", raising=False)
    page = client.get("/audit")
    assert page.status_code == 404 and "CLINGUIDE_AUDIT_DIR is not set" in page.text
    assert client.get("/audit/summary.json").status_code == 404
