"""Knowledge pack: models, loading, validation and lookup."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clinguide.kb.knowledge import KnowledgeBase


@lru_cache(maxsize=1)
def _shipped() -> KnowledgeBase:
    from clinguide.kb import cache

    kb = cache.read(cache.path_for(cache.PACK_DIR))  # a hit needs neither the loader nor YAML
    if kb is not None:
        return kb
    from clinguide.kb.loader import load

    return load()


def get_kb() -> KnowledgeBase:
    """The knowledge base currently served: the shipped pack overlaid with approved editorial versions.

    The editorial layer replaces this provider when a store is configured (see clinguide.editorial).
    """
    from clinguide.kb import provider

    return provider.current()


def shipped_kb() -> KnowledgeBase:
    return _shipped()


__all__ = ["get_kb", "shipped_kb"]
