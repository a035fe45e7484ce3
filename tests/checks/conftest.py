from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clinguide.checks.engine import check
from clinguide.contracts import CheckResult
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.kb.loader import load

MINIPACK = Path(__file__).resolve().parent.parent / "fixtures" / "minipack"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load(MINIPACK)


@pytest.fixture()
def run(kb: KnowledgeBase):
    def _run(order: Any, case: Any = None) -> CheckResult:
        return check(order, case, kb=kb)

    return _run


def codes(result: CheckResult) -> set[str]:
    return {f.code for f in result.findings}


def one(result: CheckResult, code: str):
    found = [f for f in result.findings if f.code == code]
    assert found, f"{code} not in {[f.code for f in result.findings]}"
    return found[0]
