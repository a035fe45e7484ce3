"""The drug's setting rules (not-recommended-setting) and first-line rules (first-line-not-tried)."""

from __future__ import annotations

from clinguide.checks.base import SEVERITY_RANK, CheckContext, start_order
from clinguide.kb.models import SettingRule


def run(ctx: CheckContext) -> None:
    drug = ctx.drug
    if drug is None:
        return
    case = ctx.case.case
    phase = ctx.case.phase
    unplaced: list[SettingRule] = []  # rules of a phase the case does not give enough to place
    for rule in drug.setting_rules:
        if rule.setting != case.setting:
            continue
        if rule.phases and phase is None:
            unplaced.append(rule)
            continue
        if rule.phases and phase not in rule.phases:
            continue
        suggested = None
        if rule.suggest_drug and rule.suggest_drug in ctx.kb.drugs:
            alt = ctx.kb.drugs[rule.suggest_drug]
            population = "older-adult" if ctx.older_adult else "adult"
            alt_rule = ctx.kb.dosing(alt.id, population) or ctx.kb.dosing(alt.id, "adult")
            if alt_rule is not None:
                suggested = start_order(ctx, alt, alt_rule, ctx.order.normalised.days)
        where = rule.setting + (f" ({phase})" if phase else "")
        ctx.add("not-recommended-setting", rule.severity, f"{drug.name} not recommended in this setting",
                f"Setting: {where}. {rule.text}", rule.sources, suggestion=rule.suggestion, suggested_order=suggested)
    for fl in drug.first_line:
        if fl.setting != case.setting:
            continue
        if ctx.case.tried & set(fl.tried_any_of):
            continue
        accepted = ", ".join(ctx.kb.therapies[t].name if t in ctx.kb.therapies else t for t in fl.tried_any_of)
        detail = f"No first-line therapy is recorded as tried (any of: {accepted}). {fl.text}"
        if ctx.case.unknown_tried:
            detail += f" Not recognised as therapies, so not counted: {', '.join(ctx.case.unknown_tried)}."
        ctx.add("first-line-not-tried", fl.severity, "First-line care not tried yet", detail, fl.sources,
                suggestion=fl.suggestion)
    _ask_for_phase(ctx, unplaced)


def _ask_for_phase(ctx: CheckContext, rules: list[SettingRule]) -> None:
    """Ask for the phase only when a rule of that phase would make the verdict worse than it is."""
    drug = ctx.drug
    assert drug is not None
    worst = max((SEVERITY_RANK[f.severity] for f in ctx.findings), default=-1)
    for rule in rules:
        if SEVERITY_RANK[rule.severity] <= max(worst, SEVERITY_RANK["info"]):
            continue
        ctx.add("missing-data", "warning", "Phase unknown: a setting rule could not be checked",
                f"A {rule.severity} rule for {drug.name} applies in the {', '.join(rule.phases)} phase of "
                f"{rule.setting}; the case does not give enough (symptom_days, or surgery_phase and "
                "hours_since_surgery) to place it, so the verdict may be too mild.",
                rule.sources, suggestion="Add symptom_days (back spasm) or the surgery phase.")
