"""Serve the shipped pack overlaid with approved editorial versions, reloading when they change.

``install_if_configured()`` is what the CLI entry and the service start-up call: it costs a
file-existence check when no store exists (no SQLAlchemy import) and otherwise installs a
provider for ``clinguide.kb.get_kb()``. The provider asks the store for its content
fingerprint (one small SELECT) on each call and rebuilds the knowledge base only when an
approval or a retirement changed it, so an approval shows up without a restart.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clinguide.editorial.workflow import EditorialStore
    from clinguide.kb.knowledge import KnowledgeBase

PACK_DIR_ENV = "CLINGUIDE_PACK_DIR"


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


def build_overlay(store: EditorialStore) -> dict[tuple[str, str], dict[str, Any]]:
    """The loader's overlay mapping: approved, non-retired versions; retired ones with review.status 'retired'."""
    return store.overlay()


class OverlayProvider:
    """A ``kb.provider`` callable: the pack at ``pack_dir`` overlaid with the store at ``url``."""

    def __init__(self, url: str, pack: Path | None = None):
        self.url = url
        self.pack_dir = Path(pack) if pack else pack_dir()
        self._lock = threading.Lock()
        self._store: EditorialStore | None = None
        self._fingerprint: tuple[int, int] | None = None
        self._kb: KnowledgeBase | None = None

    @property
    def store(self) -> EditorialStore:
        if self._store is None:
            from clinguide.editorial.workflow import EditorialStore

            self._store = EditorialStore(self.url, self.pack_dir)
        return self._store

    def __call__(self) -> KnowledgeBase:
        from clinguide.kb.loader import load

        with self._lock:
            fingerprint, overlay = self.store.snapshot()
            if self._kb is None or fingerprint != self._fingerprint:
                # strict: the overlaid pack must pass the same checks as the shipped one
                self._kb = load(self.pack_dir, overlay=overlay, strict=True)
                self._fingerprint = fingerprint
            return self._kb


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


def uninstall() -> None:
    global _installed
    from clinguide.kb import provider

    if _installed is not None:
        provider.set_provider(None)
        _installed = None


def install_if_configured(pack: Path | None = None) -> bool:
    """Install the overlay provider when an editorial store exists; True if installed.

    A SQLite store exists when its file does (the default is $CLINGUIDE_DATA_DIR/clinguide.db);
    any other URL (PostgreSQL) set in CLINGUIDE_DATABASE_URL counts as configured.
    """
    from clinguide.settings import get_settings

    url = get_settings().database_url
    path = sqlite_file(url)
    if url.startswith("sqlite") and (path is None or not path.is_file()):
        return False
    install(url, pack)
    return True
