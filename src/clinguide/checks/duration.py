"""Course length against the drug's duration limit."""

from __future__ import annotations

from clinguide.checks.base import CheckContext, suggest


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
    ctx.say(
        "duration.exceeds-limit", "duration-exceeds-limit", limit.severity, limit.sources,
        days=o.days, drug=drug.name, limit_days=limit.days, limit_text=limit.text,
        suggested_order=suggest(ctx.kb, drug, o.dose_mg, per_day, limit.days, frequency=o.frequency, up_to=False),
    )
