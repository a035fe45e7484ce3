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
    "not-recommended-setting", "first-line-not-tried", "taper-needed", "unknown-condition", "unknown-medication",
    "missing-data",
)  # fmt: skip
_RANK = {code: i for i, code in enumerate(CODE_ORDER)}


def run_all(ctx: CheckContext) -> list[Finding]:
    for _name, family in FAMILIES:
        family(ctx)
    return sort_findings(ctx.findings)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    unique: dict[tuple[str, str, str], Finding] = {}
    for f in findings:
        unique.setdefault((f.code, f.title, f.detail), f)
    return sorted(unique.values(), key=lambda f: (-SEVERITY_RANK[f.severity], _RANK.get(f.code, len(_RANK))))
