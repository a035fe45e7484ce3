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
                suggested = start_order(ctx.kb, alt, alt_rule, ctx.order.normalised.days)
        where = ctx.kb.phrase("setting.with-phase", setting=rule.setting, phase=phase) if phase else rule.setting
        ctx.say("setting.not-recommended", "not-recommended-setting", rule.severity, rule.sources,
                suggestion=rule.suggestion, suggested_order=suggested, drug=drug.name, setting=where,
                rule_text=rule.text)
    for fl in drug.first_line:
        if fl.setting != case.setting:
            continue
        if ctx.case.tried & set(fl.tried_any_of):
            continue
        accepted = ", ".join(ctx.kb.therapies[t].name if t in ctx.kb.therapies else t for t in fl.tried_any_of)
        unknown = (ctx.kb.phrase("setting.tried-not-recognised", tried=", ".join(ctx.case.unknown_tried))
                   if ctx.case.unknown_tried else "")
        ctx.say("setting.first-line-not-tried", "first-line-not-tried", fl.severity, fl.sources,
                suggestion=fl.suggestion, accepted=accepted, rule_text=fl.text, unknown=unknown)
    _ask_for_phase(ctx, unplaced)


def _ask_for_phase(ctx: CheckContext, rules: list[SettingRule]) -> None:
    """Ask for the phase only when a rule of that phase would make the verdict worse than it is."""
    drug = ctx.drug
    assert drug is not None
    worst = max((SEVERITY_RANK[f.severity] for f in ctx.findings), default=-1)
    for rule in rules:
        if SEVERITY_RANK[rule.severity] <= max(worst, SEVERITY_RANK["info"]):
            continue
        ctx.say("setting.phase-unknown", "missing-data", "warning", rule.sources, severity=rule.severity,
                drug=drug.name, phases=", ".join(rule.phases), setting=rule.setting)
