"""Contraindicated and cautionary conditions, substance use history and allergy."""

from __future__ import annotations

from clinguide.checks.base import CheckContext
from clinguide.checks.population import apply_condition_rule


def run(ctx: CheckContext) -> None:
    drug = ctx.drug
    if drug is None:
        return
    for rule in drug.condition_rules:
        if rule.code not in ctx.kb.policy.finding_groups.population:
            apply_condition_rule(ctx, rule)
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
            ctx.say("allergy.drug", "allergy", "critical", sources, text=text, names=names,
                    hypersensitivity=fact.text if fact else "", drug=drug.name)
    for text, class_id in ctx.case.allergy_classes:
        if class_id in classes:
            cls = ctx.kb.classes[class_id]
            ctx.say("allergy.class", "allergy", "warning", [*sources, *cls.sources], text=text, drug=drug.name,
                    class_name=cls.name, class_name_lower=cls.name.lower(),
                    hypersensitivity=fact.text if fact else "")
