"""Runs every check family in a fixed order and sorts the findings deterministically."""

from __future__ import annotations

from collections.abc import Callable

from clinguide.checks import conditions, data, dose, duration, interactions, population, setting, taper
from clinguide.checks.base import SEVERITY_RANK, CheckContext
from clinguide.contracts import Finding

FAMILIES: tuple[tuple[str, Callable[[CheckContext], None]], ...] = (
    ("data", data.run),
    ("dose", dose.run),
    ("duration", duration.run),
    ("population", population.run),
    ("conditions", conditions.run),
    ("interactions", interactions.run),
    ("setting", setting.run),
    ("taper", taper.run),
)

# stable order of codes within one severity (input problems first, missing data last)
CODE_ORDER = (
    "unknown-drug", "unparseable-order", "implausible-dose", "allergy", "contraindicated-condition",
    "contraindicated-drug", "opioid-benzodiazepine", "dose-above-max", "frequency-above-max",
    "daily-dose-above-max", "geriatric-avoid", "geriatric-dose-high", "pregnancy", "hepatic-impairment",
    "renal-impairment", "serotonergic-combination", "drug-interaction", "cns-depressant-combination", "alcohol",
    "duplicate-therapy", "substance-use-history", "caution-condition", "duration-exceeds-limit",
    "not-recommended-setting", "first-line-not-tried", "taper-needed", "pediatric-not-assessed",
    "unknown-condition", "unknown-medication", "pediatric-dosing", "dose-unit-assumed", "condition-interpreted",
    "missing-data",
)  # fmt: skip
_RANK = {code: i for i, code in enumerate(CODE_ORDER)}


def run_all(ctx: CheckContext) -> list[Finding]:
    for _name, family in FAMILIES:
        family(ctx)
    return sort_findings(ctx.findings)


# One problem each, whatever rules raised it (a severe-renal rule and a renal rule, a condition rule
# and a dose rule for the same impairment).
ONE_PER_CODE = frozenset({"pregnancy", "hepatic-impairment", "renal-impairment"})


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """One finding per problem: findings with the same code and title are merged (the most severe
    kept, the other details appended, sources united), then sorted by severity and code."""
    merged: dict[tuple[str, str], Finding] = {}
    for f in findings:
        if f.code in ONE_PER_CODE:
            key = (f.code, "")
        elif f.code == "missing-data":  # "Age not given: …" from several families is one missing item
            key = (f.code, f.title.split(":")[0])
        else:
            key = (f.code, f.title)
        first = merged.get(key)
        if first is None:
            merged[key] = f
            continue
        keep, other = (f, first) if SEVERITY_RANK[f.severity] > SEVERITY_RANK[first.severity] else (first, f)
        title = keep.title
        if f.code == "missing-data" and f.title != first.title:
            title = f"{key[1]}: some checks could not run"
        detail = keep.detail if other.detail in keep.detail else f"{keep.detail} {other.detail}"
        merged[key] = keep.model_copy(update={
            "title": title,
            "detail": detail,
            "sources": list(dict.fromkeys([*keep.sources, *other.sources])),
            "suggestion": keep.suggestion or other.suggestion,
            "suggested_order": keep.suggested_order or other.suggested_order,
        })
    return sorted(merged.values(), key=lambda f: (-SEVERITY_RANK[f.severity], _RANK.get(f.code, len(_RANK))))
