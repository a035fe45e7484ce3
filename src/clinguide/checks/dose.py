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
    if prepared.dose.kind == "non-mass":
        ctx.add(
            "implausible-dose", "critical", "Dose is not a mass (mg) and cannot be checked",
            f"The dose '{prepared.dose.text}' is given in '{prepared.dose.unit}', which is not a mass. "
            f"Doses of {drug.name} are checked in mg; a volume, tablet count or unit count is not converted "
            "because the strength is not known.",
            sources, suggestion="Write the dose in mg (for example '5 mg'), or in g or mcg.",
        )
        return
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
    per_day = _int_or_none(o.doses_per_day)
    if single is not None and o.dose_mg > single.max + 1e-9:
        ctx.add(
            "dose-above-max", "warning", "Single dose above the maximum",
            f"{fmt(o.dose_mg)} mg per dose is above the adult maximum single dose of {drug.name}, "
            f"{fmt(single.max)} mg ({fmt(single.min)}–{fmt(single.max)} mg per dose).",
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
        ctx.add(
            "daily-dose-above-max", "warning", "Daily dose above the maximum",
            f"{fmt(o.dose_mg)} mg × {fmt(o.doses_per_day)} doses/day = {fmt(o.daily_mg)} mg/day, above "
            f"{fmt(limit)} mg/day for {drug.name}. The limit is {basis}.",
            sources, suggestion=f"Keep the total at or below {fmt(limit)} mg a day.",
        )
