"""The loaded knowledge base: approved items only, indexed for the engine."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from clinguide.kb.models import (
    CodeList,
    Condition,
    DosingRule,
    Drug,
    DrugClass,
    FindingText,
    InteractionRule,
    PackInfo,
    PhaseDefinition,
    Plan,
    Policy,
    RedFlag,
    Source,
    Statement,
    Therapy,
)
from clinguide.kb.names import Match, NameIndex, normalise
from clinguide.kb.placeholders import render

_LAZY_LOCK = threading.Lock()
# The largest fields that checking an order does not read; the pack cache (kb/cache.py) keeps them pickled.
LAZY_FIELDS = ("statements", "code_lists")


def drug_names(drug: Drug) -> list[str]:
    return [drug.id, drug.name, *drug.brands, *drug.synonyms, *drug.misspellings]


@dataclass
class KnowledgeBase:
    info: PackInfo
    version: str
    sources: dict[str, Source]
    classes: dict[str, DrugClass]
    drugs: dict[str, Drug]
    conditions: dict[str, Condition]
    therapies: dict[str, Therapy]
    interactions: list[InteractionRule]
    statements: dict[str, Statement]
    phases: list[PhaseDefinition]
    plans: dict[tuple[str, str], Plan]
    policy: Policy
    code_lists: list[CodeList] = field(default_factory=list)
    red_flags: list[RedFlag] = field(default_factory=list)
    finding_texts: dict[str, FindingText] = field(default_factory=dict)

    def wording(self, template_id: str, part: str, **fields: object) -> str:
        """A part of the pack's finding wording ``template_id`` with its named fields filled in."""
        from clinguide.kb.wording import WordingError, fill

        template = self.finding_texts.get(template_id)
        if template is None:
            raise WordingError(f"the knowledge pack has no finding wording '{template_id}'")
        return fill(template, part, fields)

    def phrase(self, template_id: str, **fields: object) -> str:
        """A phrase of the pack's wording (an entry with ``text``)."""
        return self.wording(template_id, "text", **fields)

    # ----- names -----------------------------------------------------------
    @cached_property
    def drug_index(self) -> NameIndex:
        return NameIndex({normalise(n): d.id for d in self.drugs.values() for n in drug_names(d)})

    @cached_property
    def condition_index(self) -> NameIndex:
        return NameIndex({normalise(n): c.id for c in self.conditions.values() for n in [c.id, c.name, *c.synonyms]})

    @cached_property
    def therapy_index(self) -> NameIndex:
        return NameIndex({normalise(n): t.id for t in self.therapies.values() for n in [t.id, t.name, *t.synonyms]})

    @cached_property
    def rxnorm_index(self) -> dict[str, tuple[str, ...]]:
        """RxNorm code -> drug ids: verified ingredient codes and imported product codes."""
        index: dict[str, tuple[str, ...]] = {}
        for drug in self.drugs.values():
            if drug.rxnorm and drug.rxnorm.verified:
                index[drug.rxnorm.code] = (drug.id,)
        for code_list in self.code_lists:
            for product in code_list.products:
                known = tuple(d for d in product.drugs if d in self.drugs)
                if known:
                    index.setdefault(product.code, known)
        return index

    @cached_property
    def extended_release_codes(self) -> frozenset[str]:
        """Imported RxNorm product codes whose display names an extended-release form."""
        return frozenset(p.code for cl in self.code_lists for p in cl.products if p.extended_release)

    def resolve_drug(self, text: str, fuzzy: bool = True) -> Match | None:
        return self.drug_index.resolve(text, fuzzy=fuzzy)

    def resolve_condition(self, text: str, fuzzy: bool = True) -> Match | None:
        return self.condition_index.resolve(text, fuzzy=fuzzy)

    def resolve_therapy(self, text: str, fuzzy: bool = True) -> Match | None:
        return self.therapy_index.resolve(text, fuzzy=fuzzy)

    def drugs_by_rxnorm(self, code: str) -> tuple[str, ...]:
        return self.rxnorm_index.get(code.strip(), ())

    # ----- structure -------------------------------------------------------
    def ingredients(self, drug_id: str) -> tuple[str, ...]:
        """A combination product's components, or the drug itself."""
        drug = self.drugs[drug_id]
        return tuple(drug.components) if drug.components else (drug_id,)

    def drug_classes(self, drug_id: str) -> frozenset[str]:
        drug = self.drugs[drug_id]
        classes = set(drug.classes)
        for part in drug.components:
            if part in self.drugs:
                classes.update(self.drugs[part].classes)
        return frozenset(classes)

    def expand_conditions(self, ids: Iterable[str]) -> frozenset[str]:
        """The conditions with everything they imply (severe hepatic impairment implies hepatic impairment)."""
        seen: set[str] = set()
        stack = list(ids)
        while stack:
            cid = stack.pop()
            if cid in seen:
                continue
            seen.add(cid)
            condition = self.conditions.get(cid)
            if condition:
                stack.extend(condition.implies)
        return frozenset(seen)

    def dosing(self, drug_id: str, population: str, formulation: str = "oral") -> DosingRule | None:
        drug = self.drugs.get(drug_id)
        if drug is None:
            return None
        for rule in drug.dosing:
            if rule.population == population and rule.formulation == formulation:
                return rule
        return None

    def plan_for(self, setting: str, phase: str) -> Plan | None:
        return self.plans.get((setting, phase))

    # ----- text ------------------------------------------------------------
    def render(self, text: str) -> str:
        return render(text, self)

    def statement_text(self, statement: Statement, audience: str = "clinician") -> str:
        text = statement.patient if audience == "patient" and statement.patient else statement.clinician
        return self.render(text)

    @cached_property
    def last_reviewed(self) -> dt.date | None:
        dates = [s.review.last_reviewed for s in self.statements.values() if s.review.last_reviewed]
        return max(dates) if dates else None


class _Pickled:
    """A field that the pack cache left pickled: unpickled on first use into the instance's ``__dict__``.

    A non-data descriptor set on the class after ``@dataclass`` (so it is no default): a value in the
    instance's ``__dict__`` (any knowledge base built from YAML, or this field once loaded) wins over it.
    A class ``__getattr__`` would do the same but slow down every attribute read of the knowledge base.
    """

    def __init__(self, name: str):
        self.name = name

    def __get__(self, kb: KnowledgeBase | None, owner: type | None = None) -> Any:
        if kb is None:
            return self
        values = kb.__dict__
        lazy = values.get("_lazy_fields")
        if not lazy or self.name not in lazy:
            raise AttributeError(f"{type(kb).__name__!r} object has no attribute {self.name!r}")
        import pickle

        with _LAZY_LOCK:
            if self.name not in values:
                values[self.name] = pickle.loads(lazy[self.name])
        return values[self.name]


for _name in LAZY_FIELDS:
    setattr(KnowledgeBase, _name, _Pickled(_name))


D = TypeVar("D")
_DERIVED: dict[tuple[int, str], tuple[KnowledgeBase, Any]] = {}
_DERIVED_LOCK = threading.Lock()


def derived(kb: KnowledgeBase, name: str, build: Callable[[KnowledgeBase], D]) -> D:
    """``build(kb)``, computed once per knowledge-base object and ``name`` (indexes and compiled patterns
    that the checks derive from the pack). Only a handful of packs live at once (tests, editorial reloads)."""
    hit = _DERIVED.get((id(kb), name))
    if hit is not None and hit[0] is kb:
        return hit[1]
    with _DERIVED_LOCK:
        value = build(kb)
        if len(_DERIVED) > 32:
            _DERIVED.clear()
        _DERIVED[(id(kb), name)] = (kb, value)
        return value
