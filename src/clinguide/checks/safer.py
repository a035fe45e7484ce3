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
from typing import Any

from clinguide.checks.base import CheckContext, dose_words
from clinguide.checks.dose import daily_cap, doses_per_day_cap
from clinguide.clinical.sig import fmt
from clinguide.contracts import Finding, SuggestedOrder
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.kb.models import DosingRule

FREQUENCY_WORDS = {1: "once daily", 2: "twice daily", 3: "three times daily", 4: "four times daily"}


def as_order(suggested: SuggestedOrder, prn: bool = False) -> dict[str, Any] | None:
    """The Order dict for a suggested order (None if it cannot be written as one)."""
    if suggested.dose_mg is None or suggested.doses_per_day not in FREQUENCY_WORDS:
        return None
    order: dict[str, Any] = {"drug": suggested.drug, "dose": f"{fmt(suggested.dose_mg)} mg",
                             "frequency": FREQUENCY_WORDS[suggested.doses_per_day], "prn": prn}
    if suggested.days:
        order["days"] = suggested.days
    return order


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


def _text(name: str, dose: float, per_day: int, days: int | None, prn: bool) -> str:
    return (f"{name} {dose_words(dose, per_day)}" + (" as needed" if prn else "")
            + (f" for up to {days} days" if days else ""))


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
        rule = min(special, key=lambda r: r.single_dose_mg.max if r.single_dose_mg else math.inf)
        assert rule.single_dose_mg is not None
        per_day = rule.doses_per_day.min if rule.doses_per_day else None
        if per_day is None:
            per_day = max(1, min(int(doses_per_day_cap(rule) or 1), int(o.doses_per_day)))
        dose = rule.single_dose_mg.min
    else:
        dose = min([o.dose_mg] + [r.single_dose_mg.max for r in rules if r.single_dose_mg])
        per_day_caps = [doses_per_day_cap(r) for r in rules]
        per_day = int(min([o.doses_per_day] + [c for c in per_day_caps if c is not None]))
        daily_caps = [daily_cap(r) for r in rules]
        cap = min([c for c in daily_caps if c is not None], default=None)
        if cap is not None and dose * per_day > cap + 1e-9:
            dose = math.floor(cap / per_day * 2) / 2
    if per_day < 1 or dose <= 0:
        return None
    return SuggestedOrder(drug=drug.id, dose_mg=dose, frequency=FREQUENCY_WORDS.get(per_day), doses_per_day=per_day,
                          days=days, text=_text(drug.name, dose, per_day, days, o.prn))


def choose(ctx: CheckContext, findings: list[Finding]) -> SuggestedOrder | None:
    """The one safer order for this result, or None when the order is fine or nothing safe can be offered."""
    from clinguide.checks.engine import check

    if not findings or not any(f.severity in ("warning", "critical") for f in findings):
        return None
    if any(f.code in ("unknown-drug", "unparseable-order") for f in findings):
        return None
    candidates: list[tuple[SuggestedOrder, bool]] = []
    for f in findings:
        if f.code == "not-recommended-setting" and f.suggested_order and f.suggested_order.drug != ctx.order.drug_id:
            candidates.append((f.suggested_order, True))
    if not any(f.severity == "critical" and f.code != "implausible-dose" for f in findings):
        same = within_limits(ctx)
        if same is not None and not any(f.code == "not-recommended-setting" for f in findings):
            candidates.append((same, False))
    current = ctx.order.normalised
    for candidate, other_drug in candidates:
        order = as_order(candidate, prn=current.prn)
        if order is None:
            continue
        if not other_drug and (candidate.dose_mg, candidate.doses_per_day, candidate.days) == (
                current.dose_mg, current.doses_per_day, current.days):
            continue  # the same order again is no suggestion
        result = check(order, ctx.case.case, kb=ctx.kb, suggest=False, prepared_case=ctx.case)
        if over_limit(result.findings, ctx.kb):
            continue
        if other_drug and any(f.code in ctx.kb.policy.finding_groups.about_patient for f in result.findings):
            continue
        return candidate
    return None


def apply(findings: list[Finding], suggested: SuggestedOrder | None) -> list[Finding]:
    """Findings that proposed an order now carry the one coherent order (or none)."""
    return [f.model_copy(update={"suggested_order": suggested}) if f.suggested_order is not None else f
            for f in findings]
