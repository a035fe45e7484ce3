"""Question understanding: drugs, setting, conditions, intents and the scope decision.

The words come from ``lexicon.yaml`` (language) and from the knowledge pack (drug,
brand and condition names); this module only matches them. Matching is on whole
words after lower-casing, longest phrase first; drug names also match fuzzily
("diazapam") through the pack's rapidfuzz name index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from clinguide.kb.knowledge import KnowledgeBase

LEXICON_PATH = Path(__file__).with_name("lexicon.yaml")
MAX_QUESTION_CHARS = 2000
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_FUZZY_MIN = 5


def words(text: str) -> tuple[str, ...]:
    """Lower-cased word tokens; apostrophes vanish ("can't" -> "cant"), hyphens split."""
    return tuple(_WORD.findall(text.lower().replace("'", "").replace("’", "")))


def stem(token: str) -> str:
    """A light plural/verb-ending fold so 'spasms' meets 'spasm' and 'tapered' meets 'taper'."""
    for suffix, minimum in (("ing", 6), ("ies", 5), ("es", 6), ("s", 4), ("ed", 5)):
        if token.endswith(suffix) and len(token) >= minimum and not token.endswith(("ss", "us", "is")):
            return token[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return token


Phrase = tuple[str, ...]


class PhraseSet:
    """Phrases -> labels, matched longest first without overlap."""

    def __init__(self, entries: dict[Phrase, str]):
        self.entries = {k: v for k, v in entries.items() if k}
        self.longest = max((len(k) for k in self.entries), default=0)

    def find(self, tokens: tuple[str, ...]) -> list[tuple[int, int, str]]:
        """(start, end, label) of every match, longest phrase first, non-overlapping."""
        taken = [False] * len(tokens)
        found: list[tuple[int, int, str]] = []
        for size in range(min(self.longest, len(tokens)), 0, -1):
            for start in range(len(tokens) - size + 1):
                if any(taken[start : start + size]):
                    continue
                label = self.entries.get(tokens[start : start + size])
                if label is not None:
                    found.append((start, start + size, label))
                    for i in range(start, start + size):
                        taken[i] = True
        found.sort()
        return found

    def labels(self, tokens: tuple[str, ...]) -> list[str]:
        return [label for _s, _e, label in self.find(tokens)]


def _phrases(items: list[str], label: str | None = None) -> dict[Phrase, str]:
    return {words(item): label if label is not None else " ".join(words(item)) for item in items}


@dataclass(frozen=True)
class Lexicon:
    raw: dict[str, Any]
    settings_strong: PhraseSet
    settings_weak: PhraseSet
    other_uses: PhraseSet
    effect_uses: frozenset[str]
    purpose: PhraseSet
    effects: PhraseSet
    other_conditions: PhraseSet
    classes: PhraseSet
    topics: PhraseSet
    intents: PhraseSet
    weak_intent_cues: frozenset[Phrase]
    intent_order: tuple[str, ...]
    stopwords: frozenset[str]
    known_words: frozenset[str]

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    raw = yaml.safe_load(LEXICON_PATH.read_text(encoding="utf-8"))
    strong: dict[Phrase, str] = {}
    weak: dict[Phrase, str] = {}
    for setting, cues in raw["settings"].items():
        strong.update(_phrases(cues.get("strong", []), setting))
        weak.update(_phrases(cues.get("weak", []), setting))
    uses: dict[Phrase, str] = {}
    effect_uses: set[str] = set()
    for use in raw["other_uses"]:
        uses.update(_phrases(use["terms"], use["label"]))
        if use.get("effect"):
            effect_uses.add(use["label"])
    intents: dict[Phrase, str] = {}
    for intent, cues in raw["intents"].items():
        for phrase in _phrases(cues):
            intents.setdefault(tuple(stem(w) for w in phrase), intent)  # the first intent listed keeps a shared phrase
    weak_cues = {tuple(stem(w) for w in words(cue)) for cue in raw["weak_intent_cues"]}
    known: set[str] = set()
    for table in (strong, weak, uses, intents):
        for phrase in table:
            known.update(phrase)
    return Lexicon(
        raw=raw,
        settings_strong=PhraseSet(strong),
        settings_weak=PhraseSet(weak),
        other_uses=PhraseSet(uses),
        effect_uses=frozenset(effect_uses),
        purpose=PhraseSet(_phrases(raw["purpose_words"])),
        effects=PhraseSet(_phrases(raw["effect_words"])),
        other_conditions=PhraseSet(_phrases(raw["other_conditions"])),
        classes=PhraseSet({words(w): cid for cid, ws in raw["class_words"].items() for w in ws}),
        topics=PhraseSet(_phrases(raw["topic_words"])),
        intents=PhraseSet(intents),
        weak_intent_cues=frozenset(weak_cues),
        intent_order=tuple(raw["intents"]),
        stopwords=frozenset(raw["stopwords"]),
        known_words=frozenset(known | set(raw["stopwords"])),
    )


# ----- pack-derived name tables, cached per knowledge version ----------------------


@dataclass(frozen=True)
class PackNames:
    version: str
    drugs: PhraseSet
    conditions: PhraseSet
    covered_drugs: frozenset[str]


_NAMES: dict[str, PackNames] = {}


def pack_names(kb: KnowledgeBase) -> PackNames:
    cached = _NAMES.get(kb.version)
    if cached is not None:
        return cached
    drug_table = {words(name): drug_id for name, drug_id in kb.drug_index.items()}
    condition_table = {words(name): cid for name, cid in kb.condition_index.items()}
    # A drug is covered when the pack has its monograph; agents (opioids, alcohol ...) appear
    # in statements only beside a covered drug or setting.
    covered = {d.id for d in kb.drugs.values() if d.role == "monograph"}
    names = PackNames(kb.version, PhraseSet(drug_table), PhraseSet(condition_table), frozenset(covered))
    if len(_NAMES) > 4:
        _NAMES.clear()
    _NAMES[kb.version] = names
    return names


# ----- the result ------------------------------------------------------------------


@dataclass(frozen=True)
class Understanding:
    question: str
    tokens: tuple[str, ...]
    drugs: tuple[str, ...] = ()  # covered drug ids, in order of mention
    agents: tuple[str, ...] = ()  # other drugs the pack knows, in order of mention
    setting: str = "back-spasm"
    setting_explicit: bool = False
    conditions: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    full: bool = True
    covered: bool = True
    reason: str | None = None  # why not covered: empty | other-use | other-condition | uncovered-drug | nothing
    other: str | None = None  # the other use / condition / drug named
    matched_names: dict[str, str] = field(default_factory=dict)

    @property
    def primary_intent(self) -> str:
        return self.intents[0] if self.intents else "overview"


def _find_drugs(kb: KnowledgeBase, tokens: tuple[str, ...], lex: Lexicon) -> list[tuple[int, int, str, str]]:
    names = pack_names(kb)
    found = [(s, e, d, " ".join(tokens[s:e])) for s, e, d in names.drugs.find(tokens)]
    taken = {i for s, e, _d, _n in found for i in range(s, e)}
    for i, token in enumerate(tokens):
        if i in taken or len(token) < _FUZZY_MIN or token in lex.known_words or token.isdigit():
            continue
        match = kb.resolve_drug(token, fuzzy=True)
        if match is not None:
            found.append((i, i + 1, match.id, token))
    found.sort()
    return found


def _near_before(found: list[tuple[int, int, str]], start: int, window: int = 3) -> bool:
    return any(start - window <= end <= start for _s, end, _l in found)


def understand(question: str, kb: KnowledgeBase) -> Understanding:
    lex = lexicon()
    text = question.strip()[:MAX_QUESTION_CHARS]
    tokens = words(text)
    if not tokens:
        return Understanding(text, tokens, covered=False, reason="empty", full=False)

    drug_hits = _find_drugs(kb, tokens, lex)
    drugs, agents, matched = _sort_drugs(kb, drug_hits)
    strong = lex.settings_strong.labels(tokens)
    weak = lex.settings_weak.labels(tokens)
    setting = _setting(strong, weak)
    condition_hits = pack_names(kb).conditions.find(tokens)
    base = Understanding(
        question=text,
        tokens=tokens,
        drugs=tuple(drugs),
        agents=tuple(agents),
        setting=setting,
        setting_explicit=bool(strong or weak),
        conditions=tuple(dict.fromkeys(c for _s, _e, c in condition_hits)),
        classes=tuple(dict.fromkeys(lex.classes.labels(tokens))),
        matched_names=matched,
    )
    if not strong:
        named = [(s, e) for s, e, _d, _n in drug_hits] + [(s, e) for s, e, _c in condition_hits]
        drug_spans = {i for s, e, _d, _n in drug_hits for i in range(s, e)}
        # "blood pressure" inside "blood pressure pills" names a class of drug, not another condition
        drug_spans |= {i for s, e, _c in lex.classes.find(tokens) for i in range(s, e)}
        outside = _out_of_scope(base, lex, named, drug_spans)
        if outside is not None:
            return outside
    if not (drugs or strong or weak or lex.topics.find(tokens)):
        return _not_covered(base, "uncovered-drug", agents[0]) if agents else _not_covered(base, "nothing", None)
    chosen, full = _intents(base, lex)
    return Understanding(**{**base.__dict__, "intents": chosen, "full": full})


def _sort_drugs(kb: KnowledgeBase, drug_hits: list[Any]) -> tuple[list[str], list[str], dict[str, str]]:
    """(drugs the pack covers, other agents named, drug id -> name as written)."""
    covered_ids = pack_names(kb).covered_drugs
    drugs: list[str] = []
    agents: list[str] = []
    matched: dict[str, str] = {}
    for _s, _e, drug_id, name in drug_hits:
        matched.setdefault(drug_id, name)
        target = drugs if drug_id in covered_ids else agents
        if drug_id not in target:
            target.append(drug_id)
    return drugs, agents, matched


def _setting(strong: list[str], weak: list[str]) -> str:
    """A strong cue decides (surgery first), then a weak surgery cue; otherwise the default setting."""
    if "post-spinal-fusion" in strong:
        return "post-spinal-fusion"
    if "back-spasm" in strong:
        return "back-spasm"
    if "post-spinal-fusion" in weak:
        return "post-spinal-fusion"
    return "back-spasm"


def _out_of_scope(base: Understanding, lex: Any, named: list[tuple[int, int]],
                  drug_spans: set[int]) -> Understanding | None:
    """A use or condition outside clinguide's scope (None when the question is in scope)."""
    tokens = base.tokens

    def inside_a_name(start: int, end: int) -> bool:
        """Words that are part of a longer drug or condition name ("sleep" in "sleep apnea")."""
        return any(s <= start and end <= e and e - s > end - start for s, e in named)

    purposes = lex.purpose.find(tokens)
    has_effect_word = bool(lex.effects.find(tokens))
    for start, end, use in lex.other_uses.find(tokens):
        if inside_a_name(start, end):
            continue
        if use in lex.effect_uses and has_effect_word and not _near_before(purposes, start):
            continue
        return _not_covered(base, "other-use", use)
    other = [(s, e, c) for s, e, c in lex.other_conditions.find(tokens)
             if not all(i in drug_spans for i in range(s, e))]
    return _not_covered(base, "other-condition", other[0][2]) if other else None


def _intent_counts(base: Understanding, lex: Any) -> tuple[dict[str, int], set[str]]:
    """How often each intent is cued, and the intents only weak cues gave."""
    counts: dict[str, int] = {}
    stemmed = tuple(stem(t) for t in base.tokens)
    strong_intents: set[str] = set()
    for start, end, intent in lex.intents.find(stemmed):
        counts[intent] = counts.get(intent, 0) + 1
        if stemmed[start:end] not in lex.weak_intent_cues:
            strong_intents.add(intent)
    if base.drugs and (base.agents or "alcohol" in base.tokens):
        counts["interactions"] = counts.get("interactions", 0) + 1
    if len(base.drugs) >= 2 and "interactions" not in counts:
        counts["alternatives"] = counts.get("alternatives", 0) + 1
    if base.setting != "post-spinal-fusion":
        counts.pop("post-op", None)
    return counts, set(counts) - strong_intents


def _intents(base: Understanding, lex: Any) -> tuple[tuple[str, ...], bool]:
    """The intents asked about, most cued first, and whether the full article is wanted."""
    counts, weak_only = _intent_counts(base, lex)
    full_ids = set(lex["full_intents"])
    if any(i not in weak_only and i not in full_ids for i in counts):
        for intent in weak_only:
            counts.pop(intent, None)  # "is it safe to drink on valium" asks about the interaction
    order = lex.intent_order
    intents = sorted(counts, key=lambda i: (-counts[i], order.index(i)))
    focused = [i for i in intents if i not in full_ids]
    if base.setting == "post-spinal-fusion" and "post-op" not in focused:
        focused.append("post-op")
    if focused:
        return tuple(focused), False
    return tuple(intents) or ("should-use" if base.drugs else "overview",), True


def _not_covered(base: Understanding, reason: str, other: str | None) -> Understanding:
    return Understanding(**{**base.__dict__, "covered": False, "reason": reason, "other": other, "full": False})
