"""Fixtures for the ask tests: a small fixture pack and the shipped pack."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinguide.kb.knowledge import KnowledgeBase
from clinguide.kb.loader import load

FIXTURE_PACK = Path(__file__).resolve().parent.parent / "fixtures" / "ask_pack"


@pytest.fixture(scope="session")
def fixture_kb() -> KnowledgeBase:
    return load(FIXTURE_PACK, strict=False)


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The shipped pack, validated (the golden tests run against it)."""
    from clinguide.kb import shipped_kb

    return shipped_kb()
