"""One coherent "safer order" per check result, and only one that passes its own check.

Each check family may propose an order (the older-adult start, the duration limit, a setting
alternative); on their own they can contradict each other. Here the proposals are merged
into one order within every limit that applies to this patient (adult, older-adult, hepatic
or renal dosing, duration), or the setting's alternative drug, and the candidate is run
through ``check`` for the same patient: it is offered only if that gives no critical finding
and no dose above the patient's limits. The findings then carry that same order or none.
"""

from __future__ import annotations

import math

from clinguide.checks.base import CheckContext, as_order, suggest
from clinguide.checks.dose import daily_cap, doses_per_day_cap
from clinguide.contracts import Finding, SuggestedOrder
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.kb.models import DosingRule

__all__ = ["apply", "as_order", "choose", "over_limit", "within_limits"]


def over_limit(findings: list[Finding], kb: KnowledgeBase | None = None) -> list[Finding]:
    """Findings that say an order goes beyond a critical stop or a dose limit for this patient.

    An impairment finding counts only when it is about the dose (worded by the pack's
    ``population.impairment-dose-high``), not when it is about the condition alone.
    """
    if kb is None:
        from clinguide.kb import get_kb

        kb = get_kb()
    policy = kb.policy
    impairment_codes = set(policy.impairment_populations.values())
    dose_title = kb.finding_texts["population.impairment-dose-high"].title or ""
    dose_prefix = dose_title.split("{")[0]
    return [f for f in findings if f.severity == "critical" or f.code in policy.finding_groups.over_limit
            or (f.code in impairment_codes and f.title.startswith(dose_prefix))]


def _rules(ctx: CheckContext) -> list[DosingRule]:
    rules = [r for r in (ctx.dosing("adult"),) if r]
    if ctx.older_adult:
        rules += [r for r in (ctx.dosing("older-adult"),) if r]
    rules += [r for p in ctx.kb.policy.impairment_populations if p in ctx.case.conditions
              for r in (ctx.dosing(p),) if r]
    return rules


def within_limits(ctx: CheckContext) -> SuggestedOrder | None:
    """The ordered drug at the strictest limits that apply to this patient (None if nothing to offer)."""
    from clinguide.checks.dose import exceedances

    drug, o = ctx.drug, ctx.order.normalised
    if drug is None or o.dose_mg is None or o.doses_per_day is None:
        return None
    rules = [r for r in _rules(ctx) if r.single_dose_mg or r.max_daily_mg or r.doses_per_day]
    if not rules:
        return None
    limit_days = drug.duration_limit.days if drug.duration_limit else None
    days = min(o.days, limit_days) if o.days and limit_days else (o.days or limit_days)
    special = [r for r in rules if r.population != "adult" and r.single_dose_mg]
    if any(exceedances(ctx, r) for r in special):
        dose, per_day = _special_start(special, o.doses_per_day)
    else:
        dose, per_day = _capped(rules, o.dose_mg, o.doses_per_day)
    if per_day < 1 or dose <= 0:
        return None
    return suggest(ctx.kb, drug, dose, per_day, days, prn=o.prn)


def _special_start(special: list[DosingRule], ordered_per_day: float) -> tuple[float, int]:
    """The start of the strictest population rule (older adult, impairment) the order goes beyond."""
    rule = min(special, key=lambda r: r.single_dose_mg.max if r.single_dose_mg else math.inf)
    assert rule.single_dose_mg is not None
    per_day = rule.doses_per_day.min if rule.doses_per_day else None
    if per_day is None:
        per_day = max(1, min(int(doses_per_day_cap(rule) or 1), int(ordered_per_day)))
    return rule.single_dose_mg.min, per_day


def _capped(rules: list[DosingRule], dose_mg: float, ordered_per_day: float) -> tuple[float, int]:
    """The order brought within every rule's single-dose, doses-a-day and daily caps (half-mg steps)."""
    dose = min([dose_mg] + [r.single_dose_mg.max for r in rules if r.single_dose_mg])
    per_day_caps = [c for c in (doses_per_day_cap(r) for r in rules) if c is not None]
    per_day = int(min([ordered_per_day, *per_day_caps]))
    cap = min([c for c in (daily_cap(r) for r in rules) if c is not None], default=None)
    if cap is not None and dose * per_day > cap + 1e-9:
        dose = math.floor(cap / per_day * 2) / 2
    return dose, per_day


def choose(ctx: CheckContext, findings: list[Finding]) -> SuggestedOrder | None:
    """The one safer order for this result, or None when the order is fine or nothing safe can be offered."""
    if not findings or not any(f.severity in ("warning", "critical") for f in findings):
        return None
    if any(f.code in ("unknown-drug", "unparseable-order") for f in findings):
        return None
    for candidate, other_drug in _candidates(ctx, findings):
        if _passes(ctx, candidate, other_drug):
            return candidate
    return None


def _candidates(ctx: CheckContext, findings: list[Finding]) -> list[tuple[SuggestedOrder, bool]]:
    """(order, is another drug): the setting's alternative drug first, else the order within limits."""
    candidates = [(f.suggested_order, True) for f in findings
                  if f.code == "not-recommended-setting" and f.suggested_order
                  and f.suggested_order.drug != ctx.order.drug_id]
    if any(f.severity == "critical" and f.code != "implausible-dose" for f in findings):
        return candidates
    same = within_limits(ctx)
    if same is not None and not any(f.code == "not-recommended-setting" for f in findings):
        candidates.append((same, False))
    return candidates


def _passes(ctx: CheckContext, candidate: SuggestedOrder, other_drug: bool) -> bool:
    """The candidate is a different order and its own check for this patient finds nothing over a limit."""
    from clinguide.checks.engine import check

    current = ctx.order.normalised
    order = as_order(candidate, prn=current.prn)
    if order is None:
        return False
    if not other_drug and (candidate.dose_mg, candidate.doses_per_day, candidate.days) == (
            current.dose_mg, current.doses_per_day, current.days):
        return False  # the same order again is no suggestion
    result = check(order, ctx.case.case, kb=ctx.kb, suggest=False, prepared_case=ctx.case)
    if over_limit(result.findings, ctx.kb):
        return False
    blocking = set(ctx.kb.policy.finding_groups.no_same_drug_suggestion)
    if not other_drug and any(f.code in blocking for f in result.findings):
        return False  # a new dose or course does not answer a problem about the patient
    return not (other_drug and any(f.code in ctx.kb.policy.finding_groups.about_patient for f in result.findings))


def apply(findings: list[Finding], suggested: SuggestedOrder | None) -> list[Finding]:
    """Findings that proposed an order now carry the one coherent order (or none)."""
    return [f.model_copy(update={"suggested_order": suggested}) if f.suggested_order is not None else f
            for f in findings]
