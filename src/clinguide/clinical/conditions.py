"""Read a free-text problem ("h/o OUD on suboxone", "no history of OSA", "eGFR 25") as condition ids.

A small ConText-style resolver (Chapman et al.'s NegEx/ConText idea: trigger words with a scope,
ended by terminators). Every word list lives in the pack (``policy.condition_language``); this
module holds only the algorithm:

1. split the phrase at terminators and commas/semicolons;
2. a negation trigger makes the rest of its piece absent (a pseudo-negation such as "not ruled
   out" or "no longer" does not), a trailing trigger ("OSA ruled out") the whole piece;
3. status and uncertainty words ("history of", "in recovery from", "on CPAP", "possible") are
   removed and the condition still counts: a past problem matters for these rules;
4. a lab value (eGFR / CrCl number) or a CKD stage maps to a KDIGO category and its conditions;
5. abbreviations are expanded, then the piece is looked up whole (exact, without strength, fuzzy),
   and names inside it are found as whole words ("hepatitis C cirrhosis", "COPD and OSA");
   words left over that are not filler make the piece (partly) unknown.

Why not negspacy on a blank spaCy pipeline: importing spaCy costs about a second, against a
0.3 s budget for a whole ``clinguide check`` process, and the phrases here are a few words long,
where a trigger list with scope does the same job deterministically. The vocabulary is data, so
it can grow in review without code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clinguide.kb.knowledge import KnowledgeBase, derived
from clinguide.kb.models import ConditionLanguage, RenalCategory


@dataclass(frozen=True)
class Resolution:
    """What one problem text means: conditions found, whether it was negated, what was not understood."""

    text: str
    ids: tuple[str, ...] = ()
    negated: tuple[str, ...] = ()  # pieces read as absent
    unknown: tuple[str, ...] = ()  # pieces not understood
    notes: tuple[str, ...] = ()  # how it was read ("eGFR 25 → KDIGO G4 (severely decreased)")
    gestational_weeks: float | None = None  # "pregnant 24 weeks", "G2P1 at 31 wks"
    procedures: tuple[tuple[str, str], ...] = ()  # (piece as written, procedure id): "s/p L4-5 fusion"


def _phrase_pattern(phrases: list[str], anchor: str = "") -> re.Pattern[str] | None:
    """One regex for a list of phrases, longest first, matching whole words only.

    The word boundaries sit outside one alternation (not around each phrase), which keeps the
    compile time of a long list small; phrases that start or end with a symbol ("?") go unbounded.
    """
    cleaned = sorted({" ".join(p.lower().split()) for p in phrases if p.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    words = [p for p in cleaned if p[0].isalnum() and p[-1].isalnum()]
    symbols = [p for p in cleaned if p not in words]
    parts = []
    if words:
        parts.append(r"(?<![\w/])(?:" + "|".join(_body(p) for p in words) + r")(?![\w/])")
    if symbols:
        parts.append("(?:" + "|".join(_body(p) for p in symbols) + ")")
    return re.compile(f"{anchor}(?:{'|'.join(parts)})")


def _body(phrase: str) -> str:
    return r"\s+".join(re.escape(w) for w in phrase.split())


_NUMBER = r"(\d+(?:\.\d+)?)"
_COMPARATORS = {
    "<": -1, "<=": 0, "≤": 0, "below": -1, "under": -1, "less than": -1, "lower than": -1,
    ">": 1, ">=": 0, "≥": 0, "above": 1, "over": 1, "greater than": 1, "more than": 1, "=": 0, "of": 0, "is": 0,
    "at": 0, "~": 0, "about": 0, "approx": 0, "approximately": 0,
}  # fmt: skip
_MEASURE = re.compile(r"\d+(?:\.\d+)?(?:l|lpm|l/min|%|mg|ml|yrs?|y|wks?|mos?)?")  # "2", "2l", "5yrs"
_WEEKS = re.compile(r"(?<![\w.])(?P<w>\d+(?:\.\d+)?)\s*(?:\+\s*\d\s*/\s*7\s*)?(?:weeks?|wks?|w)(?![a-z])")
_GRAVIDA = re.compile(r"\bg\d+\s*p\d+(?:[-\d]*)\b")
_HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z])")
_BRACKETED = re.compile(r"\([^)]*\)")
_SPLIT = re.compile(r"[,;]|\.\s")
_AND = re.compile(r"\s+(?:and|&|\+|plus|also)\s+|\s*/\s*(?=[a-z]{3,})|\s+or\s+")
_WORDS = re.compile(r"[a-z0-9][a-z0-9'\-./]*|[&+/()?<>=~≤≥-]")


class Resolver:
    """The compiled vocabulary of one knowledge base."""

    def __init__(self, kb: KnowledgeBase, language: ConditionLanguage):
        self.kb = kb
        self.lang = language
        self.neg_before = _phrase_pattern(language.negation_before, anchor="")
        self.neg_after = _phrase_pattern(language.negation_after)
        self.pseudo = _phrase_pattern(language.pseudo_negation)
        self.status_before = _phrase_pattern(language.status_before + language.uncertainty, anchor=r"^\s*")
        self.status_after = _phrase_pattern(language.status_after + language.uncertainty)
        self.terminators = [t.lower() for t in language.terminators]
        self.pregnancy_words = _phrase_pattern(language.pregnancy_words)
        self.filler = {w.lower() for w in language.filler}
        self.abbreviation_map = {" ".join(k.lower().split()): v.lower() for k, v in language.abbreviations.items()}
        self.abbreviations = _phrase_pattern(list(self.abbreviation_map))
        names: dict[str, str] = {}
        for key, cid in kb.condition_index.items():
            names.setdefault(" ".join(key.split()), cid)
        self.names = names
        self.longest_name = max((len(k.split()) for k in names), default=1)
        test_names = {n.lower(): t.id for t in language.lab_tests for n in t.names}
        comparators = "|".join(re.escape(c) for c in sorted(_COMPARATORS, key=len, reverse=True))
        tests = r"(?<![\w/])(?:" + "|".join(_body(n) for n in sorted(test_names, key=len, reverse=True)) + r")(?![\w/])"
        self.test_names = test_names
        self.lab = re.compile(rf"(?P<test>{tests})\s*(?:(?:was|is|of|=|:|-)\s*)?(?P<cmp>{comparators})?\s*{_NUMBER}")
        aliases = {a.lower(): c for c in language.renal_categories for a in c.aliases}
        alias_re = "|".join(re.escape(a) for a in sorted(aliases, key=len, reverse=True))
        self.stage_aliases = aliases
        self.ckd_stage = re.compile(
            rf"(?:\bckd|chronic kidney disease)\s*(?:stage|st\.?|category|cat\.?|grade)?\s*(?P<a>{alias_re})(?![\w])"
            rf"|\bstage\s*(?P<b>{alias_re})\s*(?:ckd|chronic kidney disease)\b"
        ) if aliases else None

    # ---- pieces --------------------------------------------------------------------
    def resolve(self, text: str) -> Resolution:
        raw = " ".join(str(text).replace("’", "'").split())
        lowered = raw.lower().strip(" .")
        ids: list[str] = []
        negated: list[str] = []
        unknown: list[str] = []
        notes: list[str] = []
        if not lowered:
            return Resolution(raw)
        weeks: list[float] = []
        procedures: list[tuple[str, str]] = []
        for chunk in self._chunks(lowered):
            keep, absent = self._negation(chunk)
            if absent:
                negated.append(absent)
            if keep:
                keep = self._gestation(keep, ids, weeks)
                if keep:
                    self._positive(keep, ids, unknown, notes, procedures)
        return Resolution(raw, tuple(dict.fromkeys(ids)), tuple(negated), tuple(unknown), tuple(notes),
                          max(weeks) if weeks else None, tuple(dict.fromkeys(procedures)))

    def _gestation(self, chunk: str, ids: list[str], weeks: list[float]) -> str:
        """'pregnant 24 weeks', 'IUP at 31 wks', 'G2P1 at 22w': pregnancy and its week; the rest of the chunk."""
        said = (self.pregnancy_words is not None and self.pregnancy_words.search(chunk)) or _GRAVIDA.search(chunk)
        if not said:
            return chunk
        m = _WEEKS.search(chunk)
        if m is None:
            return chunk
        value = float(m.group("w"))
        if not 0 < value <= 45:
            return chunk
        weeks.append(value)
        ids.append("pregnancy")
        ids.extend(c for rule in self.lang.gestation if value >= rule.from_weeks for c in rule.conditions)
        rest = chunk[: m.start()] + " " + chunk[m.end():]
        if self.pregnancy_words is not None:
            rest = self.pregnancy_words.sub(" ", rest)
        rest = _GRAVIDA.sub(" ", rest)
        return "" if all(w in self.filler for w in _WORDS.findall(rest)) else rest.strip()

    def negated(self, text: str) -> bool:
        """True when the whole entry says something is absent ("none", "no opioids", "NKDA")."""
        lowered = " ".join(str(text).lower().split()).strip(" .")
        keep, absent = self._negation(lowered)
        return bool(absent) and not keep.strip(" .:-,")

    def _chunks(self, text: str) -> list[str]:
        for term in self.terminators:
            text = text.replace(term, ",")
        return [c.strip() for c in _SPLIT.split(text) if c.strip(" .-")]

    def _negation(self, chunk: str) -> tuple[str, str]:
        """(positive part, negated part) of one chunk."""
        masked = chunk
        if self.pseudo is not None:
            masked = self.pseudo.sub(lambda m: "_" * len(m.group(0)), chunk)
        if self.neg_after is not None:
            hits = list(self.neg_after.finditer(masked))
            m = hits[-1] if hits else None
            if m is not None and not masked[m.end():].strip(" .)!-") and masked[: m.start()].strip(" :-(,"):
                return "", chunk
        if self.neg_before is not None:
            m = self.neg_before.search(masked)
            if m is not None:
                before = chunk[: m.start()].strip(" :-,")
                return before, chunk[m.start():].strip()
        return chunk, ""

    def _strip_status(self, piece: str, notes: list[str]) -> str:
        changed = True
        while changed and piece:
            changed = False
            if self.status_before is not None:
                m = self.status_before.match(piece)
                if m and m.end() > 0:
                    piece = piece[m.end():].strip(" :-,")
                    changed = True
            if self.status_after is not None:
                for m in self.status_after.finditer(piece):
                    if not piece[m.end():].strip(" .)"):
                        piece = piece[: m.start()].strip(" :-,(")
                        changed = True
                        break
        return piece

    def _positive(self, chunk: str, ids: list[str], unknown: list[str], notes: list[str],
                  procedures: list[tuple[str, str]]) -> None:
        chunk = chunk.strip(" .:-")
        # lab values and CKD stages first: "eGFR 25", "CrCl < 30 mL/min", "CKD stage 3b"
        chunk = self._labs(chunk, ids, notes)
        if not chunk:
            return
        for piece in [p.strip() for p in _AND.split(chunk) if p and p.strip(" -/")]:
            self._piece(piece, ids, unknown, notes, procedures)

    def _labs(self, chunk: str, ids: list[str], notes: list[str]) -> str:
        rest = chunk
        for m in list(self.lab.finditer(chunk)):
            value = float(m.group(len(m.groups())))
            cmp = _COMPARATORS.get((m.group("cmp") or "=").strip(), 0)
            test = self.test_names[" ".join(m.group("test").split())]
            category = self._category(value - 0.001 if cmp < 0 else value)
            unit = next(t.unit for t in self.lang.lab_tests if t.id == test)
            shown = f"{'eGFR' if test == 'egfr' else 'CrCl'} {m.group('cmp') or ''}{value:g} {unit}".replace("  ", " ")
            if category is None:
                continue
            note = f"{shown}: KDIGO {category.stage} ({category.term}){self._gives(category)}"
            if test == "crcl":
                note += "; a creatinine clearance is placed on the eGFR scale, which is not the same measure"
            notes.append(note)
            ids.extend(category.conditions)
            rest = rest.replace(m.group(0), " ")
        if self.ckd_stage is not None:
            for m in list(self.ckd_stage.finditer(rest)):
                category = self.stage_aliases[(m.group("a") or m.group("b")).lower()]
                notes.append(f"CKD stage '{m.group(0).strip()}': KDIGO {category.stage} ({category.term})"
                             f"{self._gives(category)}")
                ids.extend(category.conditions)
                rest = rest.replace(m.group(0), " ")
        rest = " ".join(rest.split()).strip(" .:-,")
        if rest != chunk and all(w in self.filler for w in _WORDS.findall(rest)):
            return ""
        return rest

    def _gives(self, category: RenalCategory) -> str:
        names = [self.kb.conditions[c].name for c in category.conditions if c in self.kb.conditions]
        return f", read as {', '.join(names)}" if names else ", not renal impairment for dosing"

    def _category(self, value: float) -> RenalCategory | None:
        for category in self.lang.renal_categories:
            low = category.min if category.min is not None else float("-inf")
            high = category.max if category.max is not None else float("inf")
            if low <= value < high:
                return category
        return None

    def _piece(self, piece: str, ids: list[str], unknown: list[str], notes: list[str],
               procedures: list[tuple[str, str]]) -> None:
        original = piece
        piece = self._strip_status(piece, notes)
        if not piece or all(w in self.filler or w.isdigit() for w in _WORDS.findall(piece)):
            return  # only status words left ("clean 5 yrs", "in remission"): they qualify the problem before
        expanded = piece
        if self.abbreviations is not None:
            expanded = self.abbreviations.sub(lambda m: self.abbreviation_map[" ".join(m.group(0).split())], piece)
        spaced = _HYPHEN.sub(" ", expanded)  # "narrow-angle glaucoma" is written both ways
        found: list[str] = []
        for candidate in dict.fromkeys((piece, expanded, spaced)):
            match = self.kb.resolve_condition(candidate)
            if match:
                found.append(match.id)
                break
        covered, left = self._scan(expanded)
        if left:
            covered_spaced, left_spaced = self._scan(spaced)
            if len(left_spaced) < len(left):
                covered, left = covered_spaced, left_spaced
        if found:
            ids.extend(found + covered)
            return
        procedure = next((p for p in self.kb.policy.procedures if p.matches(piece)), None)
        if procedure is not None:
            # "s/p L4-5 fusion", "spinal fusion 2 weeks ago": the procedure's own words are read; any other
            # word must still be a condition name or filler, or the piece stays (partly) unknown
            procedures.append((original, procedure.id))
            covered, left = self._scan(" ".join(w for w in expanded.split() if not procedure.mentions(w)))
        if not left and (covered or procedure is not None):
            ids.extend(covered)
            return
        if covered or procedure is not None:
            ids.extend(covered)
            unknown.append(f"{original} (not understood: {' '.join(left)})")
            return
        unknown.append(original)

    def _plain(self, token: str) -> bool:
        """A filler word or a measure, which does not change the meaning of the name after it."""
        return all(w in self.filler or _MEASURE.fullmatch(w) for w in _WORDS.findall(token))

    def _scan(self, text: str) -> tuple[list[str], list[str]]:
        """Condition names found as whole words (longest first), and the words left that are not filler.

        Word n-grams are looked up in the name dictionary rather than compiled into one large regex:
        compiling hundreds of alternatives costs a noticeable part of a CLI call's start-up.
        """
        tokens = [t.strip(",;:.") for t in text.split()]
        found: list[str] = []
        left_tokens: list[str] = []
        i = 0
        while i < len(tokens):
            # a name right after a word we do not know is part of another thing ("foot ulcer", "venous ulcer")
            modified = i > 0 and bool(left_tokens) and left_tokens[-1] == tokens[i - 1] and not self._plain(
                tokens[i - 1])
            for n in range(min(self.longest_name, len(tokens) - i), 0, -1):
                cid = self.names.get(" ".join(tokens[i:i + n]))
                if cid and not modified:
                    found.append(cid)
                    i += n
                    break
            else:
                left_tokens.append(tokens[i])
                i += 1
        rest = " ".join(left_tokens)
        rest = _BRACKETED.sub(" ", rest) if found else rest  # "(ocular)" qualifies a name that was found
        left = [w for w in _WORDS.findall(rest) if w not in self.filler and not _MEASURE.fullmatch(w)]
        return list(dict.fromkeys(found)), left


def resolver_for(kb: KnowledgeBase) -> Resolver | None:
    return derived(kb, "condition-resolver", _build_resolver)


def _build_resolver(kb: KnowledgeBase) -> Resolver | None:
    language = kb.policy.condition_language
    return Resolver(kb, language) if language is not None else None


def resolve_condition_text(text: str, kb: KnowledgeBase) -> Resolution:
    """Condition ids in a free-text problem; a pack without a vocabulary falls back to the name index."""
    resolver = resolver_for(kb)
    if resolver is not None:
        return resolver.resolve(text)
    match = kb.resolve_condition(text)
    return Resolution(text, (match.id,)) if match else Resolution(text, unknown=(text,))


def gestation_conditions(weeks: float | None, kb: KnowledgeBase) -> list[str]:
    """Conditions a gestational age gives (pregnancy from 20 weeks, from 30 weeks)."""
    language = kb.policy.condition_language
    if weeks is None or language is None:
        return []
    return [c for rule in language.gestation if weeks >= rule.from_weeks for c in rule.conditions]


__all__ = ["Resolution", "Resolver", "gestation_conditions", "resolve_condition_text", "resolver_for"]
