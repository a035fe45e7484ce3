"""Lexical ranking of pack statements with bm25s, cached per knowledge version.

Each statement is indexed as its title, topics, section, drug names and rendered
clinician and patient texts. Scores are normalised to 0..1 per query and combined
with the intent and entity matches in :func:`rank`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import bm25s
import numpy as np

from clinguide.answers.understand import Understanding, lexicon, stem, words

if TYPE_CHECKING:
    from clinguide.kb.knowledge import KnowledgeBase
    from clinguide.kb.models import Statement

_KEEP = 4


def tokenize(text: str) -> list[str]:
    stop = lexicon().stopwords
    return [stem(t) for t in words(text) if t not in stop]


def safe_text(kb: KnowledgeBase, statement: Statement, audience: str) -> str:
    """The rendered text; a placeholder the pack cannot resolve leaves the raw text (validation reports it)."""
    try:
        return kb.statement_text(statement, audience)
    except ValueError:
        return statement.patient if audience == "patient" and statement.patient else statement.clinician


_LEFTOVER = re.compile(r"\{[a-z]+(?:-\s*[a-z]+)*\s*:")


def unrendered(text: str) -> bool:
    """True when text still holds a placeholder (e.g. one broken by YAML line folding)."""
    return bool(_LEFTOVER.search(text))


def document(kb: KnowledgeBase, statement: Statement) -> str:
    drug_names: list[str] = []
    for drug_id in statement.drugs:
        drug = kb.drugs.get(drug_id)
        if drug:
            drug_names += [drug.name, *drug.brands]
    parts = [
        statement.title or "",
        " ".join(statement.topics),
        statement.section,
        " ".join(drug_names),
        safe_text(kb, statement, "clinician"),
        safe_text(kb, statement, "patient") if statement.patient else "",
    ]
    return " ".join(parts)


@dataclass
class Index:
    """Everything per knowledge version that does not depend on the question."""

    version: str
    ids: list[str]
    retriever: bm25s.BM25 | None
    build_seconds: float
    order: dict[str, int] = field(default_factory=dict)  # the pack's order of statements
    texts: dict[tuple[str, str], str] = field(default_factory=dict)  # (statement id, audience) -> rendered text
    prescriber: list[Statement] | None = None  # statements tagged as "talk to your prescriber"

    def text(self, kb: KnowledgeBase, statement: Statement, audience: str) -> str:
        key = (statement.id, audience)
        if key not in self.texts:
            self.texts[key] = safe_text(kb, statement, audience)
        return self.texts[key]

    def scores(self, query: list[str]) -> dict[str, float]:
        if self.retriever is None or not query:
            return {}
        raw = np.asarray(self.retriever.get_scores(query), dtype=float)
        top = float(raw.max()) if raw.size else 0.0
        if top <= 0:
            return {}
        return {sid: float(s) / top for sid, s in zip(self.ids, raw, strict=True) if s > 0}


_CACHE: dict[str, Index] = {}


def build_index(kb: KnowledgeBase) -> Index:
    started = time.perf_counter()
    ids = sorted(kb.statements)
    corpus = [tokenize(document(kb, kb.statements[sid])) or ["_empty_"] for sid in ids]
    retriever: bm25s.BM25 | None = None
    if corpus:
        retriever = bm25s.BM25()
        retriever.index(corpus, show_progress=False)
    order = {sid: i for i, sid in enumerate(kb.statements)}
    return Index(kb.version, ids, retriever, time.perf_counter() - started, order)


def index_for(kb: KnowledgeBase) -> Index:
    """The index of this knowledge version, built once (the editorial layer may swap the KB)."""
    index = _CACHE.get(kb.version)
    if index is None:
        index = build_index(kb)
        if len(_CACHE) >= _KEEP:
            _CACHE.clear()
        _CACHE[kb.version] = index
    return index


def query_tokens(kb: KnowledgeBase, u: Understanding) -> list[str]:
    tokens = tokenize(u.question)
    for drug_id in (*u.drugs, *u.agents):
        drug = kb.drugs.get(drug_id)
        if drug:
            tokens += tokenize(drug.name)
    return tokens


def rank(kb: KnowledgeBase, u: Understanding, statements: list[Statement]) -> dict[str, float]:
    """Score each candidate: bm25 (0..1) plus intent, drug, setting and key bonuses."""
    lexical = index_for(kb).scores(query_tokens(kb, u))
    wanted = set(u.drugs) | set(u.agents)
    scores: dict[str, float] = {}
    for statement in statements:
        score = lexical.get(statement.id, 0.0)
        if set(statement.intents) & set(u.intents):
            score += 0.5
        if u.primary_intent in statement.intents:
            score += 0.25
        if wanted and set(statement.drugs) & wanted:
            score += 0.3
        if u.setting in statement.settings:
            score += 0.2
        if statement.key:
            score += 0.1
        scores[statement.id] = round(score, 9)
    return scores
