"""How to stop a course, planned from the exposure: how long and how much (``taper-needed``).

The drug's ``taper.bands`` (shortest first) choose the plan: a short course at or below the
adult maximum daily dose gets "stop, or a brief step-down" that is shorter than the course; a
longer course or a higher dose moves up a band, to a short taper or to the guideline's paced
taper. Every daily dose in a plan is one the marketed tablet strengths make (halves too when
the pack allows them), and no plan is given for an order that must not be prescribed.
"""

from __future__ import annotations

import math
from functools import lru_cache

from clinguide.checks.base import CheckContext
from clinguide.checks.dose import daily_cap
from clinguide.clinical.sig import fmt
from clinguide.contracts import TaperPlan, TaperStep
from clinguide.kb.models import Taper, TaperBand

GRID = 0.5  # mg: every tablet or half tablet of the pack's strengths is a multiple of this
# Orders that must not be prescribed get no plan for stopping them (a plan would read as approval):
# policy.finding_groups.no_taper_plan.


def round_half(value: float) -> float:
    return round(value * 2) / 2


@lru_cache(maxsize=64)
def _pieces(tablets: tuple[float, ...], halves: bool) -> tuple[float, ...]:
    out = set(tablets)
    if halves:
        out |= {t / 2 for t in tablets}
    return tuple(sorted(out, reverse=True))


@lru_cache(maxsize=4096)
def composition(amount: float, pieces: tuple[float, ...]) -> tuple[float, ...] | None:
    """The fewest tablets/halves (largest first) that add up to ``amount``; None if none do."""
    units = round(amount / GRID)
    if units <= 0 or abs(units * GRID - amount) > 1e-9:
        return None
    sizes = [round(p / GRID) for p in pieces]
    best: list[tuple[int, ...] | None] = [()] + [None] * units
    for total in range(1, units + 1):
        for size in sizes:
            prev = best[total - size] if size <= total else None
            if prev is not None and (best[total] is None or len(prev) + 1 < len(best[total] or ())):
                best[total] = (*prev, size)
    found = best[units]
    return None if found is None else tuple(sorted((s * GRID for s in found), reverse=True))


def makeable(amount: float, taper: Taper) -> bool:
    if not taper.tablet_mg:
        return amount > 0 and abs(round_half(amount) - amount) < 1e-9
    return composition(amount, _pieces(tuple(taper.tablet_mg), taper.halves)) is not None


def tablets_words(amount: float, taper: Taper) -> str | None:
    """'one 5 mg tablet + half a 2 mg tablet' for 6 mg, or None without tablet strengths."""
    if not taper.tablet_mg:
        return None
    whole = set(taper.tablet_mg)
    parts = composition(amount, _pieces(tuple(taper.tablet_mg), taper.halves))
    if parts is None:
        return None
    counts: dict[str, int] = {}
    for piece in parts:
        key = f"{fmt(piece)} mg tablet" if piece in whole else f"half a {fmt(piece * 2)} mg tablet"
        counts[key] = counts.get(key, 0) + 1
    words = {1: "one", 2: "two", 3: "three", 4: "four"}
    out = []
    for key, n in counts.items():
        if key.startswith("half"):
            out.append(key if n == 1 else f"{words.get(n, str(n))} halves of a {key.removeprefix('half a ')}")
        else:
            out.append(f"{words.get(n, str(n))} {key}{'s' if n > 1 else ''}")
    return " + ".join(out)


def pieces_needed(amount: float, taper: Taper) -> int:
    if not taper.tablet_mg:
        return 1
    parts = composition(amount, _pieces(tuple(taper.tablet_mg), taper.halves))
    return len(parts) if parts is not None else 99


def next_level(target: float, below: float, taper: Taper, tolerance: float = 0.0) -> float | None:
    """The next daily dose of a plan: makeable, strictly below ``below``, and never a bigger cut than asked.

    Among makeable doses from ``target`` up to ``target + tolerance`` the one needing the fewest
    tablets wins (then the one nearest the target); if none is in that window, the nearest makeable
    dose at or above the target, else the nearest below it. None means: stop.
    """
    candidates = [round_half(below - GRID * k) for k in range(1, int(below / GRID) + 1)]
    candidates = [c for c in candidates if c > 0 and makeable(c, taper)]
    if not candidates:
        return None
    window = [c for c in candidates if target - 1e-9 <= c <= target + tolerance + 1e-9]
    if window:
        return min(window, key=lambda c: (pieces_needed(c, taper), c - target))
    above = [c for c in candidates if c >= target - 1e-9]
    if above:
        return min(above)
    return max(candidates)


def schedule(daily_mg: float, reduce_fraction: float, step_days: int, taper: Taper | None = None,
             max_total_days: int | None = None) -> list[tuple[int, int, float]]:
    """(first day, last day, mg/day) steps after the course ends; the day after the last step, stop.

    Each step removes ``reduce_fraction`` of the starting daily dose (rounded to a makeable
    daily dose, always lower than the step before). With ``max_total_days`` the steps are
    shortened, and if need be dropped, so that the plan fits in that many days.
    """
    pace = taper or Taper(needed_after_days=0, reduce_fraction=reduce_fraction, step_days=step_days, text="",
                          sources=["S01"])
    levels: list[float] = []
    last = daily_mg
    k = 0
    while k < 100:
        k += 1
        target = min(last - GRID, daily_mg * (1 - reduce_fraction * k))
        if target <= 1e-9:
            break
        level = next_level(target, last, pace, tolerance=max(2 * GRID, 0.1 * daily_mg))
        if level is None:
            break
        levels.append(level)
        last = level
    # The last level must be low enough that stopping from it is no bigger a cut than a step.
    if levels and last > reduce_fraction * daily_mg + 1e-9:
        ceiling = reduce_fraction * daily_mg
        top = math.floor(ceiling / GRID + 1e-9) * GRID
        lower = [round_half(top - GRID * k) for k in range(int(top / GRID) + 1)]
        lower = [c for c in lower if 0 < c < last and makeable(c, pace)]
        if lower:
            levels.append(max(lower))
    if max_total_days is not None:
        if max_total_days <= 0 or not levels:
            return []
        levels = levels[:max_total_days]
        days = max(1, min(step_days, max_total_days // len(levels)))
        return [(i * days + 1, (i + 1) * days, mg) for i, mg in enumerate(levels)]
    # Uncapped (a paced taper): a cut bigger than the pace (tablets cannot make a smaller one)
    # is held for proportionally longer, so the average pace is never faster than asked.
    out: list[tuple[int, int, float]] = []
    start, previous = 1, daily_mg
    for mg in levels:
        cut_share = (previous - mg) / (reduce_fraction * daily_mg)
        length = max(step_days, math.ceil(step_days * cut_share - 1e-9))
        out.append((start, start + length - 1, mg))
        start += length
        previous = mg
    return out


def describe(steps: list[tuple[int, int, float]], taper: Taper | None = None) -> str:
    parts = []
    for a, b, mg in steps:
        when = f"day {a}" if a == b else f"days {a}–{b}"
        made = tablets_words(mg, taper) if taper else None
        parts.append(f"{when}: {fmt(mg)} mg/day" + (f" ({made})" if made else ""))
    stop_day = (steps[-1][1] + 1) if steps else 1
    parts.append(f"day {stop_day}: stop")
    return "; ".join(parts)


def choose_band(taper: Taper, days: int, daily_mg: float, adult_max: float | None) -> TaperBand | None:
    """The band for this exposure; a daily dose above the adult maximum moves one band up."""
    if not taper.bands:
        return None
    index = next((i for i, b in enumerate(taper.bands) if b.up_to_days is None or days <= b.up_to_days),
                 len(taper.bands) - 1)
    if adult_max is not None and daily_mg > adult_max + 1e-9:
        index = min(index + 1, len(taper.bands) - 1)
    return taper.bands[index]


def plan_for(taper: Taper, days: int, daily_mg: float, adult_max: float | None) -> tuple[TaperPlan, TaperBand | None]:
    """The structured plan for stopping after ``days`` at ``daily_mg`` (also used by assess)."""
    band = choose_band(taper, days, daily_mg, adult_max)
    if band is None:
        steps = schedule(daily_mg, taper.reduce_fraction, taper.step_days, taper)
        kind = "paced-taper"
    else:
        cap = int(days * band.max_share_of_course) if band.max_share_of_course else None
        if cap is not None and band.max_share_of_course is not None and band.max_share_of_course >= 1:
            cap = days
        steps = schedule(daily_mg, band.reduce_fraction, band.step_days, taper, cap)
        kind = band.kind
    plan = TaperPlan(
        steps=[TaperStep(days=b - a + 1, daily_mg=mg, tablets=tablets_words(mg, taper)) for a, b, mg in steps],
        total_days=steps[-1][1] if steps else 0,
        kind=kind,
        text=describe(steps, taper),
    )
    return plan, band


def adult_max_daily(ctx: CheckContext) -> float | None:
    rule = ctx.dosing("adult")
    return daily_cap(rule) if rule else None


def run(ctx: CheckContext) -> None:
    drug = ctx.drug
    if drug is None or drug.taper is None or not _needs_plan(ctx, drug.taper):
        return
    taper = drug.taper
    o = ctx.order.normalised
    assert o.days is not None
    if o.daily_mg is None:
        ctx.say("taper.daily-dose-unknown", "missing-data", "info", taper.sources, drug=drug.name, days=o.days)
        return
    plan, band = plan_for(taper, o.days, o.daily_mg, adult_max_daily(ctx))
    sources = list(taper.sources) + (list(band.sources) if band else []) + list(taper.tablet_sources)
    exposure = ctx.kb.phrase("taper.exposure-prn" if o.prn else "taper.exposure", days=o.days,
                             daily=fmt(o.daily_mg))
    band_text = band.text if band else taper.text
    if plan.kind == "stop-or-step-down":
        template = "taper.short-course" if plan.steps else "taper.short-course-no-steps"
    else:
        template = "taper.needed"
    finding = ctx.say(template, "taper-needed", "info", sources, exposure=exposure, band_text=band_text,
                      plan=plan.text, made=_tablets_made(ctx, taper, plan))
    ctx.findings[-1] = finding.model_copy(update={"taper_plan": plan})


def _needs_plan(ctx: CheckContext, taper: Taper) -> bool:
    """A course long enough to need a plan for stopping, of an order that may be given at all."""
    o = ctx.order.normalised
    if ctx.order.dose is None or o.days is None or o.days <= taper.needed_after_days:
        return False  # duration.py reports a missing course length
    no_plan = ctx.kb.policy.finding_groups.no_taper_plan
    # do not plan how to stop an order that must not be given
    return not any(f.severity == "critical" or f.code in no_plan for f in ctx.findings)


def _tablets_made(ctx: CheckContext, taper: Taper, plan: TaperPlan) -> str:
    """Which marketed tablets make the planned daily doses (empty without tablet sizes or steps)."""
    if not (taper.tablet_mg and plan.steps):
        return ""
    strengths = ", ".join(f"{fmt(t)}" for t in taper.tablet_mg)
    made = ctx.kb.phrase("taper.tablets-made-halves" if taper.halves else "taper.tablets-made", strengths=strengths)
    if taper.halves_note and any("half" in (st.tablets or "") for st in plan.steps):
        made += f" {taper.halves_note}"
    return made
