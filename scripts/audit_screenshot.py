"""Screenshot of an audit report for the README: docs/screenshots/audit-report.png.

Generates a synthetic population, audits it, and renders report.html with Debian's chromium
(headless, offline). Run: `.venv/bin/python scripts/audit_screenshot.py [--patients 5000]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=5000)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"cannot take the screenshot: {CHROMIUM} is not installed (apt-get install chromium)", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    from clinguide.audit.generate import generate
    from clinguide.audit.run import run_audit

    out = ROOT / "docs" / "screenshots" / "audit-report.png"
    with tempfile.TemporaryDirectory() as tmp:
        population, report = Path(tmp) / "population", Path(tmp) / "report"
        generate(args.patients, population, year=2025, seed=42)
        run_audit(population, year=2025, out=report)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.goto((report / "report.html").as_uri())
            page.screenshot(path=str(out), full_page=True)
            browser.close()
    print(out.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
