"""Editorial credentials: tokens expire, are revoked and rotated, users are deactivated, web sessions
time out and end on sign-out — each on SQLite and on PostgreSQL, each step in the audit log."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from clinguide.editorial import users, workflow
from clinguide.editorial.workflow import EditorialError, EditorialStore, NotFound, Unauthorized

from .conftest import People


class Clock:
    """Moves the store's idea of "now" forward without sleeping."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = dt.timedelta(0)
        real = users.utcnow
        monkeypatch.setattr(users, "utcnow", lambda: real() + self.offset)

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


def _actions(store: EditorialStore) -> list[str]:
    return [entry["action"] for entry in store.history()]


def test_token_expires_after_its_lifetime(store: EditorialStore, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    user, token = store.create_user("eve", "reviewer", valid_days=3)
    expires = dt.datetime.fromisoformat(user["token_expires_at"])
    assert dt.timedelta(days=2, hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=3)
    assert store.authenticate(token).name == "eve"
    clock.advance(days=2, hours=23)
    assert store.authenticate(token).name == "eve"
    clock.advance(hours=2)
    with pytest.raises(Unauthorized):
        store.authenticate(token)
    assert [u["token"] for u in store.users() if u["name"] == "eve"] == ["expired"]


def test_default_lifetime_comes_from_the_setting(store: EditorialStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINGUIDE_EDITORIAL_TOKEN_DAYS", "7")
    user, _token = store.create_user("fay", "author")
    left = dt.datetime.fromisoformat(user["token_expires_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=6, hours=23) < left <= dt.timedelta(days=7)
    with pytest.raises(EditorialError, match="1–3650"):
        store.create_user("gil", "author", valid_days=0)


def test_revoked_token_is_refused_and_audited(store: EditorialStore, people: People) -> None:
    _actor, session_id = store.start_session(people.tokens["rui"])
    assert store.session_actor(session_id).name == "rui"
    result = store.revoke_token("rui", reason="laptop lost")
    assert result == {"name": "rui", "revoked": True, "sessions_ended": 1}
    with pytest.raises(Unauthorized):
        store.authenticate(people.tokens["rui"])
    with pytest.raises(Unauthorized):  # the web session made with it ends too
        store.session_actor(session_id)
    last = store.history()[-1]
    assert last["action"] == "revoke-token" and "rui" in last["detail"] and "laptop lost" in last["detail"]
    with pytest.raises(EditorialError, match="already revoked"):
        store.revoke_token("rui")
    with pytest.raises(NotFound):
        store.revoke_token("nobody")


def test_rotation_replaces_the_token(store: EditorialStore, people: People) -> None:
    _actor, session_id = store.start_session(people.tokens["rita"])
    info, new_token = store.rotate_token("rita", valid_days=30)
    assert new_token != people.tokens["rita"] and info["sessions_ended"] == 1
    with pytest.raises(Unauthorized):
        store.authenticate(people.tokens["rita"])
    with pytest.raises(Unauthorized):
        store.session_actor(session_id)
    assert store.authenticate(new_token).name == "rita"
    # a revoked token is brought back only by rotation, never by the old value
    store.revoke_token("rita")
    _info, newest = store.rotate_token("rita")
    assert store.authenticate(newest).name == "rita"
    with pytest.raises(Unauthorized):
        store.authenticate(new_token)
    assert _actions(store).count("rotate-token") == 2


def test_deactivated_user_is_refused_everywhere(store: EditorialStore, people: People) -> None:
    _actor, session_id = store.start_session(people.tokens["ed"])
    assert store.deactivate_user("ed", reason="left")["sessions_ended"] == 1
    with pytest.raises(Unauthorized):
        store.authenticate(people.tokens["ed"])
    with pytest.raises(Unauthorized):
        store.session_actor(session_id)
    with pytest.raises(Unauthorized):
        store.start_session(people.tokens["ed"])
    with pytest.raises(EditorialError, match="deactivated"):
        store.rotate_token("ed")
    assert [u["active"] for u in store.users() if u["name"] == "ed"] == [False]
    assert "deactivate-user" in _actions(store)


def test_session_idle_timeout_and_sign_out(
    store: EditorialStore, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINGUIDE_EDITORIAL_SESSION_IDLE_MINUTES", "10")
    clock = Clock(monkeypatch)
    actor, session_id = store.start_session(people.tokens["rui"])
    assert actor.name == "rui" and len(session_id) >= 40
    # activity keeps it alive past the idle limit in total
    for _ in range(3):
        clock.advance(minutes=8)
        assert store.session_actor(session_id).name == "rui"
    clock.advance(minutes=11)
    with pytest.raises(Unauthorized, match="ended"):
        store.session_actor(session_id)
    # sign-out ends a live session at once; a second sign-out has nothing to end
    _actor, other = store.start_session(people.tokens["rui"])
    assert store.end_session(other) is True
    with pytest.raises(Unauthorized):
        store.session_actor(other)
    assert store.end_session(other) is False
    assert store.end_session("forged") is False
    actions = _actions(store)
    assert actions.count("sign-in") == 2 and actions.count("sign-out") == 1 and "session-ended" in actions


def test_session_has_an_absolute_lifetime(
    store: EditorialStore, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINGUIDE_EDITORIAL_SESSION_MAX_HOURS", "1")
    clock = Clock(monkeypatch)
    _actor, session_id = store.start_session(people.tokens["rui"])
    for _ in range(4):
        clock.advance(minutes=14)
        store.session_actor(session_id)
    clock.advance(minutes=14)  # 70 minutes after sign-in, 14 idle
    with pytest.raises(Unauthorized):
        store.session_actor(session_id)


def test_session_ends_when_the_token_expires(
    store: EditorialStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    _user, token = store.create_user("hal", "reviewer", valid_days=1)
    _actor, session_id = store.start_session(token)
    clock.advance(hours=23, minutes=50)
    with pytest.raises(Unauthorized):  # idle anyway, but it must not survive the token either
        store.session_actor(session_id)
    _actor, session_id = store.start_session(token)
    clock.advance(minutes=15)
    with pytest.raises(Unauthorized):
        store.session_actor(session_id)


def test_unknown_and_oversized_sessions_are_refused(store: EditorialStore, people: People) -> None:
    for value in (None, "", "x" * 5000, "not-a-session"):
        with pytest.raises(Unauthorized):
            store.session_actor(value)
    with pytest.raises(Unauthorized):
        store.authenticate("y" * 5000)


def test_audit_log_stays_append_only_with_the_new_actions(store: EditorialStore, people: People) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    store.revoke_token("ada")
    with pytest.raises(DBAPIError), store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET detail = 'x' WHERE action = 'revoke-token'"))
    with pytest.raises(DBAPIError), store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE action = 'revoke-token'"))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clinguide.cli", "editorial", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )


def test_cli_rotate_revoke_deactivate(db_url: str, pack_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINGUIDE_PACK_DIR", str(pack_dir))
    made = _cli("create-user", "ida", "--role", "reviewer", "--days", "5")
    assert made.returncode == 0, made.stderr
    first = made.stdout.strip().splitlines()[-1]
    rotated = _cli("rotate-token", "ida", "--days", "10")
    assert rotated.returncode == 0, rotated.stderr
    assert "old token no longer works" in rotated.stdout
    second = rotated.stdout.strip().splitlines()[-1]
    store = EditorialStore(db_url, pack_dir)
    with pytest.raises(Unauthorized):
        store.authenticate(first)
    assert store.authenticate(second).name == "ida"
    revoked = _cli("revoke-token", "ida", "--comment", "suspected leak")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    with pytest.raises(Unauthorized):
        store.authenticate(second)
    again = _cli("revoke-token", "ida")
    assert again.returncode == 2 and "already revoked" in again.stderr and "Traceback" not in again.stderr
    missing = _cli("deactivate-user", "nobody")
    assert missing.returncode == 2 and "no user named 'nobody'" in missing.stderr
    assert _cli("deactivate-user", "ida").returncode == 0
    listed = _cli("users").stdout
    assert "ida (reviewer) inactive" in listed
    bad_days = _cli("create-user", "joe", "--role", "author", "--days", "0")
    assert bad_days.returncode == 2
    actions = [e["action"] for e in store.history()]
    assert actions == ["create-user", "rotate-token", "revoke-token", "deactivate-user"]


def test_upgrade_from_0001_gives_existing_tokens_an_expiry(db_url: str, pack_dir) -> None:
    """A store made before credentials existed: its users keep working, with a 90-day expiry, not forever."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from clinguide.editorial import db

    engine = db.get_engine(db_url)
    config = Config(str(db.ALEMBIC_INI))
    config.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            text("INSERT INTO users (name, role, token_hash, active, created_at) VALUES (:n, 'reviewer', :h, :a, :c)"),
            {"n": "old", "h": workflow.hash_token("old-token"), "a": True, "c": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
        )
    assert db.current_revision(engine) == "0001"
    store = EditorialStore(db_url, pack_dir)  # migrates to head
    assert db.current_revision(engine) == db.HEAD_REVISION
    assert store.authenticate("old-token").name == "old"
    (user,) = [u for u in store.users() if u["name"] == "old"]
    left = dt.datetime.fromisoformat(user["token_expires_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=89) < left <= dt.timedelta(days=90)
    _actor, session_id = store.start_session("old-token")
    assert store.session_actor(session_id).name == "old"


def test_out_of_range_proposal_numbers_are_not_found(store: EditorialStore, people: People) -> None:
    for number in (0, -1, 2**31, 10**25):
        with pytest.raises(NotFound):
            store.get(number, with_diff=True)
        with pytest.raises(NotFound):
            store.approve(people.reviewer, number)
        with pytest.raises(NotFound):
            store.history(proposal_id=number)
