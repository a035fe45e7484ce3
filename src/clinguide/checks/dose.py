"""Dose per administration, doses per day and daily dose against the drug's adult dosing rule.

Also the entry-error guard: a single dose above ``policy.implausible_dose_factor`` times the
adult single-dose maximum, or a dose that is not a mass, is ``implausible-dose`` (critical)
and is never converted or checked further.
"""

from __future__ import annotations

from clinguide.checks.base import CheckContext, suggest
from clinguide.clinical.sig import fmt
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.kb.models import DosingRule


def doses_per_day_cap(rule: DosingRule) -> float | None:
    """The most doses a day a rule allows (from its doses per day, else its shortest interval)."""
    if rule.doses_per_day is not None:
        return float(rule.doses_per_day.max)
    if rule.interval_hours is not None and rule.interval_hours.min > 0:
        return 24.0 / rule.interval_hours.min
    return None


def daily_cap(rule: DosingRule) -> float | None:
    """The daily limit of a rule: its stated maximum, else the largest single dose × the most doses a day."""
    if rule.max_daily_mg is not None:
        return rule.max_daily_mg
    per_day = doses_per_day_cap(rule)
    if rule.single_dose_mg is not None and per_day is not None:
        return rule.single_dose_mg.max * per_day
    return None


def max_doses_per_day(rule: DosingRule, kb: KnowledgeBase) -> tuple[float | None, str]:
    """The most doses a day a rule allows, and how that was found (the pack's wording)."""
    per_day = doses_per_day_cap(rule)
    if rule.doses_per_day is not None:
        return per_day, kb.phrase("dose.allows-doses-per-day", max=rule.doses_per_day.max)
    if per_day is not None and rule.interval_hours is not None:
        return per_day, kb.phrase("dose.allows-interval", hours=fmt(rule.interval_hours.min), per_day=fmt(per_day))
    return None, ""


def daily_limit(rule: DosingRule, kb: KnowledgeBase) -> tuple[float | None, str]:
    """The daily limit of a rule and its basis in words (a derived limit says it is derived)."""
    limit = daily_cap(rule)
    if limit is None:
        return None, ""
    if rule.max_daily_mg is not None:
        return limit, kb.phrase(f"dose.basis.{rule.max_daily_basis or 'label'}")
    assert rule.single_dose_mg is not None
    return limit, kb.phrase("dose.basis-derived", max=fmt(rule.single_dose_mg.max),
                            per_day=fmt(doses_per_day_cap(rule) or 0))


def has_limits(rule: DosingRule) -> bool:
    return bool(rule.single_dose_mg or rule.max_daily_mg or rule.doses_per_day or rule.interval_hours)


def exceedances(ctx: CheckContext, rule: DosingRule) -> list[str]:
    """How the order goes beyond a dosing rule, one phrase per limit exceeded."""
    o, kb = ctx.order.normalised, ctx.kb
    out: list[str] = []
    if o.dose_mg is not None and rule.single_dose_mg is not None and o.dose_mg > rule.single_dose_mg.max + 1e-9:
        out.append(kb.phrase("dose.over-single", dose=fmt(o.dose_mg), max=fmt(rule.single_dose_mg.max)))
    per_day, how = max_doses_per_day(rule, kb)
    if o.doses_per_day is not None and per_day is not None and o.doses_per_day > per_day + 1e-9:
        out.append(kb.phrase("dose.over-per-day", per_day=fmt(o.doses_per_day), how=how))
    limit, basis = daily_limit(rule, kb)
    if o.daily_mg is not None and limit is not None and o.daily_mg > limit + 1e-9:
        out.append(kb.phrase("dose.over-daily", daily=fmt(o.daily_mg), limit=fmt(limit), basis=basis))
    return out


def _int_or_none(value: float | None) -> int | None:
    return int(value) if value is not None and float(value).is_integer() else None


def run(ctx: CheckContext) -> None:
    drug, prepared = ctx.drug, ctx.order
    o = prepared.normalised
    if drug is None or prepared.dose is None:
        return  # data.py reports why
    adult = ctx.dosing("adult")
    sources = list(adult.sources) if adult else ctx.drug_sources()
    if prepared.component_mg:
        _components(ctx)
        return
    if not _checkable(ctx, adult, sources) or adult is None:
        return
    assert o.dose_mg is not None
    single = adult.single_dose_mg
    if single is not None and _implausible(ctx, single.min, single.max, sources):
        return
    if single is not None and o.dose_mg > single.max + 1e-9:
        _single_above_max(ctx, single.min, single.max, sources)
    if o.doses_per_day is None:
        ctx.say("dose.frequency-missing", "missing-data", "info", sources)
        return
    _per_day_and_daily(ctx, adult, sources)


def _checkable(ctx: CheckContext, adult: DosingRule | None, sources: list[str]) -> bool:
    """A mass dose and a rule with limits; otherwise say why the dose was not checked."""
    drug, prepared = ctx.drug, ctx.order
    o = prepared.normalised
    assert drug is not None and prepared.dose is not None
    if prepared.dose.kind == "non-mass":
        tablets = prepared.units_per_dose is not None
        ctx.say("dose.tablets-without-strength" if tablets else "dose.not-mass", "implausible-dose",
                "warning" if tablets else "critical", sources, dose_text=prepared.dose.text,
                unit=prepared.dose.unit, drug=drug.name)
        return False
    if prepared.unit_assumed and o.dose_mg is not None:
        ctx.say("dose.unit-assumed", "dose-unit-assumed", "info", sources, dose=fmt(o.dose_mg), drug=drug.name)
    if adult is None or not has_limits(adult):
        template = ("dose.unchecked-agent" if drug.role == "agent"
                    else "dose.unchecked-no-rule" if adult is None else "dose.unchecked-no-limits")
        ctx.say(template, "missing-data", "warning", sources, drug=drug.name, formulation=prepared.formulation)
        return False
    return True


def _single_above_max(ctx: CheckContext, low: float, high: float, sources: list[str]) -> None:
    o, drug, policy = ctx.order.normalised, ctx.drug, ctx.kb.policy
    assert o.dose_mg is not None and drug is not None
    far = o.dose_mg > policy.critical_dose_factor * high + 1e-9
    ctx.say(
        "dose.single-far-above-max" if far else "dose.single-above-max",
        "dose-above-max", "critical" if far else "warning", sources,
        dose=fmt(o.dose_mg), drug=drug.name, max=fmt(high), min=fmt(low), factor=fmt(policy.critical_dose_factor),
        rationale=policy.critical_dose_rationale,
        suggested_order=suggest(ctx.kb, drug, high, _int_or_none(o.doses_per_day), o.days, frequency=o.frequency,
                                up_to=False),
    )


def _per_day_and_daily(ctx: CheckContext, adult: DosingRule, sources: list[str]) -> None:
    """Doses a day and the daily dose against the adult rule."""
    o, drug, policy = ctx.order.normalised, ctx.drug, ctx.kb.policy
    assert o.doses_per_day is not None and o.dose_mg is not None and drug is not None
    max_per_day, how = max_doses_per_day(adult, ctx.kb)
    if max_per_day is not None and o.doses_per_day > max_per_day + 1e-9:
        ctx.say("dose.frequency-above-max", "frequency-above-max", "warning", sources,
                frequency=o.frequency or ctx.kb.phrase("dose.the-frequency"), per_day=fmt(o.doses_per_day),
                drug=drug.name, how=how)
    limit, basis = daily_limit(adult, ctx.kb)
    if limit is None or o.daily_mg is None or o.daily_mg <= limit + 1e-9:
        return
    critical = policy.critical_dose_factor
    far = o.daily_mg > critical * limit + 1e-9
    ctx.say("dose.daily-far-above-max" if far else "dose.daily-above-max", "daily-dose-above-max",
            "critical" if far else "warning", sources, dose=fmt(o.dose_mg), per_day=fmt(o.doses_per_day),
            daily=fmt(o.daily_mg), limit=fmt(limit), drug=drug.name, basis=basis,
            times=fmt(o.daily_mg / limit), factor=fmt(critical), rationale=policy.critical_dose_rationale)


def _implausible(ctx: CheckContext, low: float, high: float, sources: list[str]) -> bool:
    """The entry-error guard: a single dose far outside the adult range is critical and checked no further."""
    o, drug = ctx.order.normalised, ctx.drug
    assert o.dose_mg is not None and drug is not None
    factor = ctx.kb.policy.implausible_dose_factor
    fields = {"dose": fmt(o.dose_mg), "factor": fmt(factor), "drug": drug.name, "min": fmt(low), "max": fmt(high)}
    if o.dose_mg > factor * high:
        ctx.say("dose.implausible-high", "implausible-dose", "critical", sources, **fields)
        return True
    if low > 0 and o.dose_mg < low / factor - 1e-9:
        ctx.say("dose.implausible-low", "implausible-dose", "critical", sources, **fields)
        return True
    return False


def _components(ctx: CheckContext) -> None:
    """A combination product ("Norco 5/325 1-2 tabs q6h"): each ingredient's dose against its own monograph."""
    drug, prepared = ctx.drug, ctx.order
    assert drug is not None
    o = prepared.normalised
    unchecked: list[str] = []
    for component, (_lo, high) in prepared.component_mg.items():
        part = ctx.kb.drugs.get(component)
        rule = ctx.kb.dosing(component, "adult") if part else None
        name = part.name if part else component
        if rule is None or not has_limits(rule):
            unchecked.append(name)
            continue
        limit, basis = daily_limit(rule, ctx.kb)
        if rule.single_dose_mg is not None and high > rule.single_dose_mg.max + 1e-9:
            ctx.say("dose.component-single-above-max", "dose-above-max", "warning", list(rule.sources),
                    name=name, drug=drug.name, dose=fmt(high), max=fmt(rule.single_dose_mg.max))
        if o.doses_per_day is None or limit is None:
            continue
        daily = high * o.doses_per_day
        if daily > limit + 1e-9:
            far = daily > ctx.kb.policy.critical_dose_factor * limit + 1e-9
            ctx.say("dose.component-daily-above-max", "daily-dose-above-max", "critical" if far else "warning",
                    list(rule.sources), name=name, drug=drug.name, dose=fmt(high), per_day=fmt(o.doses_per_day),
                    daily=fmt(daily), limit=fmt(limit), basis=basis)
    if unchecked:
        ctx.say("dose.component-unchecked", "missing-data", "warning", ctx.drug_sources(), drug=drug.name,
                names=", ".join(unchecked))
