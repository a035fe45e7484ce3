"""Dose per administration, doses per day and daily dose against the drug's adult dosing rule.

Also the entry-error guard: a single dose above ``policy.implausible_dose_factor`` times the
adult single-dose maximum, or a dose that is not a mass, is ``implausible-dose`` (critical)
and is never converted or checked further.
"""

from __future__ import annotations

from clinguide.checks.base import CheckContext
from clinguide.clinical.sig import fmt
from clinguide.contracts import SuggestedOrder
from clinguide.kb.models import DosingRule

BASIS_WORDS = {
    "label": "the label maximum",
    "top-of-labelled-range": "the top of the labelled range — the label gives no stated maximum daily dose",
    "compendium": "a drug-compendium figure, not a label maximum",
    "criteria": "a figure from prescribing criteria, not a label maximum",
    "regulator": "the regulator's figure",
}


def max_doses_per_day(rule: DosingRule) -> tuple[float | None, str]:
    """The most doses a day a rule allows, and how that was found."""
    if rule.doses_per_day is not None:
        return float(rule.doses_per_day.max), f"at most {rule.doses_per_day.max} doses a day"
    if rule.interval_hours is not None and rule.interval_hours.min > 0:
        n = 24.0 / rule.interval_hours.min
        return n, f"no more often than every {fmt(rule.interval_hours.min)} hours ({fmt(n)} doses a day)"
    return None, ""


def daily_limit(rule: DosingRule) -> tuple[float | None, str]:
    """The daily limit of a rule and its basis in words (a derived limit says it is derived)."""
    if rule.max_daily_mg is not None:
        return rule.max_daily_mg, BASIS_WORDS.get(rule.max_daily_basis or "label", "the label maximum")
    per_day, _ = max_doses_per_day(rule)
    if rule.single_dose_mg is not None and per_day is not None:
        limit = rule.single_dose_mg.max * per_day
        return limit, (
            f"derived from the largest single dose × the most doses a day ({fmt(rule.single_dose_mg.max)} mg × "
            f"{fmt(per_day)}); no daily maximum is stated"
        )
    return None, ""


def has_limits(rule: DosingRule) -> bool:
    return bool(rule.single_dose_mg or rule.max_daily_mg or rule.doses_per_day or rule.interval_hours)


def exceedances(ctx: CheckContext, rule: DosingRule) -> list[str]:
    """How the order goes beyond a dosing rule, one phrase per limit exceeded."""
    o = ctx.order.normalised
    out: list[str] = []
    if o.dose_mg is not None and rule.single_dose_mg is not None and o.dose_mg > rule.single_dose_mg.max + 1e-9:
        out.append(f"single dose {fmt(o.dose_mg)} mg is above {fmt(rule.single_dose_mg.max)} mg")
    per_day, how = max_doses_per_day(rule)
    if o.doses_per_day is not None and per_day is not None and o.doses_per_day > per_day + 1e-9:
        out.append(f"{fmt(o.doses_per_day)} doses a day is more than {how}")
    limit, basis = daily_limit(rule)
    if o.daily_mg is not None and limit is not None and o.daily_mg > limit + 1e-9:
        out.append(f"daily dose {fmt(o.daily_mg)} mg is above {fmt(limit)} mg a day ({basis})")
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
    if prepared.dose.kind == "non-mass":
        tablets = prepared.units_per_dose is not None
        ctx.add(
            "implausible-dose", "warning" if tablets else "critical",
            "Dose in tablets without a strength: not checked" if tablets
            else "Dose is not a mass (mg) and cannot be checked",
            f"The dose '{prepared.dose.text}' is given in '{prepared.dose.unit}', which is not a mass. "
            f"Doses of {drug.name} are checked in mg; a volume, tablet count or unit count is not converted "
            "because the strength is not known.",
            sources, suggestion="Write the dose in mg (for example '5 mg'), or the tablet strength with the count.",
        )
        return
    if prepared.unit_assumed and o.dose_mg is not None:
        ctx.add(
            "dose-unit-assumed", "info", "Dose without a unit read as mg",
            f"The dose '{fmt(o.dose_mg)}' was written without a unit; doses of {drug.name} are given in mg, so it "
            f"was read as {fmt(o.dose_mg)} mg and checked as such.",
            sources, suggestion=f"Write the unit: '{fmt(o.dose_mg)} mg'.",
        )
    if adult is None or not has_limits(adult):
        if drug.role == "agent":
            detail = (f"{drug.name} is recognised for interaction checks but has no monograph in the knowledge "
                      "pack: its dose, frequency and daily dose were not checked.")
        elif adult is None:
            detail = (f"The knowledge pack has no adult dosing rule for {drug.name} by the "
                      f"'{prepared.formulation}' route/formulation: the dose was not checked.")
        else:
            detail = f"The adult dosing rule for {drug.name} states no sourced dose limits: the dose was not checked."
        ctx.add("missing-data", "warning", "Dose not checked: no sourced dose limits", detail, sources)
        return
    assert o.dose_mg is not None
    single = adult.single_dose_mg
    factor = ctx.kb.policy.implausible_dose_factor
    if single is not None and o.dose_mg > factor * single.max:
        ctx.add(
            "implausible-dose", "critical", "Implausible dose — probably an entry error",
            f"A single dose of {fmt(o.dose_mg)} mg is more than {fmt(factor)} × the adult maximum single dose of "
            f"{drug.name} ({fmt(single.max)} mg). Check the number and the unit.",
            sources,
            suggestion=f"Re-enter the dose; the adult single dose is {fmt(single.min)}–{fmt(single.max)} mg.",
        )
        return
    if single is not None and single.min > 0 and o.dose_mg < single.min / factor - 1e-9:
        ctx.add(
            "implausible-dose", "critical", "Implausibly small dose — probably an entry error",
            f"A single dose of {fmt(o.dose_mg)} mg is less than 1/{fmt(factor)} of the smallest adult dose of "
            f"{drug.name} ({fmt(single.min)} mg). Check the number and the unit (mg, not g or mcg?).",
            sources,
            suggestion=f"Re-enter the dose; the adult single dose is {fmt(single.min)}–{fmt(single.max)} mg.",
        )
        return
    critical = ctx.kb.policy.critical_dose_factor
    per_day = _int_or_none(o.doses_per_day)
    if single is not None and o.dose_mg > single.max + 1e-9:
        far = o.dose_mg > critical * single.max + 1e-9
        ctx.add(
            "dose-above-max", "critical" if far else "warning",
            "Single dose far above the maximum" if far else "Single dose above the maximum",
            f"{fmt(o.dose_mg)} mg per dose is above the adult maximum single dose of {drug.name}, "
            f"{fmt(single.max)} mg ({fmt(single.min)}–{fmt(single.max)} mg per dose)."
            + (f" It is more than {fmt(critical)} × the maximum: {ctx.kb.policy.critical_dose_rationale}" if far
               else ""),
            sources, suggestion=f"Use at most {fmt(single.max)} mg per dose.",
            suggested_order=SuggestedOrder(
                drug=drug.id, dose_mg=single.max, frequency=o.frequency, doses_per_day=per_day, days=o.days,
                text=f"{drug.name} {fmt(single.max)} mg" + (f" {o.frequency}" if o.frequency else "")
                + (f" for {o.days} days" if o.days else ""),
            ),
        )
    if o.doses_per_day is None:
        ctx.add(
            "missing-data", "info", "Frequency not given: doses per day and daily dose not checked",
            "The order states no frequency, so the number of doses a day and the daily dose could not be checked.",
            sources, suggestion="Add a frequency such as 'TID', 'q8h' or 'at bedtime'.",
        )
        return
    max_per_day, how = max_doses_per_day(adult)
    if max_per_day is not None and o.doses_per_day > max_per_day + 1e-9:
        ctx.add(
            "frequency-above-max", "warning", "More doses a day than the label allows",
            f"{o.frequency or 'The frequency'} gives {fmt(o.doses_per_day)} doses a day; the adult rule for "
            f"{drug.name} allows {how}.",
            sources, suggestion=f"Give {drug.name} {how}.",
        )
    limit, basis = daily_limit(adult)
    if limit is not None and o.daily_mg is not None and o.daily_mg > limit + 1e-9:
        far = o.daily_mg > critical * limit + 1e-9
        detail = (f"{fmt(o.dose_mg)} mg × {fmt(o.doses_per_day)} doses/day = {fmt(o.daily_mg)} mg/day, above "
                  f"{fmt(limit)} mg/day for {drug.name}. The limit is {basis}.")
        if far:
            detail += (f" At {fmt(o.daily_mg / limit)} × the limit it is more than {fmt(critical)} × the maximum: "
                       f"{ctx.kb.policy.critical_dose_rationale}")
        ctx.add(
            "daily-dose-above-max", "critical" if far else "warning",
            "Daily dose far above the maximum" if far else "Daily dose above the maximum",
            detail, sources, suggestion=f"Keep the total at or below {fmt(limit)} mg a day.",
        )


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
        limit, basis = daily_limit(rule)
        if rule.single_dose_mg is not None and high > rule.single_dose_mg.max + 1e-9:
            ctx.add("dose-above-max", "warning", f"{name} dose above the maximum",
                    f"{drug.name}: up to {fmt(high)} mg of {name} per dose, above its adult maximum single dose of "
                    f"{fmt(rule.single_dose_mg.max)} mg.", list(rule.sources))
        if o.doses_per_day is None or limit is None:
            continue
        daily = high * o.doses_per_day
        if daily > limit + 1e-9:
            far = daily > ctx.kb.policy.critical_dose_factor * limit + 1e-9
            ctx.add("daily-dose-above-max", "critical" if far else "warning", f"{name} daily dose above the maximum",
                    f"{drug.name}: up to {fmt(high)} mg of {name} × {fmt(o.doses_per_day)} doses/day = {fmt(daily)} "
                    f"mg/day, above {fmt(limit)} mg/day ({basis}). Count {name} from every other product too.",
                    list(rule.sources), suggestion=f"Keep {name} at or below {fmt(limit)} mg a day from all sources.")
    if unchecked:
        ctx.add("missing-data", "warning", "Dose not checked for part of a combination product",
                f"{drug.name} holds {', '.join(unchecked)}, which the knowledge pack has no sourced dose limits for: "
                "that part of the dose was not checked.", ctx.drug_sources())
