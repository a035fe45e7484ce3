"""Render ``{kind:arg:...}`` placeholders in statement text from the pack's structured fields.

A dose, limit or duration is typed once, in a monograph or the policy; statements name it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clinguide.kb.knowledge import KnowledgeBase
    from clinguide.kb.models import DosingRule

PLACEHOLDER = re.compile(r"\{([a-z-]+):([a-z0-9:-]+)\}")
# Anything still looking like a placeholder after rendering (e.g. "{daily- max:…}" split by YAML folding).
LEFTOVER = re.compile(r"\{[^{}]*:[^{}]*\}")
LITERAL_DOSE = re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:mg|g|mcg|µg)\b", re.IGNORECASE)

_BASIS = {
    "label": "label maximum",
    "top-of-labelled-range": "the top of the labelled range; the label states no maximum",
    "compendium": "drug-compendium figure, not a label maximum",
    "criteria": "figure from prescribing criteria, not a label maximum",
    "regulator": "regulator's figure",
}
_TIMES = {1: "once a day", 2: "twice a day"}


def times_a_day(per_day: int) -> str:
    """'once a day', 'twice a day', '3 times a day': the one wording of a frequency everywhere."""
    return _TIMES.get(per_day, f"{per_day} times a day")


class PlaceholderError(ValueError):
    """A placeholder names a drug, population or field the pack does not have."""


def number(value: float) -> str:
    """1500.0 -> '1,500'; 2.5 -> '2.5'."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")


def span(low: float, high: float, unit: str = "") -> str:
    text = number(low) if low == high else f"{number(low)}–{number(high)}"
    return f"{text} {unit}".strip()


def frequency(rule: DosingRule) -> str:
    parts: list[str] = []
    if rule.interval_hours:
        parts.append(f"every {span(rule.interval_hours.min, rule.interval_hours.max)} hours")
    if rule.doses_per_day:
        low, high = rule.doses_per_day.min, rule.doses_per_day.max
        if rule.interval_hours:
            parts.append(f"(up to {high} doses a day)")
        elif low == high:
            parts.append(times_a_day(low))
        else:
            parts.append(f"{low} or {high} times a day" if high == low + 1 else f"{low} to {high} times a day")
    return " ".join(parts)


def describe_dose(rule: DosingRule) -> str:
    if rule.single_dose_mg is None:
        raise PlaceholderError(f"dosing rule for {rule.population} has no single_dose_mg")
    text = span(rule.single_dose_mg.min, rule.single_dose_mg.max, "mg")
    freq = frequency(rule)
    return f"{text} {freq}".strip()


def describe_daily_max(rule: DosingRule) -> str:
    if rule.max_daily_mg is None or rule.max_daily_basis is None:
        raise PlaceholderError(f"dosing rule for {rule.population} has no max_daily_mg")
    return f"{number(rule.max_daily_mg)} mg a day ({_BASIS[rule.max_daily_basis]})"


def render(text: str, kb: KnowledgeBase) -> str:
    """Replace every placeholder; raise PlaceholderError naming the first that does not resolve."""

    def one(match: re.Match[str]) -> str:
        kind, args = match.group(1), match.group(2).split(":")
        return _resolve(kind, args, kb, match.group(0))

    return PLACEHOLDER.sub(one, text)


def _resolve(kind: str, args: list[str], kb: KnowledgeBase, raw: str) -> str:
    if kind == "policy":
        policy = kb.policy
        values = {
            "diazepam-max-days": f"{policy.diazepam_max_days} days",
            "reassess-days": f"{policy.reassess_within_days} days",
            "older-adult-age": str(policy.older_adult_min_age),
        }
        if len(args) != 1 or args[0] not in values:
            raise PlaceholderError(f"{raw}: unknown policy value; known: {', '.join(values)}")
        return values[args[0]]
    drug = kb.drugs.get(args[0])
    if drug is None:
        raise PlaceholderError(f"{raw}: no drug '{args[0]}' in the pack")
    if kind == "max-days":
        if drug.duration_limit is None:
            raise PlaceholderError(f"{raw}: {drug.id} has no duration_limit")
        return f"{drug.duration_limit.days} days"
    if kind == "taper":
        if drug.taper is None:
            raise PlaceholderError(f"{raw}: {drug.id} has no taper")
        pct = number(drug.taper.reduce_fraction * 100)
        return f"reductions of no more than {pct}% of the starting daily dose every {drug.taper.step_days} days"
    if kind in ("dose", "daily-max"):
        if len(args) not in (2, 3):
            raise PlaceholderError(f"{raw}: expected {{{kind}:DRUG:POPULATION[:FORMULATION]}}")
        formulation = args[2] if len(args) == 3 else "oral"
        rule = kb.dosing(drug.id, args[1], formulation)
        if rule is None:
            raise PlaceholderError(f"{raw}: {drug.id} has no dosing rule for {args[1]} ({formulation})")
        return describe_dose(rule) if kind == "dose" else describe_daily_max(rule)
    raise PlaceholderError(f"{raw}: unknown placeholder kind '{kind}'")
