"""Resolve a Case against the pack: condition, medication, allergy and therapy names to ids; the phase.

Nothing here is clinical: the pack's names, implications and phase definitions decide.
Fixed ids used as machinery: the agent ``alcohol`` (added to the drugs when the case
reports moderate or heavy alcohol use), the condition ``alcohol-heavy-use`` (heavy use) and
the condition ``pregnancy`` (``pregnant: true``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from clinguide.clinical.conditions import gestation_conditions, resolve_condition_text, resolver_for
from clinguide.contracts import Case, MedicationEntry
from clinguide.kb.knowledge import KnowledgeBase, derived

ALCOHOL_AGENT = "alcohol"
ALCOHOL_HEAVY_CONDITION = "alcohol-heavy-use"
PREGNANCY_CONDITION = "pregnancy"

_DOSE_START = re.compile(r"\s\d")


@dataclass(frozen=True)
class CaseDrug:
    name: str  # as written
    id: str
    dose: str | None = None


@dataclass
class CaseContext:
    case: Case
    conditions: frozenset[str] = frozenset()
    unknown_conditions: list[str] = field(default_factory=list)
    negated_conditions: list[str] = field(default_factory=list)  # "no history of OSA": read as absent
    condition_notes: list[str] = field(default_factory=list)  # how a value was read ("eGFR 25: KDIGO G4")
    procedures: list[tuple[str, str]] = field(default_factory=list)  # (as written, procedure id): "s/p PLIF"
    gestational_weeks: float | None = None  # from the case field, or read from a problem ("pregnant 24 weeks")
    drugs: list[CaseDrug] = field(default_factory=list)
    unknown_medications: list[str] = field(default_factory=list)
    stopped_drugs: list[CaseDrug] = field(default_factory=list)  # "no longer taking oxycodone": not current
    allergy_drugs: list[tuple[str, str]] = field(default_factory=list)  # (as written, drug id)
    allergy_classes: list[tuple[str, str]] = field(default_factory=list)  # (as written, class id)
    unknown_allergies: list[str] = field(default_factory=list)
    tried: frozenset[str] = frozenset()
    unknown_tried: list[str] = field(default_factory=list)
    phase: str | None = None

    @property
    def drug_ids(self) -> list[str]:
        return [d.id for d in self.drugs]


def _resolve_drug_name(kb: KnowledgeBase, text: str) -> str | None:
    match = kb.resolve_drug(text)
    if match:
        return match.id
    cut = _DOSE_START.search(text)  # "oxycodone 5 mg q6h" -> "oxycodone"
    if cut:
        match = kb.resolve_drug(text[: cut.start()])
        if match:
            return match.id
    return None


_STOP_DATE = re.compile(r"[\d/.-]+")


def _alternatives(phrases: list[str]) -> str:
    cleaned = sorted({" ".join(p.lower().split()) for p in phrases if p.strip()}, key=len, reverse=True)
    return "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in cleaned)


StoppedWords = tuple[re.Pattern[str] | None, re.Pattern[str] | None, frozenset[str]]


def _stopped_vocabulary(kb: KnowledgeBase) -> StoppedWords:
    """The pack's stopped-medicine words, compiled once per knowledge base (a few phrases: cheap, and apart
    from the condition resolver, whose build is much dearer)."""
    return derived(kb, "stopped-words", _build_stopped_words)


def _build_stopped_words(kb: KnowledgeBase) -> StoppedWords:
    language = kb.policy.condition_language
    before = after = None
    words: frozenset[str] = frozenset()
    if language is not None:
        if language.stopped_before:
            before = re.compile(rf"^(?:{_alternatives(language.stopped_before)})(?![\w/'])")
        if language.stopped_after:
            after = re.compile(rf"(?<![\w/])(?:{_alternatives(language.stopped_after)})$")
        words = frozenset(w.lower() for w in language.stopped_time_words)
    return before, after, words


def _stopped_drug(kb: KnowledgeBase, text: str) -> str | None:
    """The drug of an entry that says it was stopped ("no longer taking oxycodone", "oxycodone (discontinued)").

    Only the drug's name and the words of when may be left: anything else leaves the entry to the
    ordinary reading (and so unknown), never a drug with a stopped status it may not have.
    """
    before, after, time_words = _stopped_vocabulary(kb)
    plain = " ".join(text.lower().replace("(", " ").replace(")", " ").split()).strip(" .,;:-")
    rest: str | None = None
    m = before.match(plain) if before is not None else None
    if m is not None:
        rest = plain[m.end():].strip(" .,;:-")
    tail = after.search(rest if rest is not None else plain) if after is not None else None
    if tail is not None:
        rest = (rest if rest is not None else plain)[: tail.start()].strip(" .,;:-")
    if not rest:
        return None
    tokens = rest.split()
    for n in range(len(tokens), 0, -1):
        if not all(w.strip(",.") in time_words or _STOP_DATE.fullmatch(w) for w in tokens[n:]):
            continue
        drug_id = _resolve_drug_name(kb, " ".join(tokens[:n]))
        if drug_id is not None:
            return drug_id
    return None


def _negated(kb: KnowledgeBase, text: str) -> bool:
    """An entry that says there is nothing ("none", "NKDA"); built only for entries no name matched."""
    resolver = resolver_for(kb)
    return resolver is not None and resolver.negated(text)


def _class_by_name(kb: KnowledgeBase, text: str) -> str | None:
    key = text.strip().lower()
    for cls in kb.classes.values():
        names = {cls.id, cls.name.lower(), cls.id + "s", cls.name.lower() + "s"}
        if key in names:
            return cls.id
    return None


def derive_phase(case: Case, kb: KnowledgeBase) -> str | None:
    """The phase of the case from the pack's phase definitions, or None if the data to place it is missing."""
    for definition in kb.phases:
        if definition.setting != case.setting:
            continue
        if definition.symptom_days is not None:
            if case.symptom_days is None:
                continue
            if not (definition.symptom_days.min <= case.symptom_days < definition.symptom_days.max):
                continue
        if definition.surgery_phase is not None and case.surgery_phase != definition.surgery_phase:
            continue
        if definition.hours_since_surgery is not None:
            if case.hours_since_surgery is None:
                continue
            rng = definition.hours_since_surgery
            if not (rng.min <= case.hours_since_surgery < rng.max):
                continue
        if definition.symptom_days is None and definition.surgery_phase is None and (
            definition.hours_since_surgery is None
        ):
            continue
        return definition.id
    return None


def prepare_case(case: Case, kb: KnowledgeBase) -> CaseContext:
    ctx = CaseContext(case=case)
    cond_ids: list[str] = []
    for text in case.conditions:
        resolution = resolve_condition_text(text, kb)
        cond_ids.extend(resolution.ids)
        ctx.unknown_conditions.extend(resolution.unknown)
        ctx.negated_conditions.extend(resolution.negated)
        ctx.condition_notes.extend(resolution.notes)
        ctx.procedures.extend(resolution.procedures)
        if resolution.gestational_weeks is not None and ctx.gestational_weeks is None:
            ctx.gestational_weeks = resolution.gestational_weeks
    if case.gestational_weeks is not None:
        ctx.gestational_weeks = case.gestational_weeks
    if case.pregnant or ctx.gestational_weeks is not None:
        cond_ids.append(PREGNANCY_CONDITION)
        cond_ids.extend(gestation_conditions(ctx.gestational_weeks, kb))
    if case.alcohol == "heavy":
        cond_ids.append(ALCOHOL_HEAVY_CONDITION)
    ctx.conditions = kb.expand_conditions(cond_ids)

    for entry in case.medications:
        name, dose, code = (entry.name, entry.dose, entry.code) if isinstance(entry, MedicationEntry) else (
            entry, None, None)
        drug_id: str | None = None
        stopped = None if code else _stopped_drug(kb, name)
        if stopped is not None:
            ctx.stopped_drugs.append(CaseDrug(name, stopped, dose))
            continue
        if code:
            # a combination product's code names every ingredient: each one counts (Percocet = oxycodone + APAP)
            ids = kb.drugs_by_rxnorm(code)
            for extra in ids[1:]:
                ctx.drugs.append(CaseDrug(name, extra, None))
            drug_id = ids[0] if ids else None
        if drug_id is None:
            drug_id = _resolve_drug_name(kb, name)
        if drug_id is None and not code and _negated(kb, name):
            continue  # "none", "no regular medicines"
        if drug_id is None:
            ctx.unknown_medications.append(name)
        else:
            cut = _DOSE_START.search(name)
            ctx.drugs.append(CaseDrug(name[: cut.start()] if cut else name, drug_id, dose))
    if case.alcohol in ("moderate", "heavy") and ALCOHOL_AGENT in kb.drugs:
        ctx.drugs.append(CaseDrug(f"alcohol ({case.alcohol} use)", ALCOHOL_AGENT))

    for text in case.allergies:
        drug_id = _resolve_drug_name(kb, text)
        if drug_id:
            ctx.allergy_drugs.append((text, drug_id))
            continue
        class_id = _class_by_name(kb, text)
        if class_id:
            ctx.allergy_classes.append((text, class_id))
        elif not _negated(kb, text):  # "NKDA", "no known allergies"
            ctx.unknown_allergies.append(text)

    tried: set[str] = set()
    tried_drugs: list[str] = []
    for text in case.tried:
        match = kb.resolve_therapy(text)
        if match:
            tried.add(match.id)
            continue
        drug_id = _resolve_drug_name(kb, text)
        if drug_id:
            tried_drugs.append(drug_id)
        else:
            ctx.unknown_tried.append(text)
    # a drug tried, or taken now, counts for every therapy that accepts it or its classes
    for drug_id in tried_drugs + [d.id for d in ctx.drugs if d.id != ALCOHOL_AGENT]:
        ingredients = set(kb.ingredients(drug_id)) | {drug_id}
        classes = kb.drug_classes(drug_id)
        for therapy in kb.therapies.values():
            if ingredients & set(therapy.drugs) or classes & set(therapy.drug_classes):
                tried.add(therapy.id)
    ctx.tried = frozenset(tried)
    ctx.phase = derive_phase(case, kb)
    return ctx
