"""Course length against the drug's duration limit."""

from __future__ import annotations

from clinguide.checks.base import CheckContext
from clinguide.clinical.sig import fmt
from clinguide.contracts import SuggestedOrder


def run(ctx: CheckContext) -> None:
    drug = ctx.drug
    if drug is None or drug.duration_limit is None or ctx.order.dose is None:
        return
    limit = drug.duration_limit
    o = ctx.order.normalised
    if o.days is None:
        ctx.add(
            "missing-data", "info", "Course length not given: duration check could not run",
            f"{drug.name} has a duration limit of {limit.days} days, but the order states no number of days.",
            limit.sources, suggestion=f"Add the course length (at most {limit.days} days), e.g. 'x {limit.days} days'.",
        )
        return
    if o.days <= limit.days:
        return
    per_day = int(o.doses_per_day) if o.doses_per_day is not None and float(o.doses_per_day).is_integer() else None
    dose = f"{fmt(o.dose_mg)} mg " if o.dose_mg is not None else ""
    ctx.add(
        "duration-exceeds-limit", limit.severity, "Course longer than the limit",
        f"{o.days} days ordered; the limit for {drug.name} is {limit.days} days. {limit.text}",
        limit.sources, suggestion=f"Limit the course to {limit.days} days and reassess.",
        suggested_order=SuggestedOrder(
            drug=drug.id, dose_mg=o.dose_mg, frequency=o.frequency, doses_per_day=per_day, days=limit.days,
            text=f"{drug.name} {dose}{o.frequency or ''} for {limit.days} days".replace("  ", " "),
        ),
    )
