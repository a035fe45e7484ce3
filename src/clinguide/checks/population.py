"""Older adults (the drug's ``older_adults`` rule, age from policy), older-adult dosing,
pregnancy, hepatic and renal impairment (condition rules and population dosing rules)."""

from __future__ import annotations

from clinguide.checks.base import CheckContext, start_order
from clinguide.checks.dose import exceedances
from clinguide.clinical.case import PREGNANCY_CONDITION
from clinguide.kb.models import ConditionRule

POPULATION_CODES = ("pregnancy", "hepatic-impairment", "renal-impairment")
# dosing populations that a case condition of the same id selects, and the finding code they give
IMPAIRMENT_POPULATIONS = {
    "hepatic-impairment": "hepatic-impairment",
    "severe-hepatic-impairment": "hepatic-impairment",
    "renal-impairment": "renal-impairment",
    "severe-renal-impairment": "renal-impairment",
}
_TITLES = {
    "pregnancy": "Pregnancy",
    "hepatic-impairment": "Hepatic impairment",
    "renal-impairment": "Renal impairment",
}


def condition_names(ctx: CheckContext, ids: list[str] | set[str]) -> str:
    return ", ".join(ctx.kb.conditions[c].name if c in ctx.kb.conditions else c for c in sorted(ids))


def apply_condition_rule(ctx: CheckContext, rule: ConditionRule, title: str) -> bool:
    """Emit a condition rule if the case has one of its conditions; False if it did not apply."""
    matched = set(rule.conditions) & ctx.case.conditions
    if not matched:
        return False
    if rule.min_age is not None:
        if ctx.age is None:
            ctx.add("missing-data", "info", "Age not given: an age-dependent condition check could not run",
                    f"A rule for {condition_names(ctx, matched)} applies from age {rule.min_age}; the case has no age.",
                    rule.sources)
            return False
        if ctx.age < rule.min_age:
            return False
    ctx.add(rule.code, rule.severity, f"{title}: {condition_names(ctx, matched)}", rule.text, rule.sources,
            suggestion=rule.suggestion)
    return True


def run(ctx: CheckContext) -> None:
    drug = ctx.drug
    if drug is None:
        return
    policy = ctx.kb.policy
    older = ctx.older_adult
    days = ctx.order.normalised.days
    # ---- older adults ----------------------------------------------------------
    if drug.older_adults is not None:
        rule = drug.older_adults
        sources = [*rule.sources, *policy.older_adult_sources]
        if older is None:
            ctx.add("missing-data", "info", "Age not given: older-adult check could not run",
                    f"{drug.name} has an older-adult rule from age {policy.older_adult_min_age}; the case has no age.",
                    sources, suggestion="Add the patient's age.")
        elif older:
            geriatric = ctx.dosing("older-adult")
            title = (f"{drug.name}: avoid in older adults" if rule.recommendation == "avoid"
                     else f"{drug.name}: use with caution in older adults")
            strength = "; ".join(x for x in (
                f"quality of evidence {rule.quality}" if rule.quality else "",
                f"strength {rule.strength}" if rule.strength else "") if x)
            detail = f"Age {ctx.age:g} (older-adult rules apply from {policy.older_adult_min_age}). {rule.text}"
            if strength:
                detail += f" ({strength}.)"
            ctx.add("geriatric-avoid", rule.severity, title, detail, sources, suggestion=rule.suggestion,
                    suggested_order=start_order(ctx, drug, geriatric, days) if geriatric else None)
    if older and ctx.order.dose is not None and ctx.order.dose.kind == "mass":
        geriatric = ctx.dosing("older-adult")
        if geriatric is not None:
            over = exceedances(ctx, geriatric)
            if over:
                detail = (f"For older adults the {drug.name} dosing rule is stricter: " + "; ".join(over) + ".")
                if geriatric.start:
                    detail += f" {geriatric.start}"
                if geriatric.note:
                    detail += f" {geriatric.note}"
                ctx.add("geriatric-dose-high", "warning", "Dose high for an older adult", detail,
                        [*geriatric.sources, *policy.older_adult_sources],
                        suggestion=geriatric.start or "Start at the older-adult dose.",
                        suggested_order=start_order(ctx, drug, geriatric, days))
    # ---- pregnancy, hepatic, renal: condition rules ----------------------------
    fired: set[str] = set()
    for rule in drug.condition_rules:
        if rule.code in POPULATION_CODES and apply_condition_rule(ctx, rule, _TITLES[rule.code]):
            fired.add(rule.code)
    case = ctx.case.case
    pregnancy_fact = drug.pregnancy
    has_pregnancy_rule = any(r.code == "pregnancy" for r in drug.condition_rules)
    if case.pregnant and "pregnancy" not in fired and pregnancy_fact is not None:
        ctx.add("pregnancy", "info", "Pregnancy", pregnancy_fact.text, pregnancy_fact.sources)
    if case.pregnant is None and case.sex != "male" and PREGNANCY_CONDITION not in ctx.case.conditions and (
        has_pregnancy_rule or pregnancy_fact is not None
    ):
        sources = pregnancy_fact.sources if pregnancy_fact else next(
            r.sources for r in drug.condition_rules if r.code == "pregnancy")
        ctx.add("missing-data", "info", "Pregnancy status not given: pregnancy check could not run",
                f"{drug.name} has pregnancy guidance; the case does not say whether the patient is pregnant.",
                sources, suggestion="Record 'pregnant: true/false' (or sex).")
    # ---- impairment dosing rules ------------------------------------------------
    if ctx.order.dose is not None and ctx.order.dose.kind == "mass":
        for population, code in IMPAIRMENT_POPULATIONS.items():
            if population not in ctx.case.conditions:
                continue
            rule = ctx.dosing(population)
            if rule is None:
                continue
            over = exceedances(ctx, rule)
            if over:
                detail = f"Dosing for {condition_names(ctx, {population})}: " + "; ".join(over) + "."
                if rule.note:
                    detail += f" {rule.note}"
                ctx.add(code, "warning", f"Dose high for {condition_names(ctx, {population}).lower()}", detail,
                        rule.sources, suggestion=rule.start, suggested_order=start_order(ctx, drug, rule, days))
