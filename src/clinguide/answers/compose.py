"""Compose an Article (DESIGN.md contract) from the statements of the pack.

Every sentence of an answer's body is a reviewed statement: the bottom line is the
opening of a ``key`` statement, each item is one statement with its sources, and
the reference list holds exactly the sources cited, numbered by first use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clinguide.answers import bottom as bottom_lines
from clinguide.answers.budget import split as budget_split
from clinguide.answers.frames import Frame, frame_book, frame_of
from clinguide.answers.retrieve import index_for, rank, unrendered
from clinguide.answers.understand import Understanding, lexicon, understand
from clinguide.contracts import Article, ArticleItem, ArticleSection, Reference, ReviewInfo, Urgent

if TYPE_CHECKING:
    from clinguide.kb.knowledge import KnowledgeBase
    from clinguide.kb.models import Statement

AUDIENCES = ("clinician", "patient")
PHASE_SPLIT = ("acute", "subacute", "chronic")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"“])")
_SHORT_SENTENCE = 110
SECONDARY = "secondary-summary"


@dataclass
class Selection:
    """What an answer is made of, before numbering and wording."""

    understanding: Understanding
    bottom: Statement | None
    sections: list[tuple[str, list[Statement]]] = field(default_factory=list)

    @property
    def statements(self) -> list[Statement]:
        out = [self.bottom] if self.bottom else []
        for _key, items in self.sections:
            out += items
        return out


# ----- selection ---------------------------------------------------------------------


def _applies(statement: Statement, u: Understanding, audience: str, *, open_drugs: bool) -> bool:
    lex = lexicon().raw
    if audience == "patient" and statement.audience == "clinician":
        return False
    if statement.settings and u.setting not in statement.settings:
        return False
    if statement.drugs:
        mentioned = set(u.drugs) | set(u.agents)
        if u.drugs:
            if not set(statement.drugs) & mentioned and not (open_drugs and _open_to_others(statement)):
                return False
        elif statement.section not in lex["drugless_sections"]:
            return False
        elif len(statement.drugs) < 2 and u.setting not in statement.settings:
            return False  # with no drug named, only class-level or setting-level statements
    return True


def _open_to_others(statement: Statement) -> bool:
    """May a statement about other drugs than the question's appear (first-line care, alternatives)?"""
    lex = lexicon().raw
    if statement.section in lex["open_sections"]:
        return True
    return statement.section in lex["alternatives_from"] and "alternatives" in statement.intents


def _about_others(statement: Statement, u: Understanding) -> bool:
    return bool(u.drugs and statement.drugs and not set(statement.drugs) & (set(u.drugs) | set(u.agents)))


def _order(kb: KnowledgeBase) -> dict[str, int]:
    return index_for(kb).order


def _text(kb: KnowledgeBase, statement: Statement, audience: str) -> str:
    return index_for(kb).text(kb, statement, audience)


def _bottom_line(kb: KnowledgeBase, u: Understanding, audience: str) -> Statement | None:
    order = _order(kb)
    keys = [
        s
        for s in kb.statements.values()
        if s.key and _applies(s, u, audience, open_drugs=False) and bottom_lines.usable(kb, s, _text(kb, s, audience))
    ]
    if not keys:
        return None

    setting_sections = set(lexicon()["setting_bottom_sections"])

    def class_fit(s: Statement) -> int:
        if u.drugs or not u.classes or not s.drugs:
            return 0
        known = [d for d in s.drugs if d in kb.drugs]
        return int(bool(known) and all(kb.drug_classes(d) & set(u.classes) for d in known))

    def preference(s: Statement) -> tuple[int, ...]:
        drug_fit = 2 if set(s.drugs) & set(u.drugs) else (1 if not s.drugs or not u.drugs else 0)
        setting_fit = 1 if u.setting in s.settings else 0
        section_fit = 1 if not u.drugs and s.section in setting_sections else 0
        intent_fit = 1 if u.primary_intent in s.intents else 0
        return (-drug_fit, -class_fit(s), -setting_fit, -section_fit, -intent_fit, order[s.id])

    return min(keys, key=preference)


def _section_key(statement: Statement, u: Understanding) -> str:
    if _about_others(statement, u) and statement.section in lexicon()["alternatives_from"]:
        return "alternatives"  # evidence on another drug answers "what else could be used"
    if statement.section == "evidence":
        for phase in PHASE_SPLIT:
            if phase in statement.phases:
                return f"evidence.{phase}"
    return statement.section


def select(kb: KnowledgeBase, u: Understanding, audience: str) -> Selection:
    lex = lexicon()
    bottom = _bottom_line(kb, u, audience)
    wanted_sections, core = _wanted_sections(u, lex)
    chosen = [st for st in kb.statements.values() if _chosen(kb, st, u, audience, wanted_sections, core)]
    scores = rank(kb, u, chosen)
    order = _order(kb)
    grouped: dict[str, list[Statement]] = {}
    for statement in chosen:
        grouped.setdefault(_section_key(statement, u), []).append(statement)

    full_order = list(lex["full_article"])
    section_order = wanted_sections + [s for s in full_order if s not in wanted_sections]

    def section_rank(key: str) -> tuple[int, int]:
        base, _, phase = key.partition(".")
        return (
            section_order.index(base) if base in section_order else len(section_order),
            PHASE_SPLIT.index(phase) + 1 if phase else 0,
        )

    sections = [(key, _section_items(key, grouped[key], core, scores, order, bottom, int(lex["max_items_context"])))
                for key in sorted(grouped, key=section_rank)]
    if audience == "patient":
        talk = _prescriber_statements(kb, u)
        if talk:
            talk_ids = {t.id for t in talk}
            sections = [(k, [s for s in items if s.id not in talk_ids]) for k, items in sections]
            sections = [(k, items) for k, items in sections if items]
            sections.append(("prescriber", talk))
    return Selection(u, bottom, sections)


def _wanted_sections(u: Understanding, lex: Any) -> tuple[list[str], set[str]]:
    """The sections this answer has, in order, and its core sections (the rest give context)."""
    if u.full:
        wanted = list(lex["full_article"])
        core: set[str] = set(wanted)
        if u.drugs:
            core -= set(lex["open_sections"])
        return wanted, core
    wanted = []
    for intent in u.intents:
        for section in lex["focused"].get(intent, []):
            if section not in wanted:
                wanted.append(section)
    return wanted, {lex["focused"][i][0] for i in u.intents if lex["focused"].get(i)}


def _chosen(kb: KnowledgeBase, statement: Statement, u: Understanding, audience: str,
            wanted_sections: list[str], core: set[str]) -> bool:
    """Whether a statement belongs in this answer."""
    if not _applies(statement, u, audience, open_drugs=True):
        return False
    if unrendered(_text(kb, statement, audience)):
        return False  # never show a raw placeholder; `kb validate` should catch these
    if audience == "patient" and statement.safety:
        return True  # patients get every safety point that applies to them
    section = _section_key(statement, u).partition(".")[0]
    in_shape = section in wanted_sections
    if u.full:
        return in_shape
    if u.drugs and statement.safety and set(statement.drugs) & set(u.drugs) and in_shape:
        return True  # a focused answer on a drug keeps that drug's safety points in its sections
    return (in_shape and section in core) or bool(set(u.intents) & set(statement.intents))


def _section_items(key: str, items: list[Statement], core: set[str], scores: dict[str, float],
                   order: dict[str, int], bottom: Statement | None, limit: int) -> list[Statement]:
    """A section's statements: core sections by fit to the question, context sections in the authors' order,
    at most ``limit`` context items besides safety points and the bottom line."""
    if key in core:
        items = sorted(items, key=lambda s: (-scores.get(s.id, 0.0), order[s.id]))
    else:  # context sections keep the authors' order: lexical fit to the question says little there
        items = sorted(items, key=lambda s: order[s.id])
    kept: list[Statement] = []
    extra = 0
    for statement in items:
        if key.partition(".")[0] in core or statement.safety or statement is bottom or extra < limit:
            kept.append(statement)
            if not statement.safety and statement is not bottom:
                extra += 1
    if key in core:
        kept.sort(key=lambda s: (not s.key, -scores.get(s.id, 0.0), order[s.id]))
    return kept


def _prescriber_statements(kb: KnowledgeBase, u: Understanding) -> list[Statement]:
    topics = set(lexicon()["prescriber_topics"])
    index = index_for(kb)
    if index.prescriber is None:
        index.prescriber = [s for s in kb.statements.values() if topics & set(s.topics) and s.audience == "both"]
    return [s for s in index.prescriber if _applies(s, u, "patient", open_drugs=True)][:1]


# ----- wording -------------------------------------------------------------------------


def opening(text: str) -> str:
    """The first sentence, or the first two when the first is short."""
    sentences = [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]
    if not sentences:
        return text.strip()
    if len(sentences) > 1 and len(sentences[0]) < _SHORT_SENTENCE:
        return f"{sentences[0]} {sentences[1]}"
    return sentences[0]


class _Citations:
    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.numbers: dict[str, int] = {}

    def cite(self, sources: list[str] | tuple[str, ...]) -> list[int]:
        """Numbers for the sources a reader may see (seed documents are never listed), by first use."""
        out: list[int] = []
        for source_id in bottom_lines.shown_sources(self.kb, list(sources)):
            if source_id not in self.numbers:
                self.numbers[source_id] = len(self.numbers) + 1
            out.append(self.numbers[source_id])
        return sorted(set(out))

    def references(self) -> list[Reference]:
        refs = []
        for source_id, n in sorted(self.numbers.items(), key=lambda kv: kv[1]):
            source = self.kb.sources[source_id]
            refs.append(Reference(n=n, id=source_id, citation=source.citation, url=source.url, kind=source.kind))
        return refs


def _title(kb: KnowledgeBase, u: Understanding, audience: str) -> str:
    lex = lexicon()
    setting_name = lex["setting_names"].get(u.setting, u.setting)
    topic = lex["topic_names"].get(u.primary_intent, u.primary_intent)
    topic = topic.replace("{setting}", setting_name.lower())
    if u.drugs:
        return lex["titles"][audience]["drug"].format(drug=kb.drugs[u.drugs[0]].name, topic=topic)
    return lex["titles"][audience]["setting"].format(setting=setting_name, topic=topic)


def _item(kb: KnowledgeBase, statement: Statement, audience: str, cites: _Citations) -> ArticleItem:
    numbers = cites.cite(list(statement.sources))
    text = _text(kb, statement, audience)
    if not numbers:
        text = f"{lexicon()['unsourced_label'][audience]} {text}"
    return ArticleItem(text=text, citations=numbers, statement=statement.id, unsourced=not numbers)


def _review(statements: list[Statement]) -> ReviewInfo:
    dates = [s.review.last_reviewed for s in statements if s.review.last_reviewed]
    reviewers = sorted({s.review.reviewer for s in statements if s.review.reviewer})
    return ReviewInfo(
        status="approved",
        last_updated=max(dates).isoformat() if dates else None,
        # every reviewer of the statements shown (an approval adds one; it must not blank the attribution)
        reviewer=", ".join(reviewers) if reviewers else None,
    )


def _disclaimer(kb: KnowledgeBase, audience: str) -> str:
    return kb.policy.disclaimer_patient if audience == "patient" else kb.policy.disclaimer_clinician


_ANSWERABLE: dict[tuple[str, str, str], bool] = {}


def answerable(question: str, kb: KnowledgeBase, audience: str = "clinician") -> bool:
    """True when the pack covers the question and has statements for it (cached per knowledge version)."""
    key = (kb.version, audience, question)
    if key not in _ANSWERABLE:
        u = understand(question, kb)
        if len(_ANSWERABLE) > 512:
            _ANSWERABLE.clear()
        _ANSWERABLE[key] = u.covered and any(items for _k, items in select(kb, u, audience).sections)
    return _ANSWERABLE[key]


def _follow_ups(kb: KnowledgeBase, u: Understanding, audience: str, urgent: Urgent | None = None) -> list[str]:
    """Questions to ask next; under an urgent block only those of the intents ``urgent_follow_up_intents`` allows."""
    templates = lexicon()["follow_ups"]
    candidates: list[tuple[str, str]] = []  # (intent, question)
    setting = u.setting if u.covered else "back-spasm"
    if setting == "post-spinal-fusion":
        candidates += [(i, t) for i, t in templates[setting].items() if i not in u.intents]
    if u.covered and u.drugs:
        name = kb.drugs[u.drugs[0]].name.lower()
        for intent, template in templates["drug"].items():
            if intent in u.intents:
                continue
            if intent == "post-op" and u.setting == "post-spinal-fusion":
                continue
            candidates.append((intent, template.format(drug=name)))
    for intent, template in templates.get(setting, {}).items():
        if u.covered and intent in u.intents and not u.drugs:
            continue
        candidates.append((intent, template))
    if urgent is not None:
        allowed = set(frame_book().raw.get("urgent_follow_up_intents", []))
        candidates = [(i, q) for i, q in candidates if i in allowed]
    asked = u.question.strip().lower()
    out: list[str] = []
    for question in dict.fromkeys(q for _i, q in candidates):
        if question.lower() == asked:
            continue
        if answerable(question, kb, audience):
            out.append(question)
        if len(out) == 4:
            break
    return out


def _not_covered(kb: KnowledgeBase, u: Understanding, audience: str) -> Article:
    words = lexicon()["not_covered"]
    example = words["example"]
    if u.reason == "empty":
        bottom = words["empty"].format(example=example)
    else:
        parts = [words["scope"].strip()]
        drug = kb.drugs[u.drugs[0]].name.lower() if u.drugs else "these medicines"
        if u.reason == "other-use":
            parts.append(words["other_use"].format(drug=drug, use=u.other))
        elif u.reason == "other-condition":
            parts.append(words["other_condition"].format(condition=u.other))
        elif u.reason == "uncovered-drug" and u.other in kb.drugs:
            parts.append(words["uncovered_drug"].format(drug=kb.drugs[u.other].name))
        else:
            parts.append(words["nothing"].format(example=example))
        bottom = " ".join(parts)
    cites = _Citations(kb)
    urgent = _urgent(kb, u, audience, cites) if u.reason != "empty" else None
    if urgent is not None and not u.setting_explicit and urgent.level != "emergency":
        # a fever with a headache is not a back-pain red flag; an emergency sign is always shown
        cites, urgent = _Citations(kb), None
    return Article(
        question=u.question,
        audience=audience,  # type: ignore[arg-type]
        covered=False,
        title=words["title"],
        answer_type="red-flags" if urgent else "not-covered",
        urgent=urgent,
        bottom_line=bottom,
        sections=[],
        references=cites.references(),
        follow_up_questions=_follow_ups(kb, u, audience, urgent)[:3],
        review=ReviewInfo(status="not-applicable", last_updated=None),
        disclaimer=_disclaimer(kb, audience),
        knowledge_version=kb.version,
    )


def _urgent(kb: KnowledgeBase, u: Understanding, audience: str, cites: _Citations) -> Urgent | None:
    """The most urgent red flags the question mentions (same level, at most two groups), before anything else."""
    from clinguide.clinical.red_flags import find_red_flags

    found = find_red_flags(kb, [u.question], setting=u.setting)
    if not found:
        return None
    level = found[0].level
    top = [m for m in found if m.level == level]
    groups: dict[str, object] = {}
    for match in top:
        groups.setdefault(match.group, match)
    chosen = list(groups.values())[:2]
    texts = [m.patient if audience == "patient" else m.clinician for m in chosen]  # type: ignore[attr-defined]
    sources = [s for m in chosen for s in m.sources]  # type: ignore[attr-defined]
    return Urgent(level=level, text=" ".join(texts), citations=cites.cite(sources))  # type: ignore[arg-type]


def _sections(
    kb: KnowledgeBase, u: Understanding, audience: str, groups: list[tuple[str, list[Statement]]], cites: _Citations
) -> list[ArticleSection]:
    headings = lexicon()["headings"][audience]
    return [
        ArticleSection(heading=headings.get(key, key), items=[_item(kb, s, audience, cites) for s in items])
        for key, items in groups
        if items
    ]


def ask(question: str, audience: str = "clinician", kb: KnowledgeBase | None = None) -> Article:
    """Answer a question from the served knowledge pack (fetched per call: it may be swapped)."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience: '{audience}' is not accepted; use one of: {', '.join(AUDIENCES)}")
    if kb is None:
        from clinguide.kb import get_kb

        kb = get_kb()
    u = understand(question, kb)
    if not u.covered:
        return _not_covered(kb, u, audience)
    selection = select(kb, u, audience)
    if not any(items for _k, items in selection.sections) and selection.bottom is None:
        return _not_covered(kb, Understanding(**{**u.__dict__, "covered": False, "reason": "nothing"}), audience)

    frame = frame_of(u, kb)
    cites = _Citations(kb)
    urgent = _urgent(kb, u, audience, cites)

    def text(statement: Statement) -> str:
        return _text(kb, statement, audience)

    def shown_text(statement: Statement) -> str:
        """The item as the reader sees it (an unsourced statement carries its label)."""
        if bottom_lines.shown_sources(kb, statement.sources):
            return text(statement)
        return f"{lexicon()['unsourced_label'][audience]} {text(statement)}"

    red_flag_bottom = _red_flag_bottom(u, audience, frame, urgent, cites)
    red_flag_only = red_flag_bottom is not None
    if red_flag_bottom is None:
        frame, bottom = _bottom(kb, u, audience, frame, selection, text)
        if urgent is not None:
            bottom = _action_first(bottom, urgent, audience, cites)
    else:
        bottom = red_flag_bottom
    bottom_cites = cites.cite(bottom.sources)
    used_words, used_sources = _used(bottom, urgent, cites)

    pool = selection.sections
    split = budget_split(
        kb,
        frame,
        audience,
        pool,
        text=shown_text,
        applies=lambda s: _applies(s, u, audience, open_drugs=True) and not unrendered(text(s)),
        section_of=lambda s: _section_key(s, u),
        used_words=used_words,
        used_sources=used_sources,
        exclude=set(bottom.statements),
        urgent=urgent is not None,
    )
    if red_flag_only:  # nothing may read as "treat it at home" under an urgent block
        split.more = [(k, [s for s in items if s.id not in bottom.statements]) for k, items in pool]
        split.default = []
    sections = _sections(kb, u, audience, split.default, cites)
    more = _sections(kb, u, audience, split.more, cites)
    statements = [s for _k, items in split.default + split.more for s in items]
    return Article(
        question=u.question,
        audience=audience,  # type: ignore[arg-type]
        covered=True,
        title=_title(kb, u, audience),
        answer_type=_answer_type(frame, urgent),
        urgent=urgent,
        bottom_line=bottom.text,
        bottom_line_citations=bottom_cites,
        sections=sections,
        more=more,
        references=cites.references(),
        follow_up_questions=_follow_ups(kb, u, audience, urgent),
        review=_review(statements + [kb.statements[sid] for sid in bottom.statements if sid in kb.statements]),
        disclaimer=_disclaimer(kb, audience),
        knowledge_version=kb.version,
    )


def _red_flag_bottom(u: Understanding, audience: str, frame: Any, urgent: Urgent | None,
                     cites: _Citations) -> bottom_lines.BottomLine | None:
    """Under an urgent block, a red-flag question that names no drug gets the action as its bottom line."""
    if urgent is None:
        return None
    book = frame_book().raw
    action_only = urgent.level in book.get("red_flag_action_only", [])
    if not action_only and (frame.answer_type not in book["red_flag_frames"] or u.drugs):
        return None
    wording = frame_book().raw["red_flag_bottom"][urgent.level][audience]
    return bottom_lines.BottomLine(wording, [ref.id for ref in cites.references()])


def _action_first(bottom: bottom_lines.BottomLine, urgent: Urgent, audience: str,
                  cites: _Citations) -> bottom_lines.BottomLine:
    """Under an urgent block the bottom line opens with the action ("See a doctor today first."), then answers."""
    lead = frame_book().raw["red_flag_lead"][urgent.level][audience]
    urgent_sources = [ref.id for ref in cites.references() if ref.n in urgent.citations]
    sources = bottom.sources + [s for s in urgent_sources if s not in bottom.sources]
    return bottom_lines.BottomLine(bottom_lines.fit(lead, [bottom.text]), sources, bottom.statements,
                                   verdict=bottom.verdict, rule=bottom.rule)


def _used(bottom: bottom_lines.BottomLine, urgent: Urgent | None, cites: _Citations) -> tuple[int, set[str]]:
    """Words and sources the bottom line and the urgent block already use (the budget counts them)."""
    used_sources = set(bottom.sources)
    used_words = bottom_lines.word_count(bottom.text)
    if urgent is not None:
        used_words += bottom_lines.word_count(urgent.text)
        used_sources.update(ref.id for ref in cites.references())
    return used_words, used_sources


def _bottom(kb: KnowledgeBase, u: Understanding, audience: str, frame: Any, selection: Selection,
            text: Callable[[Statement], str]) -> tuple[Frame, bottom_lines.BottomLine]:
    """The bottom line of the first fitting frame whose recipes give one (a dose question about a drug with no
    duration limit after spinal fusion is answered by the fusion frame), else the first sourced item (a pack gap
    the tests report). Returns the frame that answered."""

    def best_key() -> Statement | None:
        key = selection.bottom
        if key is None or not bottom_lines.usable(kb, key, text(key)):
            return None
        if u.drugs and key.drugs and key.drugs[0] not in u.drugs:
            return None  # a statement led by another drug ("diazepam is not ...") does not answer about this one
        return key

    tried: list[str] = []
    first_frame = frame
    while frame.answer_type not in tried:
        bottom = bottom_lines.build(
            kb,
            u,
            frame,
            audience,
            statement_text=text,
            applies=lambda statement: _applies(statement, u, audience, open_drugs=False),
            best_key=best_key,
        )
        if bottom is not None:
            return frame, bottom
        tried.append(frame.answer_type)
        frame = frame_of(u, kb, skip=tuple(tried))
    frame = first_frame
    sourced = [s for _k, items in selection.sections for s in items if bottom_lines.usable(kb, s, text(s))]
    # a statement about the drug asked answers better than a general one ("most back pain improves" does not
    # answer "is carisoprodol a controlled substance")
    about_drug = [s for s in sourced if u.drugs and s.drugs and s.drugs[0] == u.drugs[0]]
    first = next(iter(about_drug + sourced), selection.sections[0][1][0])
    return frame, bottom_lines.BottomLine(
        bottom_lines.fit("", [text(first)]), bottom_lines.shown_sources(kb, first.sources), [first.id]
    )


def _answer_type(frame: Frame, urgent: Urgent | None) -> str:
    if urgent is not None and urgent.level in frame_book().raw.get("red_flag_action_only", []):
        return "red-flags"
    if urgent is not None and frame.answer_type in frame_book().raw["red_flag_frames"] and not frame.drugs:
        return "red-flags"
    return frame.answer_type
