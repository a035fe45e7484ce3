"""Fixtures for the editorial tests: every store test runs on SQLite (a tmp file) and on PostgreSQL.

PostgreSQL tests get a fresh schema in the `test` database (search_path set through the URL) and
drop it afterwards. When the server is unreachable they FAIL under CI=true and skip, with the
reason, elsewhere.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clinguide.editorial import db
from clinguide.editorial.workflow import Actor, EditorialStore

FIXTURE_PACK = Path(__file__).resolve().parent.parent / "fixtures" / "editorial_pack"
PG_URL = os.environ.get("CLINGUIDE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RUN_ID = secrets.token_hex(3)
_counter = itertools.count(1)
_pg_error: list[str | None] = []


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _conninfo() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://", 1)


def pg_unreachable() -> str | None:
    """None when the server answers; otherwise why not (checked once per run)."""
    if not _pg_error:
        try:
            import psycopg

            with psycopg.connect(_conninfo(), connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _pg_error.append(None)
        except Exception as exc:
            _pg_error.append(f"{type(exc).__name__}: {exc}".strip())
    return _pg_error[0]


def _require_pg() -> None:
    error = pg_unreachable()
    if error:
        message = f"PostgreSQL at {PG_URL} is unreachable ({error})"
        if in_ci():
            pytest.fail(f"{message}; CI=true, so the PostgreSQL tests must run (see .ci/run)")
        pytest.skip(f"{message}; start it with `pg_ctlcluster --skip-systemctl-redirect <ver> main start`")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, empty database URL; the environment points at it and at a tmp data dir."""
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'data' / 'clinguide.db'}"
    else:
        _require_pg()
        import psycopg

        schema = f"clinguide_test_{RUN_ID}_{next(_counter)}"
        with psycopg.connect(_conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("CLINGUIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CLINGUIDE_DATABASE_URL", url)
    monkeypatch.setenv("CLINGUIDE_PACK_DIR", str(FIXTURE_PACK))
    monkeypatch.setenv("CLINGUIDE_APPROVALS_REQUIRED", "1")
    monkeypatch.delenv("CLINGUIDE_TOKEN", raising=False)
    try:
        yield url
    finally:
        from clinguide.editorial import overlay

        overlay.uninstall()
        db.dispose(url)
        if schema:
            import psycopg

            with psycopg.connect(_conninfo(), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    """A private copy of the fixture pack (tests may change it)."""
    target = tmp_path / "pack"
    shutil.copytree(FIXTURE_PACK, target)
    return target


@dataclass
class People:
    author: Actor
    reviewer: Actor
    reviewer2: Actor
    editor: Actor
    tokens: dict[str, str]


@pytest.fixture
def store(db_url: str, pack_dir: Path, monkeypatch: pytest.MonkeyPatch) -> EditorialStore:
    monkeypatch.setenv("CLINGUIDE_PACK_DIR", str(pack_dir))
    return EditorialStore(db_url, pack_dir)


@pytest.fixture
def people(store: EditorialStore) -> People:
    tokens: dict[str, str] = {}
    actors: dict[str, Actor] = {}
    for name, role in (("ada", "author"), ("rui", "reviewer"), ("rita", "reviewer"), ("ed", "editor")):
        _user, token = store.create_user(name, role)
        tokens[name] = token
        actors[name] = store.authenticate(token)
    return People(actors["ada"], actors["rui"], actors["rita"], actors["ed"], tokens)


OVERVIEW_V2 = """\
id: fixturol-overview
section: overview
title: Fixture overview
drugs: [fixturol]
clinician: Fixture clinician text, version two.
patient: Fixture patient text, version two.
sources: [S01]
"""
