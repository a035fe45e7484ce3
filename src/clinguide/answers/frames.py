"""Question frames: the answer type and slots of a question, read from ``frames.yaml``.

A frame says what kind of answer the question wants (a dose, a yes/no about a pair of drugs,
a comparison ...). The frames, their trigger words and their bottom-line recipes are data;
this module only matches them against the words of the question.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from clinguide.answers.understand import PhraseSet, Understanding, lexicon, pack_names, stem, words

if TYPE_CHECKING:
    from clinguide.kb.knowledge import KnowledgeBase

FRAMES_PATH = Path(__file__).with_name("frames.yaml")
ALCOHOL = "alcohol"
OLDER_ADULTS = "older-adults"
CHILDREN = "children"


def _stated_age(tokens: tuple[str, ...]) -> int:
    """An age written as "80 year old" / "aged 72" / "I am 70", or 0 (the words: lexicon ``stated_age``)."""
    age_words = lexicon()["stated_age"]
    for index, token in enumerate(tokens):
        if not token.isdigit() or not 0 < int(token) < 130:
            continue
        after = tokens[index + 1] if index + 1 < len(tokens) else ""
        before = tokens[index - 1] if index else ""
        if after in age_words["after"] or (before in age_words["before"] and after not in age_words["not_after"]):
            return int(token)
    return 0


@dataclass(frozen=True)
class FrameSpec:
    id: str
    triggers: PhraseSet
    needs: dict[str, Any]
    raw: dict[str, Any]


@dataclass(frozen=True)
class FrameBook:
    raw: dict[str, Any]
    frames: tuple[FrameSpec, ...]
    populations: dict[str, PhraseSet]

    def get(self, frame_id: str) -> FrameSpec:
        return next(f for f in self.frames if f.id == frame_id)


def _stemmed(phrases: list[Any]) -> PhraseSet:
    return PhraseSet({tuple(stem(w) for w in words(str(p))): str(p) for p in phrases})


@lru_cache(maxsize=1)
def frame_book() -> FrameBook:
    raw = yaml.safe_load(FRAMES_PATH.read_text(encoding="utf-8"))
    frames = tuple(
        FrameSpec(entry["id"], _stemmed(entry.get("triggers") or []), dict(entry.get("needs") or {}), entry)
        for entry in raw["frames"]
    )
    populations = {name: _stemmed(spec["words"]) for name, spec in raw.get("populations", {}).items()}
    return FrameBook(raw, frames, populations)


@dataclass(frozen=True)
class Frame:
    """The answer type and its slots."""

    answer_type: str
    drugs: tuple[str, ...] = ()  # covered drugs named, in order
    other: str | None = None  # the second drug or substance of an interaction question
    populations: tuple[str, ...] = ()
    setting: str = "back-spasm"
    conditions: tuple[str, ...] = ()  # pack condition ids named in the question
    spec: dict[str, Any] = field(default_factory=dict)


def _generic_tokens(kb: KnowledgeBase, tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The question's words with every drug or class name replaced by "it" ("how does valium work")."""
    spans = [(s, e) for s, e, _d in pack_names(kb).drugs.find(tokens)]
    spans += [(s, e) for s, e, _c in lexicon().classes.find(tokens)]
    out: list[str] = []
    index = 0
    for start, end in sorted(spans):
        if start < index:
            continue
        out += [stem(t) for t in tokens[index:start]] + ["it"]
        index = end
    out += [stem(t) for t in tokens[index:]]
    return tuple(out)


CLASS_PREFIX = "class:"


def _other(u: Understanding, kb: KnowledgeBase) -> str | None:
    if len(u.drugs) >= 2:
        return u.drugs[1]
    if u.agents:
        return u.agents[0]
    if ALCOHOL in u.tokens or any(t in u.tokens for t in ("drink", "drinking", "beer", "wine", "booze")):
        return ALCOHOL
    if u.drugs:  # "valium with opioids", "tizanidine with my blood pressure pills": a class of the other drug
        own = kb.drug_classes(u.drugs[0])
        other_class = next((c for c in u.classes if c not in own and c in kb.classes), None)
        if other_class is not None:
            return CLASS_PREFIX + other_class
    return None


def _fits(spec: FrameSpec, u: Understanding, other: str | None) -> bool:
    needs = spec.needs
    if len(u.drugs) < int(needs.get("drugs", 0)):
        return False
    if needs.get("other") and not (u.drugs and other):
        return False
    if len(u.conditions) < int(needs.get("conditions", 0)):
        return False
    return not ("setting" in needs and u.setting != needs["setting"])


def _population_named(phrases: PhraseSet, tokens: tuple[str, ...]) -> bool:
    """A population word that is not a possessive before a drug name ("my mom's valium": the asker is not her)."""
    return any(end >= len(tokens) or tokens[end] != "it" for _start, end, _label in phrases.find(tokens))


def frame_of(u: Understanding, kb: KnowledgeBase, skip: tuple[str, ...] = ()) -> Frame:
    """The first frame (in file order) whose needs hold and whose triggers occur (or that has none).

    ``skip`` names frames already tried whose bottom-line recipes gave nothing for this question.
    """
    book = frame_book()
    tokens = _generic_tokens(kb, u.tokens)
    other = _other(u, kb)
    found = {name for name, phrases in book.populations.items() if _population_named(phrases, tokens)}
    age = _stated_age(u.tokens)
    if age >= kb.policy.older_adult_min_age:
        found.add(OLDER_ADULTS)
    elif 0 < age < kb.policy.adult_min_age:  # the pack's dosing is for adults: the children frame
        found.add(CHILDREN)
    populations = tuple(name for name in book.populations if name in found)
    for spec in book.frames:
        if spec.id in skip or not _fits(spec, u, other):
            continue
        wanted_populations = set(spec.raw.get("populations", []))
        if spec.triggers.entries or wanted_populations:  # a frame with neither matches on its needs alone
            by_population = bool(wanted_populations & found)
            if not by_population and not (spec.triggers.entries and spec.triggers.find(tokens)):
                continue
        drugs = u.drugs
        if spec.raw.get("canonical_order") and len(drugs) >= 2:
            drugs = tuple(sorted(drugs[:2])) + drugs[2:]
            other = drugs[1]
        return Frame(spec.id, drugs, other, populations, u.setting, u.conditions, spec.raw)
    last = book.frames[-1]
    return Frame(last.id, u.drugs, other, populations, u.setting, u.conditions, last.raw)
