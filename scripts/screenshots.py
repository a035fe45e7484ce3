"""Screenshots of every page for the README: docs/screenshots/*.png.

Starts the app with uvicorn on a free loopback port (a throw-away data directory with a seeded
editorial store) and drives Debian's chromium headless. Run: `.venv/bin/python scripts/screenshots.py`.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("clinguide_web_live", ROOT / "tests" / "web" / "live.py")
assert _spec and _spec.loader
_live = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _live  # dataclasses need the module registered
_spec.loader.exec_module(_live)
CHROMIUM, CHROMIUM_ARGS = _live.CHROMIUM, _live.CHROMIUM_ARGS
chromium_missing, live_server = _live.chromium_missing, _live.live_server

OUT = ROOT / "docs" / "screenshots"
QUESTION = "Should I take Valium for back spasm?"


def main() -> int:
    problem = chromium_missing()
    if problem:
        print(f"cannot take screenshots: {problem}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, live_server(Path(tmp)) as live, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=30_000)
        context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()

        def shot(name: str, full: bool = True) -> None:
            path = OUT / f"{name}.png"
            page.screenshot(path=str(path), full_page=full)
            print(path.relative_to(ROOT))

        page.goto("/")
        shot("ask-empty", full=False)
        page.goto(f"/?q={QUESTION}&audience=clinician")
        shot("ask-clinician", full=False)
        page.goto(f"/?q={QUESTION}&audience=patient")
        shot("ask-patient", full=False)
        page.goto("/?q=How do I treat a sprained ankle?&audience=patient")
        shot("ask-not-covered", full=False)
        page.goto(f"/?q={QUESTION}&audience=patient")
        page.emulate_media(media="print")
        shot("ask-print")
        page.emulate_media(media="screen")
        phone = browser.new_context(base_url=live.url, viewport={"width": 390, "height": 844}).new_page()
        for name, question in (
            ("ask-patient-phone", QUESTION),
            ("ask-urgent-phone", "back pain with leg numbness and I can't control my bladder"),
        ):
            phone.goto("/?" + urlencode({"q": question, "audience": "patient"}))
            path = OUT / f"{name}.png"
            phone.screenshot(path=str(path))
            print(path.relative_to(ROOT))

        page.goto("/assess")
        page.get_by_label("Age (years)").fill("45")
        page.get_by_label("Symptom days (back spasm)").fill("5")
        page.get_by_label("Muscle spasm").select_option("severe")
        page.get_by_role("button", name="Assess").click()
        page.locator("section.verdict").wait_for()
        shot("assess")

        page.goto("/check")
        page.locator("#sig").fill("diazepam 5 mg PO q8h prn x 7 days")
        page.get_by_label("Age (years)").fill("70")
        page.get_by_label("Medication 1").fill("oxycodone")
        page.get_by_role("button", name="Check").click()
        page.locator("ol.findings").wait_for()
        shot("check")

        page.goto("/drugs/diazepam")
        shot("drug-diazepam")
        page.goto("/drugs/no-such-drug")
        shot("drug-404", full=False)

        page.goto("/editorial")
        shot("editorial-signin", full=False)
        page.get_by_label("Editorial token").fill(live.reviewer_token)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Review queue").wait_for()
        shot("editorial-queue", full=False)
        page.goto(f"/editorial/proposals/{live.proposal_id}")
        shot("editorial-proposal")
        page.get_by_label("Comment").fill("Checked against the sources.")
        page.get_by_role("button", name="Approve").click()
        page.locator(".alert-ok").wait_for()
        page.goto("/editorial/history")
        shot("editorial-history", full=False)
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
