"""What every check family shares: the context it reads, the finding builder, the per-KB index."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clinguide.clinical.case import CaseContext
from clinguide.clinical.order import PreparedOrder
from clinguide.clinical.sig import fmt
from clinguide.contracts import Finding, SuggestedOrder
from clinguide.kb.knowledge import KnowledgeBase, derived
from clinguide.kb.models import DosingRule, Drug, InteractionRule, Selector
from clinguide.kb.placeholders import times_a_day

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
# Codes about the input itself; they may carry no pack source.
INPUT_ERROR_CODES = frozenset({"unknown-drug", "unparseable-order", "unknown-condition", "unknown-medication"})


@dataclass
class RuleIndex:
    rule: InteractionRule
    order_drugs: frozenset[str]
    order_classes: frozenset[str]
    other_drugs: frozenset[str]
    other_classes: frozenset[str]


@dataclass
class KBIndex:
    """Computed once per KnowledgeBase object: class membership, ingredients, interaction selectors."""

    classes: dict[str, frozenset[str]]
    ingredients: dict[str, frozenset[str]]
    rules: list[RuleIndex]
    class_sources: dict[str, list[str]]

    def matches(self, drug_id: str, drugs: frozenset[str], classes: frozenset[str]) -> bool:
        if drug_id in drugs or self.ingredients.get(drug_id, frozenset()) & drugs:
            return True
        return bool(self.classes.get(drug_id, frozenset()) & classes)


def _selector(sel: Selector) -> tuple[frozenset[str], frozenset[str]]:
    return frozenset(sel.drugs), frozenset(sel.classes)


def kb_index(kb: KnowledgeBase) -> KBIndex:
    return derived(kb, "check-index", _build_index)


def _build_index(kb: KnowledgeBase) -> KBIndex:
    rules = []
    for rule in kb.interactions:
        od, oc = _selector(rule.order)
        xd, xc = _selector(rule.other)
        rules.append(RuleIndex(rule, od, oc, xd, xc))
    return KBIndex(
        classes={d: kb.drug_classes(d) for d in kb.drugs},
        ingredients={d: frozenset(kb.ingredients(d)) | {d} for d in kb.drugs},
        rules=rules,
        class_sources={c.id: list(c.sources) for c in kb.classes.values()},
    )


@dataclass
class CheckContext:
    kb: KnowledgeBase
    order: PreparedOrder
    case: CaseContext
    index: KBIndex
    findings: list[Finding] = field(default_factory=list)

    @property
    def drug(self) -> Drug | None:
        return self.order.drug

    @property
    def age(self) -> float | None:
        return self.case.case.age

    @property
    def older_adult(self) -> bool | None:
        if self.case.case.age is None:
            return None
        return self.case.case.age >= self.kb.policy.older_adult_min_age

    def dosing(self, population: str) -> DosingRule | None:
        if self.drug is None:
            return None
        return self.kb.dosing(self.drug.id, population, self.order.formulation)

    def drug_sources(self, drug: Drug | None = None) -> list[str]:
        """Fallback sources for a drug: its own, else those of its classes."""
        drug = drug or self.drug
        if drug is None:
            return []
        if drug.sources:
            return list(drug.sources)
        out: list[str] = []
        for cls in sorted(self.index.classes.get(drug.id, frozenset())):
            out += [s for s in self.index.class_sources.get(cls, []) if s not in out]
        return out

    def add(
        self,
        code: str,
        severity: str,
        title: str,
        detail: str,
        sources: list[str] | None = None,
        suggestion: str | None = None,
        suggested_order: SuggestedOrder | None = None,
    ) -> Finding:
        finding = Finding(
            code=code,
            severity=severity,  # type: ignore[arg-type]
            title=title,
            detail=" ".join(detail.split()),
            suggestion=" ".join(suggestion.split()) if suggestion else None,
            sources=list(dict.fromkeys(sources or [])),
            suggested_order=suggested_order,
        )
        self.findings.append(finding)
        return finding

    def say(
        self,
        template_id: str,
        code: str,
        severity: str,
        sources: list[str] | None = None,
        /,
        *,
        detail: str | None = None,
        suggestion: str | None = None,
        suggested_order: SuggestedOrder | None = None,
        **fields: object,
    ) -> Finding:
        """Add a finding worded by the pack's template ``template_id`` (findings.yaml) with ``fields``.

        ``detail`` and ``suggestion`` given here (a rule's own text) take the place of the template's.
        """
        kb = self.kb
        template = kb.finding_texts.get(template_id)
        title = _not_repeated(kb.wording(template_id, "title", **fields))
        if detail is None:
            detail = kb.wording(template_id, "detail", **fields)
        if suggestion is None and template is not None and template.suggestion is not None:
            suggestion = kb.wording(template_id, "suggestion", **fields)
        return self.add(code, severity, title, detail, sources, suggestion=suggestion,
                        suggested_order=suggested_order)


def _not_repeated(title: str) -> str:
    """'Pregnancy: pregnancy' -> 'Pregnancy' (a template's heading filled with the same words)."""
    head, sep, rest = title.partition(": ")
    return head if sep and head.strip().lower() == rest.strip().lower() else title


def dose_words(dose_mg: float | None, doses_per_day: int | None) -> str:
    """'5 mg 3 times a day' (either part may be missing)."""
    parts = []
    if dose_mg is not None:
        parts.append(f"{fmt(dose_mg)} mg")
    if doses_per_day is not None:
        parts.append(times_a_day(doses_per_day))
    return " ".join(parts)


def suggest(kb: KnowledgeBase, drug: Drug, dose_mg: float | None, doses_per_day: int | None, days: int | None,
            *, frequency: str | None = None, prn: bool = False, up_to: bool = True) -> SuggestedOrder:
    """The one builder of a suggested order and its text (the phrases are the pack's ``order.*``).

    ``frequency`` keeps an order's own words (a limit applied to the order as written);
    without it the doses per day are worded the one way ('3 times a day').
    """
    words = frequency or (times_a_day(doses_per_day) if doses_per_day is not None else None)
    text = " ".join(p for p in (drug.name, f"{fmt(dose_mg)} mg" if dose_mg is not None else "", words or "") if p)
    if prn:
        text += kb.phrase("order.prn")
    if days:
        text += kb.phrase("order.up-to-days" if up_to else "order.days", days=days)
    return SuggestedOrder(drug=drug.id, dose_mg=dose_mg, frequency=words, doses_per_day=doses_per_day, days=days,
                          text=text)


def starting_dose(rule: DosingRule) -> tuple[float, int | None] | None:
    """The start of a dosing rule: its lowest single dose and fewest doses per day (None without a dose)."""
    if rule.single_dose_mg is None:
        return None
    per_day = rule.doses_per_day.min if rule.doses_per_day else None
    if per_day is None and rule.interval_hours:
        per_day = max(1, int(24 // rule.interval_hours.max))
    return rule.single_dose_mg.min, per_day


def start_order(kb: KnowledgeBase, drug: Drug, rule: DosingRule, days: int | None) -> SuggestedOrder | None:
    """A suggested order at the start of a dosing rule, for at most the drug's duration limit.

    Used by the checks (older-adult, impairment and setting suggestions) and by assess (its
    hypothetical orders), so both speak of the same order.
    """
    start = starting_dose(rule)
    if start is None:
        return None
    limit = drug.duration_limit.days if drug.duration_limit else None
    if days is not None and limit is not None:
        days = min(days, limit)
    elif days is None:
        days = limit
    return suggest(kb, drug, start[0], start[1], days)


def as_order(suggested: SuggestedOrder, prn: bool = False) -> dict[str, Any] | None:
    """The Order dict ``check`` reads for a suggested order (None without a dose or doses per day)."""
    if suggested.dose_mg is None or suggested.doses_per_day is None:
        return None
    order: dict[str, Any] = {"drug": suggested.drug, "dose": f"{fmt(suggested.dose_mg)} mg",
                             "frequency": times_a_day(suggested.doses_per_day), "prn": prn}
    if suggested.days:
        order["days"] = suggested.days
    return order
