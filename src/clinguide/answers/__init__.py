"""Guideline-backed answers: question understanding, retrieval, composition (`clinguide ask`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clinguide.contracts import Article
    from clinguide.kb.knowledge import KnowledgeBase


def ask(question: str, audience: str = "clinician", kb: KnowledgeBase | None = None) -> Article:
    """Answer ``question`` for ``audience`` from the served knowledge pack."""
    from clinguide.answers.compose import ask as _ask

    return _ask(question, audience, kb)


__all__ = ["ask"]
