"""Serving: approved versions reach clinguide.kb.get_kb() (and ask) without a restart; retired items vanish."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from clinguide.editorial import overlay
from clinguide.editorial.workflow import EditorialStore
from clinguide.kb import get_kb

from .conftest import OVERVIEW_V2, People


def test_install_if_configured_is_a_no_op_without_a_database(tmp_path: Path) -> None:
    env = {"CLINGUIDE_DATA_DIR": str(tmp_path / "empty"), "PATH": "/usr/bin:/bin"}
    code = (
        "import sys; from clinguide.editorial.overlay import install_if_configured; "
        "print(install_if_configured(), 'sqlalchemy' in sys.modules, 'alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]
    assert not (tmp_path / "empty").exists()  # nothing created


def test_served_kb_follows_approvals_and_retirements(store: EditorialStore, people: People, db_url: str) -> None:
    assert overlay.install_if_configured(store.pack_dir) is (True)
    kb = get_kb()
    assert kb.statements["fixturol-overview"].clinician == "Fixture clinician text, version one."
    assert "fixturol-draft" not in kb.statements  # a pack item whose review status is not approved
    assert get_kb() is kb  # nothing changed: no reload

    pid = store.propose(people.author, "statement", OVERVIEW_V2, "clarify", ["S01"])["id"]
    store.start_review(people.reviewer, pid)
    assert get_kb() is kb  # a pending proposal is not served
    store.approve(people.reviewer, pid, "fine")

    served = get_kb()
    statement = served.statements["fixturol-overview"]
    assert statement.clinician == "Fixture clinician text, version two."
    assert statement.review.status == "approved"
    assert statement.review.reviewer == "rui"
    assert statement.review.last_reviewed == dt.date.today()
    assert served.last_reviewed == dt.date.today()
    assert served.version != kb.version

    store.retire(people.editor, "statement", "fixturol-overview", "superseded")
    after = get_kb()
    assert "fixturol-overview" not in after.statements
    assert "fixturol-dosing" in after.statements


def test_retiring_an_item_others_depend_on_is_refused(store: EditorialStore, people: People) -> None:
    with pytest.raises(Exception, match=r"fixture-acute: steps\.0\.statements: no approved statement"):
        store.retire(people.editor, "statement", "fixturol-dosing")
    assert store.overlay() == {}


def test_a_new_item_can_be_proposed_and_served(store: EditorialStore, people: People) -> None:
    overlay.install(store.url, store.pack_dir)
    new = OVERVIEW_V2.replace("fixturol-overview", "fixturol-new").replace("[S01]", "[S02]")
    pid = store.propose(people.author, "statement", new, "add", ["S02"])["id"]
    assert store.get(pid, with_diff=True)["diff"].startswith("--- live/statement/fixturol-new")
    store.start_review(people.reviewer, pid)
    store.approve(people.reviewer, pid)
    assert get_kb().statements["fixturol-new"].clinician.endswith("version two.")


def _shipped_pack_problems() -> list[str]:
    from clinguide.kb.validate import validate_pack

    try:
        return [str(p) for p in validate_pack()]
    except Exception as exc:  # the pack is being written
        return [f"{type(exc).__name__}: {exc}"]


def test_an_approved_change_shows_in_ask_without_restart(
    db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from clinguide.answers import compose

    problems = _shipped_pack_problems()
    assert not problems, f"the shipped pack does not validate ({len(problems)} problems, e.g. {problems[0]})"
    from clinguide.kb.loader import PACK_DIR, read_raw

    monkeypatch.delenv("CLINGUIDE_PACK_DIR")
    store = EditorialStore(db_url, PACK_DIR)
    author = store.authenticate(store.create_user("ada", "author")[1])
    reviewer = store.authenticate(store.create_user("rui", "reviewer")[1])
    overlay.install(db_url, PACK_DIR)
    question = "Should I take diazepam for back spasm?"
    before = compose.ask(question).model_dump_json()
    used = [sid for sid in get_kb().statements if sid in before] or list(get_kb().statements)
    raw, _ = read_raw(PACK_DIR)
    key_ids = [s.id for s in get_kb().statements.values() if s.key and s.id in before]
    target = key_ids[0] if key_ids else used[0]
    item = next(dict(r.data) for r in raw if r.kind == "statement" and r.id == target)
    marker = "Editorial test sentence seven."
    item["clinician"] = f"{item['clinician'].rstrip()} {marker}"
    item.pop("review", None)
    pid = store.propose(author, "statement", yaml.safe_dump(item), "test", item["sources"])["id"]
    store.start_review(reviewer, pid)
    store.approve(reviewer, pid)
    after = compose.ask(question).model_dump_json()
    assert marker not in before
    assert marker in after
    assert dt.date.today().isoformat() in after


def test_a_change_by_another_process_is_served_within_the_recheck_interval(
    store: EditorialStore, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests do not ask the database each time: a write in this process is seen at once; one made by
    another process (simulated: this process's write counter does not move) after RECHECK_SECONDS."""
    from clinguide.editorial import repository, workflow

    assert overlay.install_if_configured(store.pack_dir)
    kb = get_kb()
    pid = store.propose(people.author, "statement", OVERVIEW_V2, "clarify", ["S01"])["id"]
    store.start_review(people.reviewer, pid)
    seen = workflow.write_count()
    assert get_kb() is kb
    store.approve(people.reviewer, pid, "fine")
    monkeypatch.setattr(repository, "_writes", seen)  # as if another worker had approved it
    monkeypatch.setattr(overlay, "RECHECK_SECONDS", 3600.0)
    assert get_kb() is kb  # not asked yet
    monkeypatch.setattr(overlay, "RECHECK_SECONDS", 0.0)
    assert get_kb().statements["fixturol-overview"].clinician == "Fixture clinician text, version two."
