"""Name lookup: generic, brand, synonym, misspelling, case, strength suffixes, fuzzy."""

from __future__ import annotations

import re
from dataclasses import dataclass

_STRENGTH = re.compile(r"[\s-]*\d[\d.,/ ]*(?:\s?(?:mg|mcg|µg|g|ml|%))?\s*$", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
FUZZY_CUTOFF = 86.0
FUZZY_MIN_LENGTH = 5
FUZZY_MAX_LENGTH_DIFFERENCE = 2
_DIGIT = re.compile(r"\d")


def normalise(text: str) -> str:
    """Lower case, folded spaces, no surrounding punctuation."""
    text = _SPACE.sub(" ", text.strip().lower())
    return text.strip(" .,;:!?\"'()[]")


@dataclass(frozen=True)
class Match:
    id: str
    matched: str
    how: str  # exact | strength-stripped | fuzzy
    score: float


class NameIndex:
    """Maps every name of an item to its id; resolves exactly, then without strength, then fuzzily."""

    def __init__(self, names: dict[str, str]):
        self._names = names
        # Fuzzy matching corrects typos only: never towards a name with a strength or another word in it
        # ("tylenol" must not become "tylenol 3", a codeine product).
        self._fuzzy_keys = [k for k in names if not _DIGIT.search(k)]

    def resolve(self, text: str, fuzzy: bool = True) -> Match | None:
        key = normalise(text)
        if not key:
            return None
        if key in self._names:
            return Match(self._names[key], key, "exact", 100.0)
        stripped = normalise(_STRENGTH.sub("", key))
        if stripped and stripped in self._names:
            return Match(self._names[stripped], stripped, "strength-stripped", 100.0)
        if not fuzzy or len(stripped) < FUZZY_MIN_LENGTH:
            return None
        words = len(stripped.split())
        candidates = [
            k
            for k in self._fuzzy_keys
            if len(k.split()) == words and abs(len(k) - len(stripped)) <= FUZZY_MAX_LENGTH_DIFFERENCE
        ]
        if not candidates:
            return None
        from rapidfuzz import fuzz, process  # only a name that is not found exactly pays for this import

        best = process.extractOne(stripped, candidates, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        if best is None:
            return None
        return Match(self._names[best[0]], best[0], "fuzzy", float(best[1]))

    def items(self) -> list[tuple[str, str]]:
        return list(self._names.items())
