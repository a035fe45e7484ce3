"""Input problems (unknown drug, unparseable order) and case entries the pack does not know."""

from __future__ import annotations

from clinguide.checks.base import CheckContext


def run(ctx: CheckContext) -> None:
    for problem in ctx.order.problems:
        if problem.code == "unknown-drug":
            ctx.add("unknown-drug", "critical", "Drug not recognised",
                    f"{problem.message}: no check could run. Give the generic or brand name of a drug the pack knows "
                    "(e.g. a muscle relaxant or benzodiazepine), or its RxNorm code.", [])
        else:
            ctx.add("unparseable-order", "critical", f"Order could not be understood ({problem.field})",
                    f"{problem.field}: {problem.message}. The order could not be assessed.", [])
    if ctx.drug is not None and ctx.order.dose is None and not ctx.order.problems:
        ctx.add("unparseable-order", "critical", "Order has no dose",
                "dose: no dose with a unit was found; write e.g. '5 mg'. The order could not be assessed.", [])
    drug_name = ctx.drug.name if ctx.drug else "the ordered drug"
    language = ctx.kb.policy.condition_language
    for note in ctx.case.condition_notes:
        ctx.add("condition-interpreted", "info", "Kidney function read from a number or stage",
                f"{note}. The rules for that category were applied.",
                list(language.renal_sources) if language else [])
    for text in ctx.case.unknown_conditions:
        ctx.add("unknown-condition", "warning", f"Condition not recognised: {text}",
                f"'{text}' is not a condition in the knowledge pack, so any contraindication, caution or dose "
                f"adjustment of {drug_name} that depends on it was NOT checked. The verdict cannot be better than "
                "'caution' until it is clarified.", [],
                suggestion="Use a common name or synonym (e.g. 'COPD', 'sleep apnea', 'liver cirrhosis', 'eGFR 25'), "
                "or check this condition against the label yourself.")
    for text in ctx.case.unknown_medications:
        ctx.add("unknown-medication", "warning", f"Medication not recognised: {text}",
                f"'{text}' is not a drug in the knowledge pack, so its interactions with {drug_name} (for example "
                "added sedation or a contraindicated combination) were NOT checked. The verdict cannot be better than "
                "'caution' until it is clarified.", [], suggestion="Use the generic or brand name.")
    for text in ctx.case.unknown_allergies:
        ctx.add("unknown-medication", "warning", f"Allergy not recognised: {text}",
                f"The allergy '{text}' is not a drug or drug class in the knowledge pack, so it was not checked "
                "against the order.", [], suggestion="Use the generic or brand name of the drug.")
