"""Serve the shipped pack overlaid with approved editorial versions, reloading when they change.

``install_if_configured()`` is what the CLI entry and the service start-up call: it costs a
file-existence check when no store exists (no SQLAlchemy import) and otherwise installs a
provider for ``clinguide.kb.get_kb()``. The provider asks the store for its content
fingerprint (one small SELECT) and rebuilds the knowledge base only when an approval or a
retirement changed it, so an approval shows up without a restart. It asks at once after any
write through a store in this process, and otherwise at most every ``RECHECK_SECONDS`` (a
change made by another process, e.g. another worker, shows within that time): a request
does not pay a database round trip.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clinguide.editorial.workflow import EditorialStore
    from clinguide.kb.knowledge import KnowledgeBase

PACK_DIR_ENV = "CLINGUIDE_PACK_DIR"
RECHECK_SECONDS = 1.0


def pack_dir() -> Path:
    """The pack the store validates against and overlays: $CLINGUIDE_PACK_DIR or the shipped pack."""
    value = os.environ.get(PACK_DIR_ENV, "").strip()
    if value:
        return Path(value).resolve()
    from clinguide.kb.loader import PACK_DIR

    return PACK_DIR


def sqlite_file(url: str) -> Path | None:
    """The file of a sqlite URL without importing SQLAlchemy; None for other databases or :memory:."""
    if not url.startswith("sqlite"):
        return None
    _, _, rest = url.partition(":///")
    rest = rest.split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    return Path(rest)


class OverlayProvider:
    """A ``kb.provider`` callable: the pack at ``pack_dir`` overlaid with the store at ``url``."""

    def __init__(self, url: str, pack: Path | None = None):
        self.url = url
        self.pack_dir = Path(pack) if pack else pack_dir()
        self._lock = threading.Lock()
        self._store: EditorialStore | None = None
        self._fingerprint: tuple[int, int] | None = None
        self._kb: KnowledgeBase | None = None
        self._checked_at = float("-inf")
        self._writes_seen = -1

    @property
    def store(self) -> EditorialStore:
        if self._store is None:
            from clinguide.editorial.workflow import EditorialStore

            self._store = EditorialStore(self.url, self.pack_dir)
        return self._store

    def __call__(self) -> KnowledgeBase:
        from clinguide.editorial import workflow

        kb = self._kb
        if (kb is not None and workflow.write_count() == self._writes_seen
                and time.monotonic() - self._checked_at < RECHECK_SECONDS):
            return kb
        with self._lock:
            writes = workflow.write_count()  # read before the store: a write after this is seen next time
            if self._kb is None or self.store.content_fingerprint() != self._fingerprint:
                self._reload()
            self._writes_seen, self._checked_at = writes, time.monotonic()
            assert self._kb is not None
            return self._kb

    def _reload(self) -> None:
        from clinguide.kb.loader import load

        fingerprint, overlay = self.store.snapshot()
        # strict: the overlaid pack must pass the same checks as the shipped one
        self._kb = load(self.pack_dir, overlay=overlay, strict=True)
        self._fingerprint = fingerprint


_installed: OverlayProvider | None = None


def install(url: str, pack: Path | None = None) -> OverlayProvider:
    """Serve ``clinguide.kb.get_kb()`` from the store at ``url`` (idempotent for the same url and pack)."""
    global _installed
    from clinguide.kb import provider

    wanted = Path(pack) if pack else pack_dir()
    if _installed is None or _installed.url != url or _installed.pack_dir != wanted:
        _installed = OverlayProvider(url, wanted)
    provider.set_provider(_installed)
    return _installed


def is_installed() -> bool:
    """Whether ``get_kb()`` is served from an editorial store in this process."""
    return _installed is not None


def uninstall() -> None:
    global _installed
    from clinguide.kb import provider

    if _installed is not None:
        provider.set_provider(None)
        _installed = None


def install_if_configured(pack: Path | None = None, only_with_content: bool = False) -> bool:
    """Install the overlay provider when an editorial store exists; True if installed.

    A SQLite store exists when its file does (the default is $CLINGUIDE_DATA_DIR/clinguide.db);
    any other URL (PostgreSQL) set in CLINGUIDE_DATABASE_URL counts as configured. With
    ``only_with_content`` (one-shot CLI commands) a SQLite store without editorial versions is skipped.
    """
    from clinguide.settings import database_url

    url = database_url()
    path = sqlite_file(url)
    if url.startswith("sqlite") and (path is None or not path.is_file()):
        return False
    if only_with_content and path is not None and not _has_content(path):
        return False
    install(url, pack)
    return True


def _has_content(path: Path) -> bool:
    """Whether a SQLite store holds any editorial version, read with the standard library (no SQLAlchemy).

    A one-shot command over a store with no approved or retired versions serves the shipped pack
    as it is; on any doubt (locked, old schema) the full provider is installed.
    """
    import sqlite3

    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0) as conn:
            return conn.execute("SELECT EXISTS (SELECT 1 FROM content_versions)").fetchone()[0] == 1
    except sqlite3.Error:
        return True
