"""In Debian's chromium: the editorial desk at phone width (approve, then the diff still reads as the change
made), and /docs rendering Swagger UI with every non-local request blocked (the network "unplugged")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from .conftest import BROWSER_TIMEOUT_MS
from .live import Live

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]
STATEMENT = "diazepam-half-life"
MARKER = "Approve-then-diff marker sentence."
PHONE = {"width": 390, "height": 844}


def _propose(live: Live) -> int:
    """A second proposal, on another statement than the one test_browser approves."""
    from clinguide.editorial import db
    from clinguide.editorial.workflow import EditorialStore

    store = EditorialStore(live.database_url)
    item = yaml.safe_load(store.live_yaml("statement", STATEMENT) or "")
    assert isinstance(item, dict), STATEMENT
    item["clinician"] = item["clinician"].rstrip() + " " + MARKER
    item.pop("review", None)
    author = store.authenticate(live.author_token)
    proposal = store.propose(author, "statement", yaml.safe_dump(item, sort_keys=False), "Add a sentence",
                             sources=item["sources"])
    db.dispose(live.database_url)
    return int(proposal["id"])


@pytest.fixture
def isolated(browser: Any, live: Live) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A phone-sized page that may reach only the live server; (page, blocked requests, console errors)."""
    context = browser.new_context(base_url=live.url, viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    blocked: list[str] = []
    errors: list[str] = []

    def only_local(route: Any) -> None:
        url = route.request.url
        if url.startswith((live.url, "data:", "blob:", "about:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", only_local)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield page, blocked, errors
    context.close()


def _fits(page: Any) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the phone screen"


def test_docs_render_offline(isolated: tuple[Any, list[str], list[str]]) -> None:
    page, blocked, errors = isolated
    page.goto("/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "clinguide" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() >= 10  # every operation is listed
    assert page.locator(".opblock-summary-path", has_text="/api/check").count() >= 1
    # an operation expands and shows its documented error responses
    page.locator(".opblock-summary", has_text="/api/check").first.click()
    page.locator(".responses-table .response-col_status", has_text="429").first.wait_for()
    assert not blocked, f"/docs tried the network: {blocked}"
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


def test_approve_then_diff_at_phone_width(isolated: tuple[Any, list[str], list[str]], live: Live) -> None:
    page, blocked, errors = isolated
    pid = _propose(live)
    page.goto("/editorial")
    assert "clinguide editorial create-user" in page.locator("#token-hint").inner_text()
    page.get_by_label("Editorial token").fill(live.reviewer_token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Review queue").wait_for()
    _fits(page)
    page.locator(f"a[href='/editorial/proposals/{pid}']").first.click()
    page.get_by_role("heading", name="Change against the live version").wait_for()
    assert MARKER.split()[0] in page.locator(".change ins").first.inner_text()
    _fits(page)
    page.get_by_label("Comment").fill("Checked.")
    # approving re-validates the whole pack with the change (seconds on a loaded 2-core machine)
    page.get_by_role("button", name="Approve").click(timeout=60_000)
    page.locator(".alert-ok").wait_for(timeout=60_000)
    assert "approved" in page.locator(".alert-ok").inner_text()
    # after approval the page still shows the change as an addition, never as a removal
    page.get_by_role("heading", name="What this proposal changed").wait_for()
    assert MARKER.split()[0] in page.locator(".change ins").first.inner_text()
    assert page.locator(".change del", has_text=MARKER.split()[0]).count() == 0
    page.locator("summary", has_text="YAML diff").click()
    added = " ".join(page.locator("pre.diff .d-add").all_inner_texts())
    removed = " ".join(page.locator("pre.diff .d-del").all_inner_texts())
    assert MARKER in added and MARKER not in removed
    _fits(page)
    page.goto("/editorial/history")
    assert "approve" in page.locator("table.history").inner_text()
    _fits(page)
    # sign-out ends the session: the back button shows no editorial content
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Editorial token").wait_for()
    page.goto(f"/editorial/proposals/{pid}")
    assert page.get_by_label("Editorial token").count() == 1
    assert not blocked
    assert not [e for e in errors if "status of 4" not in e], errors
