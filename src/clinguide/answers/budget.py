"""Split an answer's statements into the default view (within a word, section and reference budget) and ``more``.

The frame decides which sections lead; safety points relevant to the frame are kept first
(the interaction's own warnings, the population asked about, the boxed warning and driving for
a drug question); near-duplicates are left to ``more``. The limits are data (``frames.yaml``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from clinguide.answers.bottom import shown_sources, word_count
from clinguide.answers.frames import Frame, frame_book

if TYPE_CHECKING:
    from clinguide.kb.knowledge import KnowledgeBase
    from clinguide.kb.models import Statement

Sections = list[tuple[str, list["Statement"]]]
_WORD = re.compile(r"[a-z]{3,}")
DUPLICATE_OVERLAP = 0.6
CLOSING_SECTION = "prescriber"
FALLBACK_SECTION = "cautions"


@dataclass(frozen=True)
class Limits:
    words: int
    sections: int
    references: int
    items_per_section: int


def limits(audience: str, *, urgent: bool = False) -> Limits:
    """The default view's limits; under an urgent block the shorter ``urgent_budget`` (the action comes first)."""
    book = frame_book().raw
    raw = book["budget"]
    words, sections = int(raw["words"][audience]), int(raw["sections"])
    if urgent and "urgent_budget" in book:
        words = int(book["urgent_budget"]["words"][audience])
        sections = int(book["urgent_budget"]["sections"])
    return Limits(words, sections, int(raw["references"]), int(raw["items_per_section"]))


def other_population(frame: Frame) -> set[str]:
    """Statements about a population the question is not about, when it names one (data: ``populations``)."""
    book = frame_book().raw["populations"]
    out: set[str] = set()
    for population in frame.populations:
        for excluded in book[population].get("excludes", []):
            if excluded not in frame.populations:
                out.update(book[excluded].get("only", []))
    return out


@dataclass
class Split:
    default: Sections = field(default_factory=list)
    more: Sections = field(default_factory=list)


def _vocabulary(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def near_duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    """Most of the shorter text's words are in the other (the same point said twice)."""
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) >= DUPLICATE_OVERLAP


def must_keep(
    kb: KnowledgeBase, frame: Frame, pool: list[Statement], applies: Callable[[Statement], bool]
) -> tuple[list[Statement], list[Statement]]:
    """(always kept, kept first while the budget allows).

    Always: the frame's listed safety points, the population asked about, and the pair's own
    warnings for an interaction question. First in line but within the budget: the universal
    points (boxed warning, driving) for the main drug.
    """
    book = frame_book().raw
    main = set(frame.drugs[:1])

    def pick(ids: list[str], drugs: set[str]) -> list[Statement]:
        out: list[Statement] = []
        for sid in dict.fromkeys(ids):
            statement = kb.statements.get(sid)
            if statement is None or not applies(statement):
                continue
            if drugs and statement.drugs and not set(statement.drugs) & drugs:
                continue
            out.append(statement)
        return out

    wanted: list[str] = list(frame.spec.get("keep", []))
    for population in frame.populations:
        wanted += book["populations"][population].get("keep", [])
    always = pick(wanted, main)
    if frame.answer_type == "interaction" and frame.other:
        always += [
            s for s in pool if s.safety and frame.other in s.drugs and set(s.drugs) & main and s not in always
        ]  # the pair's own warnings (not another drug's warning about the same agent)
    first = [s for s in pick(book.get("universal_keep", []), main) if s not in always] if main else []
    return always, first


def split(
    kb: KnowledgeBase,
    frame: Frame,
    audience: str,
    pool: Sections,
    *,
    text: Callable[[Statement], str],
    applies: Callable[[Statement], bool],
    section_of: Callable[[Statement], str],
    used_words: int,
    used_sources: set[str],
    exclude: set[str],
    urgent: bool = False,
) -> Split:
    """Fill the default view in the frame's section order; everything else goes to ``more``."""
    limit = limits(audience, urgent=urgent)
    elsewhere = other_population(frame)
    same_point = {sid: tuple(group) for group in frame_book().raw.get("same_point", []) for sid in group}
    flat = [s for _key, items in pool for s in items]
    key_of = {s.id: key for key, items in pool for s in items}
    keep, first = must_keep(kb, frame, flat, applies)
    for statement in [*keep, *first]:
        key_of.setdefault(statement.id, section_of(statement))

    preferred = list(frame.spec.get("sections", []))
    pool_order = [key for key, _items in pool]

    def section_rank(key: str) -> tuple[int, int]:
        if key == CLOSING_SECTION:
            return len(preferred) + 1, 0  # "talk to your prescriber" closes a patient answer
        base = key.partition(".")[0]
        first = preferred.index(base) if base in preferred else len(preferred)
        return first, pool_order.index(key) if key in pool_order else len(pool_order)

    chosen: dict[str, list[Statement]] = {}
    words = used_words
    sources = set(used_sources)
    seen_text: list[frozenset[str]] = []
    taken: set[str] = set()

    def try_add(statement: Statement, forced: bool) -> bool:
        nonlocal words
        if statement.id in taken or statement.id in exclude:
            return False
        if not forced and statement.id in elsewhere:
            return False  # another population's advice ("if you are 65 or older ...") for a pregnant asker
        if not forced and any(other in taken or other in exclude
                              for other in same_point.get(statement.id, ()) if other != statement.id):
            return False  # the same point in other words is already shown
        key = key_of[statement.id]
        if forced and key not in chosen and len(chosen) >= limit.sections:
            # a kept safety point never opens a sixth section: it joins the safety section (or the first)
            key = FALLBACK_SECTION if FALLBACK_SECTION in chosen else next(iter(chosen))
        body = text(statement)
        vocabulary = _vocabulary(body)
        if not forced:
            if key not in chosen and len(chosen) >= limit.sections:
                return False
            if len(chosen.get(key, [])) >= limit.items_per_section:
                return False
            if words + word_count(body) > limit.words:
                return False
            if len(sources | set(shown_sources(kb, statement.sources))) > limit.references:
                return False
            if any(near_duplicate(vocabulary, other) for other in seen_text):
                return False
        chosen.setdefault(key, []).append(statement)
        taken.add(statement.id)
        words += word_count(body)
        sources.update(shown_sources(kb, statement.sources))
        seen_text.append(vocabulary)
        return True

    closing = dict(pool).get(CLOSING_SECTION, [])
    for statement in keep:
        try_add(statement, forced=True)
    for statement in [*closing, *first]:  # next in line, within the budget
        try_add(statement, forced=False)
    for key in sorted(pool_order, key=section_rank):
        items = dict(pool)[key]
        # a statement with a published source comes before an unsourced editorial one
        for statement in sorted(items, key=lambda s: not shown_sources(kb, s.sources)):
            try_add(statement, forced=False)

    order = {s.id: i for i, s in enumerate(flat)}
    default = [
        (key, sorted(items, key=lambda s: order.get(s.id, -1)))
        for key, items in sorted(chosen.items(), key=lambda kv: section_rank(kv[0]))
    ]
    more: Sections = []
    for key, items in pool:
        rest = [s for s in items if s.id not in taken]
        if rest:
            more.append((key, rest))
    return Split(default, more)
