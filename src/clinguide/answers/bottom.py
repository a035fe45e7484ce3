"""The bottom line: at most two sentences and 60 words that answer the question asked.

The recipes are data (``frames.yaml``): a template whose numbers are monograph placeholders,
the check engine's interaction rules for a pair, a statement about both drugs named, a listed
statement, or the best ``key`` statement. Lead words ("No.") come from the frame; everything
after them is the opening of a reviewed statement or rule, cited by its own sources. Seed
documents never support a bottom line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from clinguide.answers.frames import ALCOHOL, CLASS_PREFIX, Frame, frame_book
from clinguide.answers.retrieve import unrendered
from clinguide.answers.understand import PhraseSet, lexicon, stem, words
from clinguide.kb.placeholders import PLACEHOLDER, PlaceholderError

if TYPE_CHECKING:
    from clinguide.answers.understand import Understanding
    from clinguide.contracts import Finding
    from clinguide.kb.knowledge import KnowledgeBase
    from clinguide.kb.models import InteractionRule, Statement

MAX_SENTENCES = 2
MAX_WORDS = 60
SEED_PREFIX = "SEED"
REPEAT_OVERLAP = 0.8
_WORD = re.compile(r"[a-z]{3,}")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"“])")

Applies = Callable[["Statement"], bool]


@dataclass
class BottomLine:
    text: str
    sources: list[str] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)  # statements whose opening is used
    verdict: str | None = None  # interaction answers: the verdict key (rule code, severity or "none")
    rule: str | None = None  # interaction answers: the deciding rule's id


# ----- sources -------------------------------------------------------------------------


def is_seed(source_id: str) -> bool:
    return source_id.startswith(SEED_PREFIX)


def shown_sources(kb: KnowledgeBase, sources: list[str] | tuple[str, ...]) -> list[str]:
    """The sources a reader sees: known to the pack and not a seed document."""
    return [s for s in sources if s in kb.sources and not is_seed(s)]


# ----- sentences -----------------------------------------------------------------------


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def word_count(text: str) -> int:
    return len(text.split())


def _vocabulary(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _joins(lead: str, sentence: str) -> str:
    """After a lead that ends in ':' a sentence continues in lower case ("No: do not ...")."""
    first_word = sentence.split(" ", 1)[0]
    if lead.endswith(":") and sentence[:1].isupper() and not (len(first_word) > 1 and first_word.isupper()):
        return f"{lead} {sentence[0].lower()}{sentence[1:]}"  # not an acronym such as ACP
    return f"{lead} {sentence}".strip()


def fit(lead: str, texts: list[str]) -> str:
    """Lead words, then whole sentences of ``texts`` in order while the result keeps to 2 sentences and 60 words.

    A sentence that only repeats the lead is skipped.
    """
    out = lead.strip()
    lead_words = _vocabulary(lead)
    for text in texts:
        for sentence in sentences(text):
            words = _vocabulary(sentence)
            if lead_words and words and len(words & lead_words) / len(words) >= REPEAT_OVERLAP:
                continue
            candidate = _joins(out, sentence)
            if len(sentences(candidate)) > MAX_SENTENCES or word_count(candidate) > MAX_WORDS:
                return _capital(out or sentence)  # one over-long first sentence still answers (tests report it)
            out = candidate
    return _capital(out)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# ----- recipes -------------------------------------------------------------------------


def _names(kb: KnowledgeBase, frame: Frame) -> tuple[str, str]:
    a = kb.drugs[frame.drugs[0]].name.lower() if frame.drugs else ""
    other = frame.other
    if other and other.startswith(CLASS_PREFIX):
        class_id = other[len(CLASS_PREFIX):]
        shown = lexicon()["class_display"].get(class_id) or kb.classes[class_id].name.split(" (")[0].lower()
        return a, str(shown)
    b = "alcohol" if other == ALCOHOL else (kb.drugs[other].name.lower() if other in kb.drugs else (other or ""))
    return a, b


def _words(template: str, a: str, b: str) -> str:
    return template.replace("{a}", a).replace("{b}", b).strip()


def _template(kb: KnowledgeBase, frame: Frame, spec: dict[str, str], audience: str) -> BottomLine | None:
    if not frame.drugs:
        return None
    drug = kb.drugs[frame.drugs[0]]
    text = spec[audience].replace("{drug}", drug.id).replace("{name}", drug.name.lower())
    try:
        rendered = kb.render(text)
    except PlaceholderError:
        return None  # the monograph lacks the field: the next recipe answers
    sources = shown_sources(kb, _placeholder_sources(kb, text))
    if not sources or unrendered(rendered):
        return None  # never an uncited number
    return BottomLine(_capital(rendered), sources)


def _placeholder_sources(kb: KnowledgeBase, text: str) -> list[str]:
    out: list[str] = []
    for match in PLACEHOLDER.finditer(text):
        kind, args = match.group(1), match.group(2).split(":")
        if kind == "policy" and args[0] == "diazepam-max-days":
            out += kb.policy.diazepam_max_days_sources
        elif kind == "policy" and args[0] == "older-adult-age":
            out += kb.policy.older_adult_sources
        elif kind in ("dose", "daily-max") and len(args) >= 2:
            rule = kb.dosing(args[0], args[1], args[2] if len(args) > 2 else "oral")
            out += rule.sources if rule else []
        elif kind == "max-days" and args[0] in kb.drugs and kb.drugs[args[0]].duration_limit:
            out += kb.drugs[args[0]].duration_limit.sources  # type: ignore[union-attr]
        elif kind == "taper" and args[0] in kb.drugs and kb.drugs[args[0]].taper:
            out += kb.drugs[args[0]].taper.sources  # type: ignore[union-attr]
    return list(dict.fromkeys(out))


def usable(kb: KnowledgeBase, statement: Statement, text: str) -> bool:
    """A statement may lead an answer when a published source supports it and its text rendered."""
    return bool(shown_sources(kb, statement.sources)) and not unrendered(text)


def interaction_findings(kb: KnowledgeBase, drug: str, other: str) -> list[Finding]:
    """What ``check`` says about ordering ``drug`` for a patient taking ``other`` (or drinking alcohol).

    The same engine and rules as ``clinguide check``: only the interaction rules' findings are kept.
    """
    from clinguide.checks.engine import check

    class_id = other[len(CLASS_PREFIX):] if other.startswith(CLASS_PREFIX) else None
    if class_id is not None:
        # a class ("opioids"): check one member, and keep only the rules written for the whole class, which hold
        # for every member (a rule about one member would not)
        members = sorted(d for d in kb.drugs if class_id in kb.drug_classes(d) and d != drug)
        if not members:
            return []
        case: dict[str, Any] = {"medications": [kb.drugs[members[0]].name]}
    elif other == ALCOHOL:
        case = {"alcohol": "moderate"}
    else:
        case = {"medications": [kb.drugs[other].name]}
    result = check({"drug": kb.drugs[drug].name}, case, kb=kb)
    codes = {rule.code for rule in kb.interactions}
    order = {"critical": 0, "warning": 1, "info": 2}
    found = [f for f in result.findings if f.code in codes]
    if class_id is not None:
        found = [f for f in found if (rule := rule_for(kb, f)) is not None and _about_class(kb, rule, class_id)]
    return sorted(found, key=lambda f: order.get(f.severity, 3))


def _about_class(kb: KnowledgeBase, rule: InteractionRule, class_id: str) -> bool:
    """The rule selects the other drug by this class (so it holds for every member)."""
    sides = [rule.other] + ([rule.order] if rule.symmetric else [])
    return any(class_id in side.classes for side in sides)


def rule_for(kb: KnowledgeBase, finding: Finding) -> InteractionRule | None:
    return next((r for r in kb.interactions if r.code == finding.code and r.title == finding.title), None)


def _interaction(
    kb: KnowledgeBase, frame: Frame, audience: str, statement_text: Callable[[Statement], str], applies: Applies
) -> BottomLine | None:
    if not frame.drugs or not frame.other:
        return None
    a, b = _names(kb, frame)
    verdicts: dict[str, dict[str, str]] = frame.spec["verdicts"]
    findings = interaction_findings(kb, frame.drugs[0], frame.other)
    if not findings:
        return BottomLine(fit(_words(verdicts["none"][audience], a, b), []), [], verdict="none")
    top, key = _speaker(findings, verdicts)
    lead = _words(verdicts[key][audience], a, b)
    rule = rule_for(kb, top)
    sources = shown_sources(kb, list(top.sources))
    texts: list[str] = []
    used: list[str] = []
    about_pair = _pair_statements(kb, frame, rule, statement_text, applies)
    if audience == "patient" and about_pair:
        texts.append(statement_text(about_pair[0]))
        used.append(about_pair[0].id)
        sources += [x for x in shown_sources(kb, about_pair[0].sources) if x not in sources]
    elif rule is not None and audience == "clinician":
        texts.append(kb.render(rule.text))  # a rule's text is clinician wording; a patient gets the verdict's lead
    return BottomLine(fit(lead, texts), sources, used, verdict=key, rule=rule.id if rule else None)


def _speaker(findings: list[Finding], verdicts: dict[str, dict[str, str]]) -> tuple[Finding, str]:
    """The finding that speaks and its verdict key: the most specific rule at the worst severity (alcohol
    before the general CNS-depressant rule)."""
    worst = findings[0].severity
    top = next((f for f in findings if f.severity == worst and f.code in verdicts), findings[0])
    key = top.code if top.code in verdicts else ("critical" if top.severity == "critical" else "warning")
    return top, key


def _pair_statements(kb: KnowledgeBase, frame: Frame, rule: InteractionRule | None,
                     statement_text: Callable[[Statement], str], applies: Applies) -> list[Statement]:
    """Usable statements about the asked drug with the other drug (or a member of the other class), else
    about the asked drug with the rule's class (Norco: diazepam with opioids); never another population's."""
    main, other = frame.drugs[0], frame.other
    assert other is not None
    if other.startswith(CLASS_PREFIX):  # a statement about the drug with any member of the class
        class_id = other[len(CLASS_PREFIX):]
        others = {d for d in kb.drugs if class_id in kb.drug_classes(d)} - {main}
    else:
        others = {other}
    populations = frame_book().raw["populations"]
    # a statement for a population the question is not about ("if you are 65 or older ...") is no reason
    not_asked = {sid for name, spec in populations.items() if name not in frame.populations
                 for sid in spec.get("only", [])}

    def about(drugs: set[str]) -> list[Statement]:
        return [s for s in kb.statements.values()
                if main in s.drugs and drugs & set(s.drugs) and s.id not in not_asked and applies(s)
                and usable(kb, s, statement_text(s))]

    found = about(others)
    if not found and rule is not None:
        sides = [rule.other, rule.order] if rule.symmetric else [rule.other]
        own = kb.drug_classes(main)
        classes = {c for side in sides for c in side.classes if c not in own}  # the other drug's side only
        found = about({d for d in kb.drugs if kb.drug_classes(d) & classes} - {main})
    return found


def _from_statement(
    kb: KnowledgeBase, statement: Statement, lead: str, statement_text: Callable[[Statement], str]
) -> BottomLine:
    return BottomLine(fit(lead, [statement_text(statement)]), shown_sources(kb, statement.sources), [statement.id])


def build(
    kb: KnowledgeBase,
    u: Understanding,
    frame: Frame,
    audience: str,
    *,
    statement_text: Callable[[Statement], str],
    applies: Applies,
    best_key: Callable[[], Statement | None],
) -> BottomLine | None:
    """The frame's first recipe that yields a bottom line; None when none does."""
    spec = frame.spec
    a, b = _names(kb, frame)
    lead = _words(spec.get("lead", {}).get(audience, ""), a, b)
    result: BottomLine | None = None
    for recipe in spec.get("bottom", []):
        if (recipe.get("if") == "drugs" and not u.drugs) or (recipe.get("if") == "no-drugs" and u.drugs):
            continue
        if "if_words" in recipe and not mentions(u, recipe["if_words"]):
            continue  # e.g. the breastfeeding statement only for a question about breastfeeding
        result = _recipe(kb, u, frame, audience, recipe, lead, (a, b), statement_text, applies, best_key)
        if result is not None:
            break
    if result is None:
        return None
    _close(kb, spec.get("close"), result, statement_text, applies)
    return result


@lru_cache(maxsize=64)
def _phrases(phrases: tuple[str, ...]) -> PhraseSet:
    return PhraseSet({tuple(stem(w) for w in words(p)): p for p in phrases})


def mentions(u: Understanding, phrases: list[str]) -> bool:
    """Whether the question contains one of ``phrases`` (whole words, light stemming)."""
    return bool(_phrases(tuple(str(p) for p in phrases)).find(tuple(stem(t) for t in u.tokens)))


def _recipe(kb: KnowledgeBase, u: Understanding, frame: Frame, audience: str, recipe: dict[str, Any], lead: str,
            names: tuple[str | None, str | None], statement_text: Callable[[Statement], str], applies: Applies,
            best_key: Callable[[], Statement | None]) -> BottomLine | None:
    """One recipe of a frame's ``bottom`` list (None when it yields nothing for this question)."""
    spec = frame.spec
    if "rule" in recipe:
        return _interaction(kb, frame, audience, statement_text, applies)
    if "template" in recipe:
        older = spec.get("older_template") if "older-adults" in frame.populations else None
        return (older and _template(kb, frame, older, audience)) or _template(kb, frame, recipe["template"], audience)
    if recipe.get("both"):
        return _about_all(kb, u, frame, lead, statement_text, applies)
    if "statements" in recipe:
        return _first_statement(kb, u, recipe["statements"], lead, statement_text, applies)
    if recipe.get("key"):
        statement = best_key()
        return _from_statement(kb, statement, lead, statement_text) if statement is not None else None
    if recipe.get("condition") and frame.drugs and frame.conditions:
        return _condition(kb, frame, recipe, audience, statement_text, applies)
    if "monograph" in recipe and frame.drugs:
        return _monograph_fact(kb, frame, recipe, audience)
    if "gap" in recipe:
        a, b = names
        return BottomLine(fit(_words(recipe["gap"][audience], a or "these medicines", b), []), [], verdict="gap")
    return None


def _first_statement(kb: KnowledgeBase, u: Understanding, ids: list[str], lead: str,
                     statement_text: Callable[[Statement], str], applies: Applies) -> BottomLine | None:
    """The first listed statement that applies to the question and can stand as a bottom line."""
    for sid in ids:
        statement = kb.statements.get(sid)
        if statement is None or not applies(statement) or not usable(kb, statement, statement_text(statement)):
            continue
        if u.drugs and statement.drugs and not set(statement.drugs) & set(u.drugs):
            continue
        return _from_statement(kb, statement, lead, statement_text)
    return None


def _close(kb: KnowledgeBase, close: str | None, result: BottomLine, statement_text: Callable[[Statement], str],
           applies: Applies) -> None:
    """Follow the bottom line's first sentence with the frame's closing statement ("talk to your team")."""
    if not close or close not in kb.statements or not applies(kb.statements[close]) or close in result.statements:
        return
    closing = kb.statements[close]
    first = sentences(result.text)[0] if sentences(result.text) else result.text
    joined = fit(first, [statement_text(closing)])
    if joined != first:
        result.text = joined
        result.statements.append(closing.id)
        result.sources += [s for s in shown_sources(kb, closing.sources) if s not in result.sources]


def _about_condition(statement: Statement, condition: str) -> bool:
    stem = condition.split("-")[0]
    return condition in statement.topics or any(t == stem or t.startswith(f"{stem}-") for t in statement.topics)


def _condition(
    kb: KnowledgeBase,
    frame: Frame,
    recipe: dict[str, Any],
    audience: str,
    statement_text: Callable[[Statement], str],
    applies: Applies,
) -> BottomLine | None:
    """The drug with a condition the question names: a statement about both, else the monograph's condition rule
    (the rule ``check`` applies), worded for patients by the rule's code."""
    drug = kb.drugs[frame.drugs[0]]
    for condition in frame.conditions:
        for statement in kb.statements.values():
            if (
                drug.id in statement.drugs
                and _about_condition(statement, condition)
                and applies(statement)
                and usable(kb, statement, statement_text(statement))
            ):
                return _from_statement(kb, statement, "", statement_text)
        expanded = kb.expand_conditions([condition])
        rule = next((r for r in drug.condition_rules if set(r.conditions) & expanded), None)
        sources = shown_sources(kb, rule.sources) if rule else []
        if rule is None or not sources:
            continue
        if audience == "clinician":
            return BottomLine(fit("", [kb.render(rule.text)]), sources)
        wording = recipe.get("patient", {}).get(rule.code) or recipe.get("patient", {}).get("default")
        if wording:
            name = kb.conditions[condition].patient_name or kb.conditions[condition].name
            text = _words(wording, drug.name.lower(), "").replace("{condition}", name.lower())
            return BottomLine(fit(text, []), sources)
    return None


def _monograph_fact(kb: KnowledgeBase, frame: Frame, recipe: dict[str, Any], audience: str) -> BottomLine | None:
    """A monograph's own field (e.g. its older-adult rule), cited by the field's sources.

    Clinicians get the field's text; patients get the recipe's wording for the field's
    ``recommendation`` (e.g. "avoid"), when the recipe has one.
    """
    fact = getattr(kb.drugs[frame.drugs[0]], recipe["monograph"], None)
    if isinstance(fact, list):  # per-formulation rules (pediatric): the oral one, else the first
        fact = next((f for f in fact if getattr(f, "formulation", "oral") == "oral"), fact[0] if fact else None)
    if fact is None:
        return None
    sources = shown_sources(kb, fact.sources)
    if not sources:
        return None
    if audience == "clinician":
        return BottomLine(fit("", [kb.render(fact.text)]), sources)
    from_age = getattr(fact, "adult_dosing_from_age", None)
    key = getattr(fact, "recommendation", None) or ("from-age" if from_age is not None else "none")
    wording = recipe.get("patient", {}).get(key, "")
    if not wording:
        return None
    a, b = _names(kb, frame)
    text = _words(wording, a, b).replace("{from_age}", str(from_age))
    return BottomLine(fit(kb.render(text), []), sources)


def _about_all(
    kb: KnowledgeBase,
    u: Understanding,
    frame: Frame,
    lead: str,
    statement_text: Callable[[Statement], str],
    applies: Applies,
) -> BottomLine | None:
    """A statement about every drug named (both drugs of a comparison), the setting's own first."""
    if not frame.drugs:
        return None
    wanted = set(frame.drugs)
    candidates = [
        s
        for s in kb.statements.values()
        if wanted <= set(s.drugs)
        and applies(s)
        and usable(kb, s, statement_text(s))
        and (not s.settings or u.setting in s.settings)
    ]
    if not candidates:
        return None
    lead_section = (frame.spec.get("sections") or [None])[0]
    best = min(
        candidates,
        key=lambda s: (
            s.drugs[0] not in wanted,  # a statement led by another drug ("diazepam is not ...") answers that drug
            not s.key,
            s.section != lead_section,
            u.setting not in s.settings,
            len(s.drugs),
        ),
    )
    return _from_statement(kb, best, lead, statement_text)
