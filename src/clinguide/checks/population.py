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


def pregnancy_possible(ctx: CheckContext) -> bool:
    """Whether pregnancy is possible for this patient: sex not male and an age inside the policy window."""
    case = ctx.case.case
    if case.sex == "male":
        return False
    window = ctx.kb.policy.pregnancy_possible_ages
    return case.age is None or window is None or window.min <= case.age <= window.max


def _pediatric(ctx: CheckContext) -> None:
    """Under the adult age: the adult checks apply only from an age a sourced paediatric rule gives."""
    drug, age = ctx.drug, ctx.age
    assert drug is not None
    adult_age = ctx.kb.policy.adult_min_age
    if age is None or age >= adult_age:
        return
    rule = next((r for r in drug.pediatric if r.formulation == ctx.order.formulation), None)
    sources = [*(rule.sources if rule else []), *ctx.kb.policy.adult_min_age_sources]
    if rule is not None and rule.adult_dosing_from_age is not None and age >= rule.adult_dosing_from_age:
        ctx.add("pediatric-dosing", "info", f"Age {age:g}: adult dosing applies from {rule.adult_dosing_from_age}",
                f"The patient is under {adult_age}. {rule.text} The order was checked against the adult rule.",
                sources)
        return
    detail = f"The patient is {age:g} years old; the checks use adult dosing rules (from {adult_age})."
    if rule is not None:
        detail += f" {rule.text}"
    else:
        detail += f" The knowledge pack holds no paediatric rule for {drug.name}."
    ctx.add("pediatric-not-assessed", "warning", f"{drug.name} not assessed for a patient aged {age:g}",
            detail + " The order cannot be assessed by clinguide; a paediatric prescriber or pharmacist should "
            "check it.", sources, suggestion="Seek paediatric dosing advice; do not apply adult doses.")


def run(ctx: CheckContext) -> None:
    drug = ctx.drug
    if drug is None:
        return
    _pediatric(ctx)
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
            if geriatric and geriatric.note and ctx.order.formulation != "oral":
                detail += f" {geriatric.note}"  # e.g. Amrix: not to be used in the elderly
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
    if case.pregnant is None and pregnancy_possible(ctx) and PREGNANCY_CONDITION not in ctx.case.conditions and (
        has_pregnancy_rule or pregnancy_fact is not None
    ):
        sources = pregnancy_fact.sources if pregnancy_fact else next(
            r.sources for r in drug.condition_rules if r.code == "pregnancy")
        ctx.add("missing-data", "info", "Pregnancy status not given: pregnancy check could not run",
                f"{drug.name} has pregnancy guidance; the case does not say whether the patient is pregnant.",
                sources, suggestion="Record 'pregnant: true/false' (or sex).")
    stage_rules = [r for r in drug.condition_rules if r.code == "pregnancy"
                   and set(r.conditions) - {PREGNANCY_CONDITION} and not set(r.conditions) & ctx.case.conditions]
    if PREGNANCY_CONDITION in ctx.case.conditions and ctx.case.gestational_weeks is None and stage_rules:
        ctx.add("missing-data", "warning", "Gestational age not given: pregnancy-stage rules could not be checked",
                f"{drug.name} has rules that depend on the week of pregnancy "
                f"({condition_names(ctx, {c for r in stage_rules for c in r.conditions})}); the case says the "
                "patient is pregnant but not how many weeks.",
                [s for r in stage_rules for s in r.sources], suggestion="Add gestational_weeks.")
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
