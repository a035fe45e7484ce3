"""Fixtures for the ask tests: a small fixture pack and the shipped pack."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clinguide.kb.knowledge import KnowledgeBase
from clinguide.kb.loader import PackError, load

FIXTURE_PACK = Path(__file__).resolve().parent.parent / "fixtures" / "ask_pack"


@pytest.fixture(scope="session")
def fixture_kb() -> KnowledgeBase:
    return load(FIXTURE_PACK, strict=False)


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The shipped pack, validated; the golden tests run against it.

    CLINGUIDE_ASK_TEST_PACK points at another pack directory (loaded leniently) for
    working on the answers while the shipped pack is being edited.
    """
    override = os.environ.get("CLINGUIDE_ASK_TEST_PACK")
    if override:
        return load(Path(override), strict=False)
    from clinguide.kb import shipped_kb

    try:
        return shipped_kb()
    except PackError as exc:  # a shipped pack that does not validate is a failure, never a skip
        pytest.fail(f"the shipped knowledge pack does not validate: {exc.problems[0]}")
