"""The acceptance round trip through the `clinguide editorial` CLI, each step its own process."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import OVERVIEW_V2

SERVED = """
import json
from clinguide.editorial.overlay import install_if_configured
from clinguide.kb import get_kb
installed = install_if_configured()
s = get_kb().statements.get("fixturol-overview")
print(json.dumps({"installed": installed, "text": s.clinician if s else None,
                  "reviewed": s.review.last_reviewed.isoformat() if s else None,
                  "reviewer": s.review.reviewer if s else None}))
"""


def _cli(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "clinguide.cli", "editorial", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    if ok:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


def _served() -> dict:
    out = subprocess.run([sys.executable, "-c", SERVED], capture_output=True, text=True, env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_cli_round_trip(db_url: str, pack_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CLINGUIDE_PACK_DIR", str(pack_dir))
    _cli("init-db")
    tokens = {}
    for name, role in (("ada", "author"), ("rui", "reviewer"), ("ed", "editor")):
        out = _cli("create-user", name, "--role", role).stdout.strip().splitlines()
        assert out[0].startswith(f"created {role} {name}")
        tokens[name] = out[-1]
    assert _served()["text"] == "Fixture clinician text, version one."

    item = tmp_path / "item.yaml"
    item.write_text(OVERVIEW_V2)
    made = _cli(
        "propose",
        "--token",
        tokens["ada"],
        "--kind",
        "statement",
        "--file",
        str(item),
        "--rationale",
        "clearer wording",
        "--source",
        "S01",
        "--format",
        "json",
    )
    pid = str(json.loads(made.stdout)["id"])
    assert "#" + pid in _cli("queue").stdout
    shown = _cli("show", pid).stdout
    assert "+clinician: Fixture clinician text, version two." in shown

    self_approval = _cli("approve", pid, "--token", tokens["ada"], ok=False)
    assert self_approval.returncode == 2 and "cannot approve" in self_approval.stderr
    assert "Traceback" not in self_approval.stderr
    _cli("start-review", pid, "--token", tokens["rui"])
    _cli("review", pid, "--decision", "approve", "--token", tokens["rui"], "--comment", "checked against S01")

    served = _served()
    assert served == {
        "installed": True,
        "text": "Fixture clinician text, version two.",
        "reviewed": dt.date.today().isoformat(),
        "reviewer": "rui",
    }
    history = _cli("history", pid).stdout
    for step in ("create", "submit", "start-review", "approve"):
        assert f" {step} #{pid}" in history

    exported = _cli("export", str(tmp_path / "export")).stdout
    assert "statement/fixturol-overview.yaml" in exported

    not_editor = _cli("retire", "statement", "fixturol-overview", "--token", tokens["rui"], ok=False)
    assert not_editor.returncode == 2 and "needs the role editor" in not_editor.stderr
    _cli("retire", "statement", "fixturol-overview", "--token", tokens["ed"], "--comment", "withdrawn")
    assert _served()["text"] is None
    assert " retire #" + pid in _cli("history", "statement", "fixturol-overview").stdout


def test_cli_errors_are_clear(db_url: str, tmp_path: Path) -> None:
    missing = _cli(
        "propose",
        "--kind",
        "statement",
        "--file",
        str(tmp_path / "none.yaml"),
        "--rationale",
        "x",
        "--token",
        "t",
        ok=False,
    )
    assert missing.returncode == 2 and "file not found" in missing.stderr
    no_token = _cli("approve", "1", ok=False)
    assert no_token.returncode == 2 and "--token is required" in no_token.stderr
    bad_token = _cli("approve", "1", "--token", "nope", ok=False)
    assert bad_token.returncode == 2 and "token is not valid" in bad_token.stderr
    bad_role = _cli("create-user", "x", "--role", "king", ok=False)
    assert bad_role.returncode == 2 and "role 'king' is not accepted" in bad_role.stderr
    down = _cli("--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/none", "queue", ok=False)
    assert down.returncode == 1 and "cannot open" in down.stderr and "Traceback" not in down.stderr
