"""Find the pack's red flags in free text (a question, a case's symptoms or conditions).

The flags, their trigger phrases, levels and wording are data (``knowledge/red_flags.yaml``);
this module only matches phrases. Matching works on words: lower case, apostrophes dropped
("can't" = "cant" = "cannot"), hyphens as spaces, filler words (a, the, my, …) ignored, a
trailing plural "s" tolerated, and up to two other words
(never a negation) inside a phrase. A phrase does not count when a negation ("no", "not", "without",
"denies", "don't" …) stands up to three words before it in the same clause ("no fever",
"I don't have any numbness between my legs"); a clause ends at punctuation, "but" or "and",
so "no fever and I can't pee" still finds the bladder flag. A trigger "A + B" needs both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from clinguide.kb.knowledge import KnowledgeBase

LEVEL_ORDER = ("emergency", "same-day", "contact-surgical-team")

_FILLERS = frozenset(
    {
        "a",
        "an",
        "the",
        "my",
        "your",
        "his",
        "her",
        "their",
        "our",
        "any",
        "some",
        "really",
        "very",
        "is",
        "are",
        "am",
        "was",
        "were",
        "been",
        "be",
        "feel",
        "feels",
        "felt",
    }
)
_NEGATIONS = frozenset(
    {
        "no",
        "not",
        "without",
        "never",
        "none",
        "nor",
        "neither",
        "deny",
        "denies",
        "denied",
        "dont",
        "doesnt",
        "didnt",
        "havent",
        "hasnt",
        "hadnt",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "free",
        "absent",
        "negative",
    }
)
# "no longer numb" still says numb; "not only" does not negate.
_NOT_NEGATING_NEXT = frozenset({"longer", "only"})
_CLAUSE_BREAK_WORDS = frozenset({"but", "and", "however", "although", "though", "yet", "except"})
NEGATION_WINDOW = 3
MAX_GAP = 2  # other words allowed between two words of a trigger

_CLAUSE_SPLIT = re.compile(r"[.;:!?,()\[\]\n/]+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class RedFlagMatch:
    id: str
    group: str
    level: str
    clinician: str
    patient: str
    sources: tuple[str, ...]
    matched: str


def _token(word: str) -> str:
    return word.replace("'", "")


def words(text: str) -> list[str]:
    """The phrase as comparable words (no fillers; "cannot" and "can not" become "cant")."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("-", " ")
    out: list[str] = []
    for raw in _WORD.findall(text):
        token = _token(raw)
        if token == "cannot":
            token = "cant"
        elif token == "not" and out and out[-1] == "can":
            out[-1] = "cant"
            continue
        if token not in _FILLERS:
            out.append(token)
    return out


def clauses(text: str) -> list[list[str]]:
    """Clauses as word lists; "but"/"and" start a new clause (they end a negation's reach)."""
    result: list[list[str]] = []
    for part in _CLAUSE_SPLIT.split(text):
        current: list[str] = []
        for token in words(part):
            if token in _CLAUSE_BREAK_WORDS:
                if current:
                    result.append(current)
                current = []
                continue
            current.append(token)
        if current:
            result.append(current)
    return result


@lru_cache(maxsize=4096)
def compile_trigger(trigger: str) -> tuple[tuple[str, ...], ...]:
    """A trigger as one or more word sequences, all of which must be present ("A + B")."""
    return tuple(tuple(words(part)) for part in trigger.split(" + "))


def _same_word(trigger_word: str, text_word: str) -> bool:
    if trigger_word == text_word:
        return True
    if len(trigger_word) > 3 and len(text_word) > 3:
        return trigger_word.rstrip("s") == text_word.rstrip("s")
    return False


def _negated(clause: list[str], start: int) -> bool:
    for index in range(max(0, start - NEGATION_WINDOW), start):
        if clause[index] in _NEGATIONS:
            following = clause[index + 1] if index + 1 < len(clause) else ""
            if following not in _NOT_NEGATING_NEXT:
                return True
    return False


def _match_from(sequence: tuple[str, ...], clause: list[str], start: int) -> bool:
    """The sequence's words appear in order from ``start``, each at most MAX_GAP words after the last.

    People put words inside a phrase ("can't feel *my bottom* when I wipe", "numb *all* around
    the bottom"); a small gap keeps the trigger list short without matching across a clause.
    """
    position = start
    for word in sequence[1:]:
        for step in range(1, MAX_GAP + 2):
            if position + step >= len(clause):
                return False
            if _same_word(word, clause[position + step]):
                position += step
                break
            if clause[position + step] in _NEGATIONS:
                return False  # a gap never skips a negation: "not [no longer] able to …"
        else:
            return False
    return True


def _present(sequence: tuple[str, ...], text_clauses: list[list[str]]) -> bool:
    """The word sequence occurs (allowing small gaps), not negated, in some clause."""
    if not sequence:
        return False
    for clause in text_clauses:
        for start, token in enumerate(clause):
            if not _same_word(sequence[0], token):
                continue
            nearby = clause[start + 1 : start + 2 + MAX_GAP]
            if len(sequence) > 1 and any(_same_word(sequence[0], later) for later in nearby):
                continue  # a later copy of the first word starts the phrase ("no no longer able …")
            if _match_from(sequence, clause, start) and not _negated(clause, start):
                return True
    return False


def _fold(word: str) -> str:
    return word.rstrip("s") if len(word) > 3 else word


@lru_cache(maxsize=4096)
def _trigger_words(trigger: str) -> frozenset[str]:
    return frozenset(_fold(word) for part in compile_trigger(trigger) for word in part)


def trigger_matches(trigger: str, text_clauses: list[list[str]], text_words: frozenset[str] | None = None) -> bool:
    """``trigger`` occurs un-negated in the clauses (``text_words``, their folded words, is a quick pre-check)."""
    if text_words is not None and not _trigger_words(trigger) <= text_words:
        return False
    parts = compile_trigger(trigger)
    return bool(parts) and all(_present(part, text_clauses) for part in parts)


def find_red_flags(kb: KnowledgeBase, texts: Iterable[str], setting: str | None = None) -> list[RedFlagMatch]:
    """The pack's red flags mentioned (not negated) in ``texts``: most urgent level first, then pack order.

    ``setting`` limits the flags to those that apply to it; ``None`` checks every flag.
    """
    text_clauses = [clause for text in texts if text for clause in clauses(str(text))]
    if not text_clauses:
        return []
    text_words = frozenset(_fold(word) for clause in text_clauses for word in clause)
    found: list[tuple[int, int, RedFlagMatch]] = []
    for position, flag in enumerate(kb.red_flags):
        if setting is not None and setting not in flag.settings:
            continue
        matched = next((t for t in flag.triggers if trigger_matches(t, text_clauses, text_words)), None)
        if matched is None:
            continue
        level_rank = LEVEL_ORDER.index(flag.level) if flag.level in LEVEL_ORDER else len(LEVEL_ORDER)
        found.append(
            (
                level_rank,
                position,
                RedFlagMatch(
                    id=flag.id,
                    group=flag.group,
                    level=flag.level,
                    clinician=kb.render(flag.clinician),
                    patient=kb.render(flag.patient),
                    sources=tuple(flag.sources),
                    matched=matched,
                ),
            )
        )
    found.sort(key=lambda entry: (entry[0], entry[1]))
    return [match for _rank, _position, match in found]
