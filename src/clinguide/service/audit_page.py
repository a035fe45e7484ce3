"""Read-only web view of the latest population audit in the folder the server is configured with.

``CLINGUIDE_AUDIT_DIR`` names a folder written by ``clinguide audit --out`` (or a folder of such
folders; the one whose summary.json is newest is shown). Nothing is computed here and nothing
from the request chooses a path.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

router = APIRouter(tags=["audit"])
ENV = "CLINGUIDE_AUDIT_DIR"


def latest_run() -> Path | None:
    """The newest audit output folder under CLINGUIDE_AUDIT_DIR, or None."""
    configured = os.environ.get(ENV)
    if not configured:
        return None
    root = Path(configured)
    if not root.is_dir():
        return None
    candidates = [root] if (root / "summary.json").is_file() else []
    candidates += [p for p in root.iterdir() if p.is_dir() and (p / "summary.json").is_file()]
    if not candidates:
        return None
    return max(candidates, key=lambda p: ((p / "summary.json").stat().st_mtime, p.name))


def _missing() -> str:
    configured = os.environ.get(ENV)
    why = (f"{ENV} is not set on this server" if not configured
           else f"the folder {ENV} names holds no audit output (summary.json and report.html)")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>No audit report</title></head><body>"
            f"<h1>No audit report</h1><p>There is no population audit to show: {why}.</p>"
            "<p>Run <code>clinguide audit INPUT --out DIR</code> and point "
            f"<code>{ENV}</code> at DIR.</p></body></html>")


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_report() -> HTMLResponse:
    run = latest_run()
    if run is None or not (run / "report.html").is_file():
        return HTMLResponse(_missing(), status_code=404)
    return HTMLResponse((run / "report.html").read_text(encoding="utf-8"))


@router.get("/audit/summary.json", summary="The latest population audit summary (read-only)")
def audit_summary() -> JSONResponse:
    run = latest_run()
    if run is None:
        return JSONResponse({"error": "no audit report", "detail": f"set {ENV} to a folder written by "
                             "`clinguide audit --out`", "field": None}, status_code=404)
    return JSONResponse(json.loads((run / "summary.json").read_text(encoding="utf-8")))
