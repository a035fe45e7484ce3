"""Races and crashes: concurrent approvals, a writer killed before commit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from clinguide.editorial.models import AuditEntry, ContentVersion, Proposal, Review
from clinguide.editorial.workflow import Actor, Conflict, EditorialStore, IllegalTransition

from .conftest import OVERVIEW_V2, People


def _race(db_url: str, pack_dir: Path, pid: int, actors: list[Actor]) -> list[object]:
    """Each actor approves ``pid`` at the same moment, in its own thread, store object and session."""
    barrier = threading.Barrier(len(actors))
    results: list[object] = [None] * len(actors)

    def worker(index: int, actor: Actor) -> None:
        own = EditorialStore(db_url, pack_dir)
        barrier.wait()
        try:
            results[index] = own.approve(actor, pid, f"approval by {actor.name}")["state"]
        except (IllegalTransition, Conflict) as exc:
            results[index] = exc
        except Exception as exc:  # anything else is a bug the assertion below reports
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate(actors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_concurrent_approvals_exactly_one_wins(store: EditorialStore, people: People, db_url: str) -> None:
    for round_ in range(3):
        body = OVERVIEW_V2.replace("version two", f"version {round_ + 2}")
        pid = store.propose(people.author, "statement", body, f"round {round_}", ["S01"])["id"]
        store.start_review(people.editor, pid)
        results = _race(db_url, store.pack_dir, pid, [people.reviewer, people.reviewer2])
        winners = [r for r in results if r == "approved"]
        losers = [r for r in results if isinstance(r, IllegalTransition | Conflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        with Session(store.engine) as session:
            assert session.scalar(select(func.count(Review.id)).where(Review.proposal_id == pid)) == 1
            assert session.scalar(select(func.count(ContentVersion.id)).where(ContentVersion.proposal_id == pid)) == 1
            approvals = session.scalar(
                select(func.count(AuditEntry.id)).where(AuditEntry.proposal_id == pid, AuditEntry.action == "approve")
            )
            assert approvals == 1
        assert store.get(pid)["state"] == "approved"


def test_two_concurrent_approvals_in_two_reviewer_mode_both_count(
    store: EditorialStore, people: People, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINGUIDE_APPROVALS_REQUIRED", "2")
    pid = store.propose(people.author, "statement", OVERVIEW_V2, "two", ["S01"])["id"]
    store.start_review(people.editor, pid)
    results = _race(db_url, store.pack_dir, pid, [people.reviewer, people.reviewer2])
    assert sorted(map(str, results)) == ["approved", "under-review"], results
    final = store.get(pid)
    assert (final["state"], final["approvals"]) == ("approved", 2)
    assert store.overlay()[("statement", "fixturol-overview")]["review"]["reviewer"] in ("rui, rita", "rita, rui")


CRASHING_WRITER = """
import sys, time
from sqlalchemy.orm import Session
from clinguide.editorial.workflow import EditorialStore
from clinguide.editorial.models import AuditEntry, Proposal, utcnow

store = EditorialStore(sys.argv[1], sys.argv[2])
session = Session(store.engine)
session.begin()
now = utcnow()
proposal = Proposal(kind="statement", item_id="fixturol-overview", yaml_text="id: fixturol-overview",
                    author_id=int(sys.argv[3]), rationale="half-written", sources="", state="draft",
                    version=1, created_at=now, updated_at=now)
session.add(proposal)
session.flush()
session.add(AuditEntry(actor_id=int(sys.argv[3]), actor_name="ada", action="create", proposal_id=proposal.id,
                       kind="statement", item_id="fixturol-overview", to_state="draft", at=now, detail=""))
session.flush()
print("flushed", proposal.id, flush=True)
time.sleep(120)
"""


def test_a_writer_killed_before_commit_leaves_the_store_consistent(
    store: EditorialStore, people: People, db_url: str
) -> None:
    audit_before = store.history()
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, db_url, str(store.pack_dir), str(people.author.id)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("flushed"), (line, proc.stderr.read() if proc.poll() is not None else "")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    reopened = EditorialStore(db_url, store.pack_dir)
    with Session(reopened.engine) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0
        if reopened.engine.dialect.name == "sqlite":
            assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert session.execute(text("PRAGMA foreign_key_check")).fetchall() == []
    assert reopened.history() == audit_before
    # and the store is writable at once: no lock was left behind
    deadline = time.monotonic() + 20
    while True:
        try:
            made = reopened.propose(people.author, "statement", OVERVIEW_V2, "after the crash", ["S01"])
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert made["state"] == "submitted"
    assert [e["action"] for e in reopened.history(proposal_id=made["id"])] == ["create", "submit"]
