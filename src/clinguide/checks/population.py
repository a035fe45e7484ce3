"""Older adults (the drug's ``older_adults`` rule, age from policy), older-adult dosing,
pregnancy, hepatic and renal impairment (condition rules and population dosing rules)."""

from __future__ import annotations

from clinguide.checks.base import SEVERITY_RANK, CheckContext, start_order
from clinguide.checks.dose import exceedances
from clinguide.clinical.case import PREGNANCY_CONDITION
from clinguide.kb.models import ConditionRule


def condition_names(ctx: CheckContext, ids: list[str] | set[str]) -> str:
    return ", ".join(ctx.kb.conditions[c].name if c in ctx.kb.conditions else c for c in sorted(ids))


def apply_condition_rule(ctx: CheckContext, rule: ConditionRule) -> bool:
    """Emit a condition rule if the case has one of its conditions; False if it did not apply.

    The title is the pack's wording ``condition.<rule code>``; the detail is the rule's own text.
    """
    matched = set(rule.conditions) & ctx.case.conditions
    if not matched:
        return False
    if _covered_by_stronger_rule(ctx, rule, matched):
        return True  # one finding per problem: "contraindicated: severe renal impairment" says it already
    if rule.min_age is not None:
        if ctx.age is None:
            ctx.say("condition.age-missing", "missing-data", "info", rule.sources,
                    conditions=condition_names(ctx, matched), min_age=rule.min_age)
            return False
        if ctx.age < rule.min_age:
            return False
    ctx.say(f"condition.{rule.code}", rule.code, rule.severity, rule.sources, detail=rule.text,
            suggestion=rule.suggestion, conditions=condition_names(ctx, matched))
    return True


def _covered_by_stronger_rule(ctx: CheckContext, rule: ConditionRule, matched: set[str]) -> bool:
    """A more severe rule of the same drug fires for a condition that implies every condition this one matched
    (severe renal impairment implies renal impairment): the milder finding would repeat the same problem."""
    drug = ctx.drug
    if drug is None:
        return False
    for other in drug.condition_rules:
        if other is rule or SEVERITY_RANK.get(other.severity, 0) <= SEVERITY_RANK.get(rule.severity, 0):
            continue
        if other.min_age is not None and (ctx.age is None or ctx.age < other.min_age):
            continue
        other_matched = set(other.conditions) & ctx.case.conditions
        if other_matched and not (matched & other_matched) and matched <= ctx.kb.expand_conditions(other_matched):
            return True
    return False


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
        ctx.say("population.pediatric-dosing", "pediatric-dosing", "info", sources, age=f"{age:g}",
                from_age=rule.adult_dosing_from_age, adult_age=adult_age, rule_text=rule.text)
        return
    rule_text = rule.text if rule is not None else ctx.kb.phrase("population.no-pediatric-rule", drug=drug.name)
    ctx.say("population.pediatric-not-assessed", "pediatric-not-assessed", "warning", sources, age=f"{age:g}",
            adult_age=adult_age, rule_text=rule_text, drug=drug.name)


def _older_adult_rule(ctx: CheckContext, older: bool | None, days: int | None) -> None:
    """The drug's older-adult rule (Beers): asked for when age is missing, applied from the policy's age."""
    drug, policy = ctx.drug, ctx.kb.policy
    assert drug is not None and drug.older_adults is not None
    rule = drug.older_adults
    sources = [*rule.sources, *policy.older_adult_sources]
    if older is None:
        ctx.say("population.age-missing-older-adult", "missing-data", "info", sources, drug=drug.name,
                older_adult_age=policy.older_adult_min_age)
        return
    if not older:
        return
    geriatric = ctx.dosing("older-adult")
    parts = [ctx.kb.phrase(tid, **{key: value}) for tid, key, value in (
        ("population.evidence-quality", "quality", rule.quality),
        ("population.evidence-strength", "strength", rule.strength)) if value]
    strength = ctx.kb.phrase("population.evidence", parts="; ".join(parts)) if parts else ""
    # a formulation's own older-adult note (e.g. Amrix: not to be used in the elderly)
    note = geriatric.note if geriatric and geriatric.note and ctx.order.formulation != "oral" else ""
    template = "population.older-adult-avoid" if rule.recommendation == "avoid" else "population.older-adult-caution"
    ctx.say(template, "geriatric-avoid", rule.severity, sources, suggestion=rule.suggestion,
            suggested_order=start_order(ctx.kb, drug, geriatric, days) if geriatric else None, drug=drug.name,
            age=f"{ctx.age:g}", older_adult_age=policy.older_adult_min_age, rule_text=rule.text,
            strength=strength, note=note)


def run(ctx: CheckContext) -> None:
    drug = ctx.drug
    if drug is None:
        return
    _pediatric(ctx)
    days = ctx.order.normalised.days
    if drug.older_adults is not None:
        _older_adult_rule(ctx, ctx.older_adult, days)
    mass_dose = ctx.order.dose is not None and ctx.order.dose.kind == "mass"
    if ctx.older_adult and mass_dose:
        _older_adult_dose(ctx, days)
    fired = {rule.code for rule in drug.condition_rules
             if rule.code in ctx.kb.policy.finding_groups.population and apply_condition_rule(ctx, rule)}
    _pregnancy(ctx, fired)
    if mass_dose:
        _impairment_dosing(ctx, days)


def _older_adult_dose(ctx: CheckContext, days: int | None) -> None:
    """A dose above the older-adult dosing rule."""
    drug, geriatric = ctx.drug, ctx.dosing("older-adult")
    assert drug is not None
    over = exceedances(ctx, geriatric) if geriatric is not None else []
    if geriatric is None or not over:
        return
    ctx.say("population.older-adult-dose-high", "geriatric-dose-high", "warning",
            [*geriatric.sources, *ctx.kb.policy.older_adult_sources], suggestion=geriatric.start,
            suggested_order=start_order(ctx.kb, drug, geriatric, days), drug=drug.name,
            over="; ".join(over), start=geriatric.start or "", note=geriatric.note or "")


def _pregnancy(ctx: CheckContext, fired: set[str]) -> None:
    """The drug's pregnancy fact, and what to ask when pregnancy status or gestational age is missing."""
    drug, case = ctx.drug, ctx.case.case
    assert drug is not None
    fact = drug.pregnancy
    rules = [r for r in drug.condition_rules if r.code == "pregnancy"]
    if case.pregnant and "pregnancy" not in fired and fact is not None:
        ctx.say("population.pregnancy", "pregnancy", "info", fact.sources, text=fact.text)
    unasked = case.pregnant is None and PREGNANCY_CONDITION not in ctx.case.conditions
    if unasked and (rules or fact is not None) and pregnancy_possible(ctx):
        sources = fact.sources if fact else rules[0].sources
        ctx.say("population.pregnancy-status-missing", "missing-data", "info", sources, drug=drug.name)
    if PREGNANCY_CONDITION in ctx.case.conditions and ctx.case.gestational_weeks is None:
        _gestation_missing(ctx, rules)


def _gestation_missing(ctx: CheckContext, rules: list[ConditionRule]) -> None:
    """Pregnant, weeks unknown, and the drug has rules for a stage of pregnancy: ask for the weeks."""
    assert ctx.drug is not None
    stage_rules = [r for r in rules if _stage_rule_unplaced(r, ctx.case.conditions)]
    if not stage_rules:
        return
    ctx.say("population.gestation-missing", "missing-data", "warning",
            [s for r in stage_rules for s in r.sources], drug=ctx.drug.name,
            conditions=condition_names(ctx, {c for r in stage_rules for c in r.conditions}))


def _stage_rule_unplaced(rule: ConditionRule, conditions: set[str] | frozenset[str]) -> bool:
    """A rule for a stage of pregnancy (a condition besides pregnancy itself) the case does not place."""
    return bool(set(rule.conditions) - {PREGNANCY_CONDITION}) and not set(rule.conditions) & conditions


def _impairment_dosing(ctx: CheckContext, days: int | None) -> None:
    """A dose above a hepatic or renal impairment dosing rule the case's conditions select."""
    drug = ctx.drug
    assert drug is not None
    for population, code in ctx.kb.policy.impairment_populations.items():
        rule = ctx.dosing(population) if population in ctx.case.conditions else None
        over = exceedances(ctx, rule) if rule is not None else []
        if rule is None or not over:
            continue
        condition = condition_names(ctx, {population})
        ctx.say("population.impairment-dose-high", code, "warning", rule.sources, suggestion=rule.start,
                suggested_order=start_order(ctx.kb, drug, rule, days), condition=condition,
                condition_lower=condition.lower(), over="; ".join(over), note=rule.note or "")
