"""A real server for browser tests and screenshots: uvicorn in a subprocess on a free loopback port.

The subprocess gets its own data directory and SQLite editorial store (CLINGUIDE_DATA_DIR,
CLINGUIDE_DATABASE_URL), seeded before it starts with two users and one proposal, so the
editorial flow can be driven end to end in the browser.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PROPOSAL_STATEMENT = "diazepam-bottom-line"
PROPOSAL_MARKER = "Reviewed wording approved in the browser."
START_TIMEOUT = 60.0


@dataclass
class Live:
    url: str
    data_dir: Path
    database_url: str
    reviewer_token: str
    author_token: str
    proposal_id: int


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed_store(database_url: str) -> tuple[str, str, int]:
    """Create an author and a reviewer and submit one proposal that edits a statement of the Valium answer."""
    from clinguide.editorial import db
    from clinguide.editorial.workflow import EditorialStore

    store = EditorialStore(database_url)
    _, author_token = store.create_user("Ada Author", "author")
    _, reviewer_token = store.create_user("Rex Reviewer", "reviewer")
    live = yaml.safe_load(store.live_yaml("statement", PROPOSAL_STATEMENT) or "")
    if not isinstance(live, dict):
        raise RuntimeError(f"statement {PROPOSAL_STATEMENT} is not in the pack")
    live["clinician"] = live["clinician"].rstrip() + " " + PROPOSAL_MARKER
    if live.get("patient"):
        live["patient"] = live["patient"].rstrip() + " " + PROPOSAL_MARKER
    live.pop("review", None)
    actor = store.authenticate(author_token)
    proposal = store.propose(
        actor, "statement", yaml.safe_dump(live, sort_keys=False), "Clearer wording", sources=live["sources"]
    )
    db.dispose(database_url)
    return reviewer_token, author_token, int(proposal["id"])


@contextlib.contextmanager
def live_server(data_dir: Path) -> Iterator[Live]:
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{data_dir / 'clinguide.db'}"
    reviewer_token, author_token, proposal_id = seed_store(database_url)
    port = free_port()
    env = dict(os.environ)
    env.update(
        CLINGUIDE_DATA_DIR=str(data_dir),
        CLINGUIDE_DATABASE_URL=database_url,
        PYTHONUNBUFFERED="1",
    )
    log_path = data_dir / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "clinguide.service.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
                try:
                    if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start within {START_TIMEOUT:.0f} s")
                time.sleep(0.2)
            yield Live(url, data_dir, database_url, reviewer_token, author_token, proposal_id)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def chromium_missing() -> str | None:
    if not (Path(CHROMIUM).is_file() or shutil.which("chromium")):
        return f"{CHROMIUM} is not installed (apt-get install -y chromium fonts-liberation)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None
