"""Fixtures of the web tests: a TestClient app with its own data directory, and a real server plus chromium.

Browser tests (marked ``browser``) skip with the reason when chromium or Playwright is missing,
and FAIL instead under CI=true: there they must run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .live import CHROMIUM, CHROMIUM_ARGS, Live, chromium_missing, live_server

BROWSER_TIMEOUT_MS = 15_000


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app with a private (empty) data directory, so no editorial store is found by accident."""
    monkeypatch.setenv("CLINGUIDE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CLINGUIDE_DATABASE_URL", f"sqlite:///{tmp_path / 'clinguide.db'}")
    from clinguide.service.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client
    _reset_editorial(f"sqlite:///{tmp_path / 'clinguide.db'}")


def _reset_editorial(url: str) -> None:
    """Undo what an editorial test installed process-wide (the overlay provider, pooled connections)."""
    from clinguide.editorial import db, overlay

    overlay.uninstall()
    db.dispose(url)
    try:
        from clinguide.service import editorial_api

        for key in [k for k in editorial_api._stores if k[0] == url]:
            editorial_api._stores.pop(key, None)
    except ImportError:
        pass


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    problem = chromium_missing()
    if problem:
        if in_ci():
            pytest.fail(f"{problem}; CI=true, so the browser tests must run (see .ci/run)")
        pytest.skip(f"browser tests need chromium: {problem}")
    with live_server(tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture(scope="session")
def browser(live: Live) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=30_000)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live: Live) -> Iterator[Any]:
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    context.set_default_navigation_timeout(BROWSER_TIMEOUT_MS)
    external: list[str] = []
    context.on(
        "request",
        lambda request: (
            external.append(request.url) if not request.url.startswith((live.url, "data:", "about:")) else None
        ),
    )
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield pg
    context.close()
    assert not external, f"the page made external requests: {external}"
    assert not [e for e in errors if "status of 4" not in e], f"browser errors: {errors}"
