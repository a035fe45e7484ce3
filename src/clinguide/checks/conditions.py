"""Contraindicated and cautionary conditions, substance use history and allergy."""

from __future__ import annotations

from clinguide.checks.base import CheckContext
from clinguide.checks.population import POPULATION_CODES, apply_condition_rule

_TITLES = {
    "contraindicated-condition": "Contraindicated condition",
    "caution-condition": "Condition needing caution",
    "substance-use-history": "Substance use history",
}


def run(ctx: CheckContext) -> None:
    drug = ctx.drug
    if drug is None:
        return
    for rule in drug.condition_rules:
        if rule.code not in POPULATION_CODES:
            apply_condition_rule(ctx, rule, _TITLES.get(rule.code, rule.code))
    _allergy(ctx)


def _allergy(ctx: CheckContext) -> None:
    drug = ctx.drug
    assert drug is not None
    ingredients = ctx.index.ingredients.get(drug.id, frozenset({drug.id}))
    classes = ctx.index.classes.get(drug.id, frozenset())
    fact = drug.hypersensitivity
    sources = list(fact.sources) if fact else ctx.drug_sources()
    for text, allergen in ctx.case.allergy_drugs:
        allergen_parts = ctx.index.ingredients.get(allergen, frozenset({allergen}))
        if ingredients & allergen_parts:
            names = ", ".join(ctx.kb.drugs[i].name for i in sorted(ingredients & allergen_parts) if i in ctx.kb.drugs)
            detail = f"The patient is recorded as allergic to '{text}', which is or contains {names}."
            if fact:
                detail += f" {fact.text}"
            ctx.add("allergy", "critical", f"Allergy to {names}", detail, sources,
                    suggestion=f"Do not prescribe {drug.name}; choose an agent the patient is not allergic to.")
    for text, class_id in ctx.case.allergy_classes:
        if class_id in classes:
            cls = ctx.kb.classes[class_id]
            ctx.add("allergy", "warning", f"Allergy to a {cls.name.lower()}",
                    f"The patient is recorded as allergic to '{text}'; {drug.name} belongs to the class "
                    f"'{cls.name}'. {fact.text if fact else ''}",
                    [*sources, *cls.sources],
                    suggestion="Confirm the nature of the allergy before prescribing a drug of the same class.")
