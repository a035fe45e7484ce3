"""Engines for the editorial store: SQLite (WAL, foreign keys, immediate write transactions) or PostgreSQL.

Migrations run programmatically the first time a process opens a store; when the database
is already at the head revision this costs one small SELECT and no Alembic import.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

HERE = Path(__file__).resolve().parent
MIGRATIONS_DIR = HERE / "migrations"
ALEMBIC_INI = HERE / "alembic.ini"
HEAD_REVISION = "0002"  # keep in step with the newest file in migrations/versions/
READ_ONLY = "clinguide_read_only"  # execution option: a plain (deferred) BEGIN on SQLite

_engines: dict[str, Engine] = {}
_migrated: set[str] = set()
_lock = threading.Lock()


class StoreUnavailable(Exception):
    """The database cannot be opened or migrated; the message says which URL and why."""


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's implicit BEGIN is deferred).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout = 15000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front, so two writers serialise instead of one failing
        # with a stale snapshot; readers (READ_ONLY) never block writers in WAL mode.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _missing_driver(backend: str, exc: ImportError) -> str:
    if backend == "postgresql":
        return ("CLINGUIDE_DATABASE_URL names a PostgreSQL database, but its driver psycopg is not installed "
                f"({exc.name or exc}); install it with `pip install 'clinguide[postgres]'` and use a "
                "postgresql+psycopg://user@host:5432/db URL")
    return f"CLINGUIDE_DATABASE_URL needs a database driver that is not installed ({exc.name or exc})"


def get_engine(url: str) -> Engine:
    """One engine per URL per process."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            parsed = make_url(url)
            if parsed.get_backend_name() == "sqlite":
                path = sqlite_path(url)
                if path is not None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
                _configure_sqlite(engine)
            else:
                try:
                    engine = create_engine(url, pool_pre_ping=True)
                except ImportError as exc:  # the driver is an extra: SQLite users do not install it
                    raise StoreUnavailable(_missing_driver(parsed.get_backend_name(), exc)) from None
            _engines[url] = engine
        return engine


def dispose(url: str | None = None) -> None:
    """Close pooled connections and forget migration state (tests; after fork)."""
    with _lock:
        for key in [url] if url else list(_engines):
            engine = _engines.pop(key, None)
            if engine is not None:
                _migrated.discard(engine.url.render_as_string(hide_password=False))
                engine.dispose()


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None


def migrate(engine: Engine) -> None:
    """Upgrade the schema to head, once per process; concurrent processes serialise on a lock."""
    key = engine.url.render_as_string(hide_password=False)
    if key in _migrated:
        return
    if current_revision(engine) == HEAD_REVISION:
        _migrated.add(key)
        return
    from alembic import command
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with engine.begin() as conn:  # BEGIN IMMEDIATE on SQLite: one migrating process at a time
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(727274001)"))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StoreUnavailable(f"cannot open or migrate the editorial store at {engine.url!r}: {exc}") from exc
    _migrated.add(key)


def open_engine(url: str) -> Engine:
    """The engine for ``url`` with its schema at head."""
    engine = get_engine(url)
    try:
        migrate(engine)
    except StoreUnavailable:
        raise
    except SQLAlchemyError as exc:
        raise StoreUnavailable(f"cannot open the editorial store at {engine.url!r}: {exc}") from exc
    return engine
