"""The state machine, roles, self-approval, two-reviewer mode, validation on approval, the audit log."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import yaml
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from clinguide.editorial.models import AuditEntry, ContentVersion, Proposal
from clinguide.editorial.workflow import (
    ACTIONS,
    STATES,
    TRANSITIONS,
    Conflict,
    EditorialError,
    EditorialStore,
    Forbidden,
    IllegalTransition,
    InvalidContent,
    NotFound,
    next_state,
)

from .conftest import OVERVIEW_V2, People


def _to_state(store: EditorialStore, people: People, state: str) -> int:
    """A new proposal for fixturol-overview driven to ``state`` through legal transitions."""
    proposal = store.propose(people.author, "statement", OVERVIEW_V2, "test", ["S01"], submit=False)
    pid = proposal["id"]
    path = {
        "draft": [],
        "submitted": ["submit"],
        "under-review": ["submit", "start-review"],
        "approved": ["submit", "start-review", "approve"],
        "rejected": ["submit", "start-review", "reject"],
        "retired": ["submit", "start-review", "approve", "retire"],
    }[state]
    for action in path:
        _act(store, people, pid, action)
    assert store.get(pid)["state"] == state
    return pid


def _act(store: EditorialStore, people: People, pid: int, action: str) -> dict:
    if action == "submit":
        return store.submit(people.author, pid)
    if action == "start-review":
        return store.start_review(people.reviewer, pid)
    if action == "approve":
        return store.approve(people.reviewer, pid, "ok")
    if action == "reject":
        return store.reject(people.reviewer, pid, "no")
    if action == "retire":
        return store.retire(people.editor, "statement", "fixturol-overview", "gone")
    raise AssertionError(action)


def test_transition_table_is_exactly_the_documented_one() -> None:
    assert TRANSITIONS == {
        ("draft", "submit"): "submitted",
        ("submitted", "start-review"): "under-review",
        ("under-review", "approve"): "approved",
        ("under-review", "reject"): "rejected",
        ("approved", "retire"): "retired",
    }
    for state, action in itertools.product(STATES, ACTIONS):
        if (state, action) in TRANSITIONS:
            assert next_state(state, action) == TRANSITIONS[(state, action)]
        else:
            with pytest.raises(IllegalTransition, match=f"cannot {action} a proposal that is {state}"):
                next_state(state, action)


@pytest.mark.parametrize(("state", "action"), sorted(TRANSITIONS))
def test_every_legal_transition_through_the_store(
    store: EditorialStore, people: People, state: str, action: str
) -> None:
    pid = _to_state(store, people, state)
    before = len(store.history(proposal_id=pid))
    _act(store, people, pid, action)
    after = store.get(pid)
    assert after["state"] == TRANSITIONS[(state, action)]
    entries = store.history(proposal_id=pid)
    assert len(entries) == before + 1
    assert (entries[-1]["action"], entries[-1]["from_state"], entries[-1]["to_state"]) == (
        action,
        state,
        TRANSITIONS[(state, action)],
    )


ILLEGAL = [
    (state, action)
    for state, action in itertools.product(STATES, ("submit", "start-review", "approve", "reject"))
    if (state, action) not in TRANSITIONS
]


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_every_illegal_transition_is_refused_and_changes_nothing(
    store: EditorialStore, people: People, state: str, action: str
) -> None:
    pid = _to_state(store, people, state)
    before = store.get(pid)
    audit_before = store.history()
    with pytest.raises(IllegalTransition) as excinfo:
        _act(store, people, pid, action)
    assert state in str(excinfo.value)
    after = store.get(pid)
    assert (after["state"], after["version"], after["reviews"]) == (
        before["state"],
        before["version"],
        before["reviews"],
    )
    assert store.history() == audit_before


@pytest.mark.parametrize("state", ["draft", "submitted", "under-review", "rejected"])
def test_retiring_an_item_whose_proposal_is_not_live_leaves_the_proposal_alone(
    store: EditorialStore, people: People, state: str
) -> None:
    pid = _to_state(store, people, state)
    store.retire(people.editor, "statement", "fixturol-overview", "retire the shipped version")
    assert store.get(pid)["state"] == state  # retirement is of the item; the proposal was never live


def test_retiring_twice_is_illegal(store: EditorialStore, people: People) -> None:
    _to_state(store, people, "retired")
    with pytest.raises(IllegalTransition, match="already retired"):
        store.retire(people.editor, "statement", "fixturol-overview")


def test_author_cannot_approve_or_review_own_proposal_even_as_reviewer(store: EditorialStore, people: People) -> None:
    pid = store.propose(people.reviewer, "statement", OVERVIEW_V2, "mine", ["S01"])["id"]
    with pytest.raises(Forbidden, match="cannot review"):
        store.start_review(people.reviewer, pid)
    store.start_review(people.reviewer2, pid)
    with pytest.raises(Forbidden, match=r"rui wrote proposal .* cannot approve"):
        store.approve(people.reviewer, pid)
    with pytest.raises(Forbidden):
        store.reject(people.reviewer, pid)
    assert store.get(pid)["state"] == "under-review"
    assert store.approve(people.reviewer2, pid)["state"] == "approved"


def test_roles_are_enforced(store: EditorialStore, people: People) -> None:
    pid = store.propose(people.author, "statement", OVERVIEW_V2, "x", ["S01"])["id"]
    other = store.create_user("abe", "author")[1]
    with pytest.raises(Forbidden, match="needs the role reviewer"):
        store.start_review(store.authenticate(other), pid)
    store.start_review(people.reviewer, pid)
    with pytest.raises(Forbidden, match="needs the role reviewer"):
        store.approve(store.authenticate(other), pid)
    store.approve(people.editor, pid)  # editors may do what reviewers do
    with pytest.raises(Forbidden, match="needs the role editor"):
        store.retire(people.reviewer, "statement", "fixturol-overview")


def test_two_approvals_mode_needs_two_distinct_reviewers(
    store: EditorialStore, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINGUIDE_APPROVALS_REQUIRED", "2")
    pid = _to_state(store, people, "under-review")
    first = store.approve(people.reviewer, pid, "looks right")
    assert (first["state"], first["approvals"], first["approvals_required"]) == ("under-review", 1, 2)
    assert store.overlay() == {}  # not live yet
    with pytest.raises(Conflict, match="already approved"):
        store.approve(people.reviewer, pid)
    second = store.approve(people.reviewer2, pid, "agree")
    assert (second["state"], second["approvals"]) == ("approved", 2)
    live = store.overlay()[("statement", "fixturol-overview")]
    assert live["review"] == {"status": "approved", "reviewer": "rui, rita", "last_reviewed": dt.date.today()}
    actions = [(e["action"], e["from_state"], e["to_state"]) for e in store.history(proposal_id=pid)]
    assert actions[-2:] == [("approve", "under-review", "under-review"), ("approve", "under-review", "approved")]


def test_approvals_required_must_be_one_or_two(
    store: EditorialStore, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _to_state(store, people, "under-review")
    monkeypatch.setenv("CLINGUIDE_APPROVALS_REQUIRED", "3")
    with pytest.raises(EditorialError, match="must be 1 or 2"):
        store.approve(people.reviewer, pid)


def test_approval_sets_the_review_block_and_serves_the_version(store: EditorialStore, people: People) -> None:
    pid = _to_state(store, people, "approved")
    live = store.overlay()[("statement", "fixturol-overview")]
    assert live["clinician"] == "Fixture clinician text, version two."
    assert live["review"] == {"status": "approved", "reviewer": "rui", "last_reviewed": dt.date.today()}
    assert "version two" in store.live_yaml("statement", "fixturol-overview")
    assert store.get(pid)["approvals"] == 1


def test_proposal_that_does_not_validate_against_the_pack_cannot_be_approved(
    store: EditorialStore, people: People
) -> None:
    bad = OVERVIEW_V2.replace("drugs: [fixturol]", "drugs: [ghostazepam]")
    pid = store.propose(people.author, "statement", bad, "typo", ["S01"])["id"]
    store.start_review(people.reviewer, pid)
    with pytest.raises(InvalidContent) as excinfo:
        store.approve(people.reviewer, pid)
    assert "no drug with id 'ghostazepam'" in str(excinfo.value)
    assert any("ghostazepam" in p for p in excinfo.value.problems)
    assert store.get(pid)["state"] == "under-review"
    assert store.get(pid)["reviews"] == []  # the refused approval left nothing behind
    assert store.overlay() == {}


def test_proposal_that_no_longer_validates_after_the_pack_changed(store: EditorialStore, people: People) -> None:
    new = OVERVIEW_V2.replace("fixturol-overview", "fixturol-extra").replace("[S01]", "[S02]")
    pid = store.propose(people.author, "statement", new, "add", ["S02"])["id"]
    store.start_review(people.reviewer, pid)
    # the pack moves on meanwhile: the drug the statement names is renamed
    drug_file = store.pack_dir / "drugs" / "fixturol.yaml"
    drug_file.write_text(drug_file.read_text().replace("id: fixturol", "id: fixturol-renamed"))
    for path in (store.pack_dir / "statements" / "fixturol.yaml",):
        path.write_text(
            path.read_text()
            .replace("[fixturol]", "[fixturol-renamed]")
            .replace("{dose:fixturol:adult}", "{dose:fixturol-renamed:adult}")
        )
    with pytest.raises(InvalidContent, match="fixturol-extra: drugs: no drug with id 'fixturol'"):
        store.approve(people.reviewer, pid)


def test_proposal_is_checked_against_the_model_when_made(store: EditorialStore, people: People) -> None:
    with pytest.raises(InvalidContent) as excinfo:
        store.propose(
            people.author, "statement", OVERVIEW_V2.replace("section: overview", "section: nonsense"), "x", ["S01"]
        )
    assert any("section" in p for p in excinfo.value.problems)
    with pytest.raises(EditorialError, match="not valid YAML"):
        store.propose(people.author, "statement", "id: [unclosed", "x")
    with pytest.raises(EditorialError, match="accepted kinds"):
        store.propose(people.author, "policy", "id: x", "x")
    with pytest.raises(EditorialError, match="not source ids: S1"):
        store.propose(people.author, "statement", OVERVIEW_V2, "x", ["S1"])
    with pytest.raises(EditorialError, match="needs a rationale"):
        store.propose(people.author, "statement", OVERVIEW_V2, "  ")
    assert store.queue() == []


def test_pack_file_shape_is_accepted(store: EditorialStore, people: People) -> None:
    wrapped = yaml.safe_dump({"statements": [yaml.safe_load(OVERVIEW_V2)]})
    assert store.propose(people.author, "statement", wrapped, "x", ["S01"])["item_id"] == "fixturol-overview"


def test_a_stale_proposal_cannot_overwrite_a_newer_approved_version(store: EditorialStore, people: People) -> None:
    first = store.propose(people.author, "statement", OVERVIEW_V2, "one", ["S01"])["id"]
    second = store.propose(people.author, "statement", OVERVIEW_V2.replace("two", "three"), "two", ["S01"])["id"]
    for pid in (first, second):
        store.start_review(people.reviewer, pid)
    store.approve(people.reviewer, first)
    with pytest.raises(Conflict, match="changed after proposal"):
        store.approve(people.reviewer, second)
    assert "version two" in store.live_yaml("statement", "fixturol-overview")


def test_expected_version_guards_against_stale_reads(store: EditorialStore, people: People) -> None:
    pid = _to_state(store, people, "submitted")
    version = store.get(pid)["version"]
    with pytest.raises(Conflict, match="reload it"):
        store.start_review(people.reviewer, pid, expected_version=version - 1)
    assert store.start_review(people.reviewer, pid, expected_version=version)["version"] == version + 1


def test_optimistic_lock_refuses_an_update_from_a_stale_row(store: EditorialStore, people: People) -> None:
    pid = _to_state(store, people, "submitted")
    with Session(store.engine) as session, session.begin():
        stale = session.get(Proposal, pid)
        session.expunge(stale)
    store.start_review(people.reviewer, pid)  # someone else moves it on
    with pytest.raises(Conflict, match="changed by someone else"), store._write() as session:
        store._bump(session, session.merge(stale, load=False), "approved")
    assert store.get(pid)["state"] == "under-review"


def test_unknown_ids_and_tokens(store: EditorialStore, people: People) -> None:
    with pytest.raises(NotFound):
        store.approve(people.reviewer, 999)
    with pytest.raises(NotFound):
        store.history(proposal_id=999)
    with pytest.raises(NotFound, match="no statement with id 'nope'"):
        store.retire(people.editor, "statement", "nope")
    with pytest.raises(EditorialError, match="not valid"):
        store.authenticate("not-a-token")
    with pytest.raises(EditorialError, match="already exists"):
        store.create_user("ada", "author")
    with pytest.raises(EditorialError, match="role 'boss' is not accepted"):
        store.create_user("zed", "boss")


def test_tokens_are_stored_only_as_hashes(store: EditorialStore, people: People) -> None:
    with store.engine.connect() as conn:
        stored = {row[0] for row in conn.execute(text("SELECT token_hash FROM users"))}
    assert not set(people.tokens.values()) & stored
    assert all(len(h) == 64 for h in stored)


def test_audit_log_is_complete_and_matches_every_state_change(store: EditorialStore, people: People) -> None:
    pid = _to_state(store, people, "retired")
    rejected = _to_state(store, people, "rejected")
    entries = store.history(proposal_id=pid)
    assert [(e["actor"], e["action"], e["from_state"], e["to_state"]) for e in entries] == [
        ("ada", "create", None, "draft"),
        ("ada", "submit", "draft", "submitted"),
        ("rui", "start-review", "submitted", "under-review"),
        ("rui", "approve", "under-review", "approved"),
        ("ed", "retire", "approved", "retired"),
    ]
    assert all(e["at"] for e in entries)
    assert [e["to_state"] for e in store.history(proposal_id=rejected)][-1] == "rejected"
    # every proposal's current state is the to_state of its last audit entry
    for proposal in (store.get(pid), store.get(rejected)):
        assert store.history(proposal_id=proposal["id"])[-1]["to_state"] == proposal["state"]
    # the version counter moved once per audited transition
    assert store.get(pid)["version"] == 1 + sum(1 for e in entries if e["action"] != "create")
    item = store.history(kind="statement", item_id="fixturol-overview")
    assert {e["proposal_id"] for e in item} == {pid, rejected}
    assert sum(1 for e in store.history() if e["action"] == "create-user") == 4


def test_audit_log_and_content_history_are_append_only(store: EditorialStore, people: People) -> None:
    _to_state(store, people, "approved")
    for statement in (
        "UPDATE audit_log SET detail = 'x'",
        "DELETE FROM audit_log",
        "UPDATE content_versions SET yaml_text = 'x'",
        "DELETE FROM content_versions",
    ):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    with Session(store.engine) as session:
        assert session.scalar(select(func.count(AuditEntry.id))) > 0
        assert session.scalar(select(func.count(ContentVersion.id))) == 1


def test_export_writes_approved_content_back_to_pack_yaml(store: EditorialStore, people: People, tmp_path) -> None:
    _to_state(store, people, "approved")
    written = store.export(tmp_path / "out")
    doc = yaml.safe_load((tmp_path / "out" / "statement" / "fixturol-overview.yaml").read_text())
    assert written == [tmp_path / "out" / "statement" / "fixturol-overview.yaml"]
    (item,) = doc["statements"]
    assert item["clinician"] == "Fixture clinician text, version two."
    assert item["review"]["status"] == "approved"
    store.retire(people.editor, "statement", "fixturol-overview")
    store.export(tmp_path / "out2")
    assert yaml.safe_load((tmp_path / "out2" / "retired.yaml").read_text()) == {
        "retired": [{"kind": "statement", "id": "fixturol-overview"}]
    }


def test_diff_after_approval_shows_the_change_not_its_reversal(store: EditorialStore, people: People) -> None:
    pid = store.propose(people.author, "statement", OVERVIEW_V2, "clarify", ["S01"])["id"]
    before = store.get(pid, with_diff=True)
    assert before["diff_against"] == "live"
    store.start_review(people.reviewer, pid)
    store.approve(people.reviewer, pid, "ok")
    after = store.get(pid, with_diff=True)
    assert after["state"] == "approved" and after["diff_against"] == "base"
    for shown in (before, after):
        lines = shown["diff"].splitlines()
        assert "-clinician: Fixture clinician text, version one." in lines
        assert "+clinician: Fixture clinician text, version two." in lines
        assert not [line for line in lines if line.startswith(("-review", "+review", "-  reviewer", "+  reviewer"))]
    # the served version is now the proposal: a second proposal compares with it, not with the pack
    again = store.propose(people.author, "statement", OVERVIEW_V2.replace("version two", "version three"), "more")
    lines = store.get(again["id"], with_diff=True)["diff"].splitlines()
    assert "-clinician: Fixture clinician text, version two." in lines
    assert "+clinician: Fixture clinician text, version three." in lines
