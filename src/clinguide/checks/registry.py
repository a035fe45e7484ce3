"""Runs every check family in a fixed order and sorts the findings deterministically."""

from __future__ import annotations

from collections.abc import Callable

from clinguide.checks import conditions, data, dose, duration, interactions, population, setting, taper
from clinguide.checks.base import SEVERITY_RANK, CheckContext
from clinguide.contracts import Finding
from clinguide.kb.knowledge import KnowledgeBase

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

def run_all(ctx: CheckContext) -> list[Finding]:
    for _name, family in FAMILIES:
        family(ctx)
    return sort_findings(ctx.findings, ctx.kb)


def sort_findings(findings: list[Finding], kb: KnowledgeBase) -> list[Finding]:
    """One finding per problem: findings with the same code and title are merged (the most severe
    kept, the other details appended, sources united), then sorted by severity and the policy's
    code order (``finding_order``); codes in ``finding_groups.one_per_problem`` are one problem each,
    whatever rules raised them (a severe-renal rule and a renal rule, a condition and a dose rule)."""
    one_per_problem = set(kb.policy.finding_groups.one_per_problem)
    rank = {code: i for i, code in enumerate(kb.policy.finding_order)}
    merged: dict[tuple[str, str], Finding] = {}
    for f in findings:
        if f.code in one_per_problem:
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
            title = kb.phrase("merge.missing-data", what=key[1])
        detail = keep.detail if other.detail in keep.detail else f"{keep.detail} {other.detail}"
        merged[key] = keep.model_copy(update={
            "title": title,
            "detail": detail,
            "sources": list(dict.fromkeys([*keep.sources, *other.sources])),
            "suggestion": keep.suggestion or other.suggestion,
            "suggested_order": keep.suggested_order or other.suggested_order,
        })
    return sorted(merged.values(), key=lambda f: (-SEVERITY_RANK[f.severity], rank.get(f.code, len(rank))))
