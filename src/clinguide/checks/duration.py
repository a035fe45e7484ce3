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
        ctx.say("duration.days-missing", "missing-data", "info", limit.sources, drug=drug.name,
                limit_days=limit.days)
        return
    if o.days <= limit.days:
        return
    per_day = int(o.doses_per_day) if o.doses_per_day is not None and float(o.doses_per_day).is_integer() else None
    dose = f"{fmt(o.dose_mg)} mg " if o.dose_mg is not None else ""
    ctx.say(
        "duration.exceeds-limit", "duration-exceeds-limit", limit.severity, limit.sources,
        days=o.days, drug=drug.name, limit_days=limit.days, limit_text=limit.text,
        suggested_order=SuggestedOrder(
            drug=drug.id, dose_mg=o.dose_mg, frequency=o.frequency, doses_per_day=per_day, days=limit.days,
            text=f"{drug.name} {dose}{o.frequency or ''} for {limit.days} days".replace("  ", " "),
        ),
    )
