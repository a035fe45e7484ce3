"""Input problems (unknown drug, unparseable order) and case entries the pack does not know."""

from __future__ import annotations

from clinguide.checks.base import CheckContext


def run(ctx: CheckContext) -> None:
    for problem in ctx.order.problems:
        if problem.code == "unknown-drug":
            ctx.say("data.unknown-drug", "unknown-drug", "critical", [], problem=problem.message)
        else:
            ctx.say("data.unparseable-order", "unparseable-order", "critical", [], field=problem.field,
                    problem=problem.message)
    if ctx.drug is not None and ctx.order.dose is None and not ctx.order.problems:
        ctx.say("data.no-dose", "unparseable-order", "critical", [])
    drug_name = ctx.drug.name if ctx.drug else ctx.kb.phrase("data.ordered-drug")
    language = ctx.kb.policy.condition_language
    for note in ctx.case.condition_notes:
        ctx.say("data.condition-interpreted", "condition-interpreted", "info",
                list(language.renal_sources) if language else [], note=note)
    procedures = {p.id: p for p in ctx.kb.policy.procedures}
    for text, procedure_id in ctx.case.procedures:
        setting = procedures[procedure_id].setting
        if setting == ctx.case.case.setting:
            ctx.say("data.procedure-read", "condition-interpreted", "info", [], text=text, setting=setting)
        else:  # the rules of the procedure's setting were not applied: never better than an unknown condition
            ctx.say("data.procedure-other-setting", "unknown-condition", "warning", [], text=text,
                    setting=setting, case_setting=ctx.case.case.setting, drug=drug_name)
    for text in ctx.case.unknown_conditions:
        ctx.say("data.unknown-condition", "unknown-condition", "warning", [], text=text, drug=drug_name)
    for text in ctx.case.unknown_medications:
        ctx.say("data.unknown-medication", "unknown-medication", "warning", [], text=text, drug=drug_name)
    for text in ctx.case.unknown_allergies:
        ctx.say("data.unknown-allergy", "unknown-medication", "warning", [], text=text)
