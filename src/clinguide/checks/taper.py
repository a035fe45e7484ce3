"""Taper needed after a course longer than the drug's ``taper.needed_after_days``, with a schedule.

The schedule is computed from the pack's taper pace: from the ordered daily dose, each step
removes ``reduce_fraction`` × the starting daily dose and lasts ``step_days``; each level is
rounded to the nearest half mg (never below half a mg before stopping).
"""

from __future__ import annotations

from clinguide.checks.base import CheckContext
from clinguide.clinical.sig import fmt


def round_half(value: float) -> float:
    return round(value * 2) / 2


def schedule(daily_mg: float, reduce_fraction: float, step_days: int) -> list[tuple[int, int, float]]:
    """(first day, last day, mg/day) steps after the course ends; the day after the last step, stop."""
    step = daily_mg * reduce_fraction
    steps: list[tuple[int, int, float]] = []
    level = daily_mg
    last = daily_mg
    k = 0
    while k < 100:
        k += 1
        level = daily_mg - step * k
        rounded = round_half(level)
        if rounded <= 0 or level <= 1e-9:
            break
        if rounded >= last:  # too small a step to show at half-mg precision: go down half a mg
            rounded = last - 0.5
            if rounded <= 0:
                break
        start = len(steps) * step_days + 1
        steps.append((start, start + step_days - 1, rounded))
        last = rounded
    return steps


def describe(steps: list[tuple[int, int, float]], step_days: int) -> str:
    parts = [f"days {a}–{b}: {fmt(mg)} mg/day" for a, b, mg in steps]
    stop_day = (steps[-1][1] + 1) if steps else 1
    parts.append(f"day {stop_day}: stop")
    return "; ".join(parts)


def run(ctx: CheckContext) -> None:
    drug = ctx.drug
    if drug is None or drug.taper is None or ctx.order.dose is None:
        return
    taper = drug.taper
    o = ctx.order.normalised
    if o.days is None:
        return  # duration.py reports the missing course length
    if o.days <= taper.needed_after_days:
        return
    if o.daily_mg is None:
        ctx.add("missing-data", "info", "Taper schedule not computed",
                f"A course of {o.days} days of {drug.name} needs a gradual taper, but the daily dose is unknown "
                "(no frequency or no dose in mg), so no schedule could be computed.", taper.sources)
        return
    steps = schedule(o.daily_mg, taper.reduce_fraction, taper.step_days)
    pct = fmt(taper.reduce_fraction * 100)
    step_mg = o.daily_mg * taper.reduce_fraction
    detail = (
        f"{o.days} days of {drug.name} is longer than {taper.needed_after_days} days: do not stop abruptly. "
        f"From {fmt(o.daily_mg)} mg/day, reduce by {pct}% of the starting daily dose ({fmt(step_mg)} mg/day) every "
        f"{taper.step_days} days, counted from the end of the course: {describe(steps, taper.step_days)}. "
        f"{taper.text}"
    )
    ctx.add("taper-needed", "info", "Taper needed when stopping", detail, taper.sources,
            suggestion=f"Plan the taper: {describe(steps, taper.step_days)}.")
