"""`assess(case)`: the plan for one patient — phase, steps, a verdict on diazepam, a preferred relaxant.

The verdict reuses `check` on a hypothetical diazepam order for this patient (one
engine, one set of rules) and then applies the pack's ordered verdict rules.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from clinguide.contracts import (
    Case,
    CheckResult,
    DiazepamAssessment,
    Finding,
    Plan,
    PlanStep,
    PreferredRelaxant,
    Reason,
    SourceRef,
)
from clinguide.errors import InputError, describe_validation_error
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.kb.models import DosingRule, VerdictRule
from clinguide.kb.models import PlanStep as PackStep
from clinguide.kb.placeholders import describe_dose
from clinguide.plans.phase import derive_phase

DIAZEPAM = "diazepam"
SPASM_ORDER = ("none", "mild", "moderate", "severe")
# Frequency words the order parser reads, by doses per day.
FREQUENCY_WORDS = {1: "once daily", 2: "twice daily", 3: "three times daily", 4: "four times daily"}
# Findings about the *hypothetical* order's own arithmetic are not reasons about the patient.
ORDER_ONLY_CODES = frozenset({"taper-needed"})
# Findings that mean a relaxant does not fit this patient yet (the verdict rules say why).
RELAXANT_BLOCKING_CODES = frozenset({"geriatric-avoid", "first-line-not-tried", "substance-use-history", "pregnancy"})


def _case(case: Case | dict[str, Any] | None) -> Case:
    if isinstance(case, Case):
        return case
    try:
        return Case.model_validate(case or {})
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, "case")) from exc


def starting_rule(kb: KnowledgeBase, drug_id: str, case: Case) -> DosingRule | None:
    """The older-adult rule for older adults when the pack has one, else the adult rule."""
    if case.age is not None and case.age >= kb.policy.older_adult_min_age:
        rule = kb.dosing(drug_id, "older-adult")
        if rule and rule.single_dose_mg:
            return rule
    return kb.dosing(drug_id, "adult")


def hypothetical_order(kb: KnowledgeBase, drug_id: str, case: Case, days: int) -> dict[str, Any] | None:
    """The lowest labelled starting order for this patient, as an Order dict for `check`."""
    rule = starting_rule(kb, drug_id, case)
    if rule is None or rule.single_dose_mg is None:
        return None
    per_day = rule.doses_per_day.min if rule.doses_per_day else None
    if per_day is None and rule.interval_hours:
        per_day = int(24 // rule.interval_hours.max)
    frequency = FREQUENCY_WORDS.get(per_day or 0)
    if frequency is None:
        return None
    return {"drug": drug_id, "dose": f"{rule.single_dose_mg.min:g} mg", "frequency": frequency, "days": days}


def _spasm_rank(spasm: str | None) -> int:
    return SPASM_ORDER.index(spasm) if spasm in SPASM_ORDER else -1


def _matches(rule: VerdictRule, phase: str, spasm: str, findings: list[Finding]) -> list[Finding] | None:
    """The findings the rule rests on (possibly none) if every condition of the rule holds, else None."""
    resting: list[Finding] = []
    if rule.when_finding_severity:
        hits = [f for f in findings if f.severity == rule.when_finding_severity and f.code not in ORDER_ONLY_CODES]
        if not hits:
            return None
        resting += hits
    if rule.when_finding_codes:
        hits = [f for f in findings if f.code in rule.when_finding_codes]
        if not hits:
            return None
        resting += [h for h in hits if h not in resting]
    if rule.when_phases and phase not in rule.when_phases:
        return None
    if rule.when_spasm and spasm not in rule.when_spasm:
        return None
    if rule.when_first_line_not_tried:
        hits = [f for f in findings if f.code == "first-line-not-tried"]
        if not hits:
            return None
        resting += hits
    return resting


def _step(kb: KnowledgeBase, step: PackStep) -> PlanStep:
    statements = [kb.statements[s] for s in step.statements if s in kb.statements]
    text = " ".join(kb.statement_text(s) for s in statements)
    sources = sorted({src for s in statements for src in s.sources})
    return PlanStep(id=step.id, title=step.title, text=text, kind=step.kind, sources=sources)


def _applies(step: PackStep, case: Case, first_line_tried: bool, older_adult_age: int) -> bool:
    when = step.when
    if when is None:
        return True
    if when.spasm_at_least and _spasm_rank(case.spasm) < SPASM_ORDER.index(when.spasm_at_least):
        return False
    if when.first_line_tried is not None and when.first_line_tried != first_line_tried:
        return False
    if when.not_older_adult and case.age is not None and case.age >= older_adult_age:
        return False
    return not (when.max_age is not None and case.age is not None and case.age > when.max_age)


def _source_refs(kb: KnowledgeBase, ids: set[str]) -> list[SourceRef]:
    refs = []
    for source_id in sorted(ids):
        source = kb.sources.get(source_id)
        if source:
            refs.append(
                SourceRef(
                    id=source.id,
                    citation=source.citation,
                    url=source.url,
                    kind=source.kind,
                    evidence_level=source.evidence_level,
                )
            )
    return refs


def _missing(fields: list[str], why: str) -> Finding:
    return Finding(
        code="missing-data",
        severity="warning",
        title="Missing data: " + ", ".join(fields),
        detail=why,
        suggestion="Add " + ", ".join(fields) + " to the case for a complete plan.",
        sources=[],
    )


def _check(order: dict[str, Any] | None, case: Case, kb: KnowledgeBase) -> CheckResult | None:
    if order is None:
        return None
    from clinguide.checks.engine import check

    return check(order, case, kb=kb)


def _preferred(kb: KnowledgeBase, case: Case, phase: str) -> PreferredRelaxant | None:
    for choice in kb.policy.preferred_relaxants:
        if choice.setting != case.setting or phase not in choice.phases:
            continue
        order = hypothetical_order(kb, choice.drug, case, choice.days)
        result = _check(order, case, kb)
        if order is None or result is None:
            continue
        blocking = [f for f in result.findings if f.severity == "critical" or f.code in RELAXANT_BLOCKING_CODES]
        if blocking:
            continue
        rule = starting_rule(kb, choice.drug, case)
        assert rule is not None
        reasons = [Reason(text=choice.reason, sources=list(choice.sources))]
        return PreferredRelaxant(
            drug=choice.drug,
            dose=f"{order['dose']} {order['frequency']}",
            frequency=order["frequency"],
            max_days=choice.days,
            reasons=reasons,
            check=result,
        )
    return None


def assess(case: Case | dict[str, Any] | None, kb: KnowledgeBase | None = None) -> Plan:
    if kb is None:
        from clinguide.kb import get_kb

        kb = get_kb()
    patient = _case(case)
    phase = derive_phase(patient, kb)
    findings: list[Finding] = []
    assumptions = list(phase.assumptions)
    if phase.missing:
        findings.append(_missing(phase.missing, " ".join(phase.assumptions)))

    spasm = patient.spasm
    if spasm is None:
        spasm = "mild"
        assumptions.append("Spasm severity not given: assumed not significant until it is assessed.")
        findings.append(_missing(["spasm"], "Whether spasm is significant decides if diazepam may be considered."))

    policy = kb.policy
    diazepam_order = hypothetical_order(kb, DIAZEPAM, patient, policy.diazepam_max_days)
    diazepam_check = _check(diazepam_order, patient, kb)
    check_findings = diazepam_check.findings if diazepam_check else []
    findings += check_findings

    verdict_rule: VerdictRule | None = None
    resting: list[Finding] = []
    for rule in policy.diazepam_verdict_rules:
        hit = _matches(rule, phase.phase, spasm, check_findings)
        if hit is not None:
            verdict_rule, resting = rule, hit
            break
    if verdict_rule is None:  # the pack's last rule should be unconditional; fail safe if not
        raise LookupError("no diazepam verdict rule matched; the pack's policy needs a final default rule")

    reasons = [Reason(text=verdict_rule.reason, sources=list(verdict_rule.sources))]
    reasons += [Reason(text=f"{f.title}: {f.detail}", sources=list(f.sources)) for f in resting]
    diazepam = DiazepamAssessment(verdict=verdict_rule.verdict, reasons=reasons)
    if verdict_rule.verdict == "consider-short-term":
        diazepam = _short_term_details(kb, patient, diazepam, check_findings)

    first_line_tried = not any(f.code == "first-line-not-tried" for f in check_findings)
    plan = kb.plan_for(patient.setting, phase.phase)
    steps = (
        [_step(kb, s) for s in plan.steps if _applies(s, patient, first_line_tried, policy.older_adult_min_age)]
        if plan
        else []
    )
    if plan is None:
        findings.append(_missing(["plan"], f"The knowledge pack has no plan for {patient.setting} / {phase.phase}."))

    preferred = None
    if verdict_rule.verdict != "consider-short-term" and _spasm_rank(spasm) >= SPASM_ORDER.index("moderate"):
        preferred = _preferred(kb, patient, phase.phase)

    cited = {s for step in steps for s in step.sources}
    cited |= {s for r in diazepam.reasons for s in r.sources}
    cited |= {s for r in diazepam.monitoring or [] for s in r.sources}
    cited |= {s for f in findings for s in f.sources}
    if preferred:
        cited |= {s for r in preferred.reasons for s in r.sources}
    return Plan(
        setting=patient.setting,
        phase=phase.phase,
        assumptions=assumptions,
        steps=steps,
        diazepam=diazepam,
        preferred_muscle_relaxant=preferred,
        findings=findings,
        sources=_source_refs(kb, cited),
        knowledge_version=kb.version,
    )


def _short_term_details(
    kb: KnowledgeBase, case: Case, diazepam: DiazepamAssessment, findings: list[Finding]
) -> DiazepamAssessment:
    policy = kb.policy
    drug = kb.drugs[DIAZEPAM]
    rule = starting_rule(kb, DIAZEPAM, case)
    max_days = policy.diazepam_max_days
    if drug.duration_limit:
        max_days = min(max_days, drug.duration_limit.days)
    taper_finding = next((f for f in findings if f.code == "taper-needed"), None)
    taper = taper_finding.taper_plan if taper_finding else None
    monitoring = [
        Reason(text=kb.statement_text(kb.statements[s]), sources=list(kb.statements[s].sources))
        for s in policy.monitoring
        if s in kb.statements
    ]
    follow_up = [
        f"Reassess within {policy.reassess_within_days} days of starting diazepam.",
        f"Stop by day {max_days} at the latest; plan the stop from the outset.",
    ]
    order = hypothetical_order(kb, DIAZEPAM, case, max_days)
    dosing = None
    if rule and rule.single_dose_mg and order:
        population = "older adults" if rule.population == "older-adult" else "adults"
        dosing = (
            f"Start at the lowest labelled dose, {order['dose']} {order['frequency']} "
            f"(labelled range for {population}: {describe_dose(rule)})."
        )
    return diazepam.model_copy(
        update={
            "dosing": dosing,
            "max_days": max_days,
            "taper": taper,
            "follow_up": follow_up,
            "monitoring": monitoring,
        }
    )
