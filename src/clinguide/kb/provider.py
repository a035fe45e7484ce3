"""Which KnowledgeBase the engine serves.

By default the shipped pack. The editorial store installs a provider that overlays
approved versions and reloads when the store's content version changes, so an
approval goes live without a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clinguide.kb.knowledge import KnowledgeBase

_provider: Callable[[], KnowledgeBase] | None = None


def set_provider(provider: Callable[[], KnowledgeBase] | None) -> None:
    global _provider
    _provider = provider


def current() -> KnowledgeBase:
    if _provider is not None:
        return _provider()
    from clinguide.kb import shipped_kb

    return shipped_kb()
