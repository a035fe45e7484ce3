"""`assess(case)`: the plan for one patient — phase, steps, a verdict on diazepam, a preferred relaxant.

The verdict reuses `check` on a hypothetical diazepam order for this patient (one
engine, one set of rules) and then applies the pack's ordered verdict rules.
"""

from __future__ import annotations

from typing import Any

from clinguide.contracts import (
    Case,
    CheckResult,
    DiazepamAssessment,
    Finding,
    Plan,
    PlanStep,
    PlanUrgent,
    PreferredRelaxant,
    Reason,
    SourceRef,
)
from clinguide.errors import coerce
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.kb.models import DosingRule, VerdictRule
from clinguide.kb.models import PlanStep as PackStep
from clinguide.kb.placeholders import describe_dose
from clinguide.plans.phase import derive_phase

SPASM_ORDER = ("none", "mild", "moderate", "severe")


def _case(case: Case | dict[str, Any] | None) -> Case:
    return coerce(case if case is not None else {}, Case, "case")


def starting_rule(kb: KnowledgeBase, drug_id: str, case: Case) -> DosingRule | None:
    """The older-adult rule for older adults when the pack has one, else the adult rule."""
    if case.age is not None and case.age >= kb.policy.older_adult_min_age:
        rule = kb.dosing(drug_id, "older-adult")
        if rule and rule.single_dose_mg:
            return rule
    return kb.dosing(drug_id, "adult")


def hypothetical_order(kb: KnowledgeBase, drug_id: str, case: Case, days: int) -> dict[str, Any] | None:
    """The lowest labelled starting order for this patient, as an Order dict for `check`.

    The same builder as the checks' suggested orders (``checks.base.start_order``).
    """
    from clinguide.checks.base import as_order, start_order

    rule = starting_rule(kb, drug_id, case)
    drug = kb.drugs.get(drug_id)
    suggested = start_order(kb, drug, rule, days) if rule is not None and drug is not None else None
    return as_order(suggested) if suggested is not None else None


def _spasm_rank(spasm: str | None) -> int:
    return SPASM_ORDER.index(spasm) if spasm in SPASM_ORDER else -1


def _matches(rule: VerdictRule, phase: str, spasm: str, findings: list[Finding],
             order_only: frozenset[str] = frozenset()) -> list[Finding] | None:
    """The findings the rule rests on (possibly none) if every condition of the rule holds, else None."""
    resting: list[Finding] = []
    if rule.when_finding_severity:
        hits = [f for f in findings if f.severity == rule.when_finding_severity and f.code not in order_only]
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


EDITORIAL_LABEL = "[Editorial note, not from a published source]"


def labelled(text: str, sources: list[str]) -> str:
    """Text that no cited source supports (its sources are empty) says so."""
    return text if sources else f"{EDITORIAL_LABEL} {text}"


def _step(kb: KnowledgeBase, step: PackStep) -> PlanStep:
    statements = [kb.statements[s] for s in step.statements if s in kb.statements]
    text = " ".join(labelled(kb.statement_text(s), list(s.sources)) for s in statements)
    sources = sorted({src for s in statements for src in s.sources})
    return PlanStep(id=step.id, title=step.title, text=text, kind=step.kind, sources=sources)


def pregnancy_weeks(case: Case, kb: KnowledgeBase) -> tuple[bool, float | None]:
    """(pregnant, gestational weeks or None) from the case's flag or its conditions."""
    from clinguide.clinical.case import PREGNANCY_CONDITION, prepare_case

    pregnant = case.pregnant is True or (
        case.pregnant is None and PREGNANCY_CONDITION in prepare_case(case, kb).conditions
    )
    weeks = getattr(case, "gestational_weeks", None)
    return pregnant, weeks


def _past(weeks: float | None, threshold: int) -> bool:
    """Pregnancy at or past ``threshold`` weeks; unknown weeks count as past it (the safer side)."""
    return weeks is None or weeks >= threshold


def _applies(step: PackStep, case: Case, first_line_tried: bool, older_adult_age: int,
             pregnancy: tuple[bool, float | None] = (False, None)) -> bool:
    when = step.when
    if when is None:
        return True
    pregnant, weeks = pregnancy
    if when.not_pregnant_from_weeks is not None and pregnant and _past(weeks, when.not_pregnant_from_weeks):
        return False
    if when.pregnant_from_weeks is not None and not (pregnant and _past(weeks, when.pregnant_from_weeks)):
        return False
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


def _missing(kb: KnowledgeBase, fields: list[str], why: str) -> Finding:
    names = ", ".join(fields)
    return Finding(
        code="missing-data",
        severity="warning",
        title=kb.wording("assess.missing-data", "title", fields=names),
        detail=why,
        suggestion=kb.wording("assess.missing-data", "suggestion", fields=names),
        sources=[],
    )


def _check(order: dict[str, Any] | None, case: Case, kb: KnowledgeBase) -> CheckResult | None:
    if order is None:
        return None
    from clinguide.checks.engine import check

    return check(order, case, kb=kb)


def _unknown_in_pregnancy(kb: KnowledgeBase, case: Case, drug_id: str) -> list[Finding]:
    """A drug with no sourced pregnancy guidance is not offered to a pregnant patient (never silent)."""
    drug = kb.drugs.get(drug_id)
    if drug is None or not pregnancy_weeks(case, kb)[0]:
        return []
    if drug.pregnancy is not None or any(r.code == "pregnancy" for r in drug.condition_rules):
        return []
    words = "assess.no-pregnancy-guidance"
    return [Finding(code="missing-data", severity="warning", title=kb.wording(words, "title", drug=drug.name),
                    detail=kb.wording(words, "detail", drug=drug.name), suggestion=None, sources=[])]


def _preferred(kb: KnowledgeBase, case: Case, phase: str,
               blocked: list[tuple[str, list[Finding]]]) -> PreferredRelaxant | None:
    """The first preferred relaxant for this setting and phase whose check for this patient is clean.

    Relaxants ruled out are appended to ``blocked`` with the findings that ruled them out.
    """
    for choice in kb.policy.preferred_relaxants:
        if choice.setting != case.setting or phase not in choice.phases:
            continue
        order = hypothetical_order(kb, choice.drug, case, choice.days)
        result = _check(order, case, kb)
        if order is None or result is None:
            continue
        groups = kb.policy.finding_groups
        blocking = [f for f in result.findings if f.severity == "critical" or (
            f.code in groups.relaxant_blocking and f.code not in groups.not_about_patient)]
        blocking += _unknown_in_pregnancy(kb, case, choice.drug)
        if blocking:
            blocked.append((choice.drug, blocking))
            continue
        rule = starting_rule(kb, choice.drug, case)
        assert rule is not None
        reasons = [Reason(text=labelled(choice.reason, list(choice.sources)), sources=list(choice.sources))]
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
        findings.append(_missing(kb, phase.missing, " ".join(phase.assumptions)))

    policy = kb.policy
    order_only = frozenset(policy.finding_groups.order_only)
    spasm = patient.spasm
    if spasm is None:
        spasm = policy.spasm_assumed
        assumptions.append(policy.spasm_assumed_text)
        findings.append(_missing(kb, ["spasm"], policy.spasm_missing_text))

    diazepam_order = hypothetical_order(kb, policy.assessed_drug, patient, policy.diazepam_max_days)
    diazepam_check = _check(diazepam_order, patient, kb)
    check_findings = diazepam_check.findings if diazepam_check else []
    urgent, urgent_step, red_finding = _red_flags(kb, patient)
    if red_finding is not None:
        check_findings = [red_finding, *check_findings]
    findings += check_findings

    diazepam = _verdict(kb, patient, phase.phase, spasm, check_findings)
    if diazepam.verdict != "consider-short-term":  # how to stop a course not advised is no finding
        findings = [f for f in findings if f.code not in order_only]

    pack_steps = _plan_steps(kb, patient, phase.phase, check_findings, findings)
    preferred = None
    if urgent is not None:  # no relaxant (and, by the level, no self-care) until the red flag has been assessed
        dropped = set(policy.urgent_plan_drop_kinds.get(urgent.level, ["muscle-relaxant"]))
        pack_steps = [s for s in pack_steps if s.kind not in dropped]
    if any(s.kind == "muscle-relaxant" for s in pack_steps):
        pack_steps, preferred = _offer_relaxant(kb, patient, phase.phase, pack_steps, findings)
    steps = [_step(kb, s) for s in pack_steps]
    if urgent_step is not None:
        steps.insert(0, urgent_step)
    if preferred is not None and diazepam.verdict == "consider-short-term":
        diazepam = diazepam.model_copy(update={"reasons": [*diazepam.reasons, Reason(
            text=kb.phrase("assess.prefer-relaxant", relaxant=kb.drugs[preferred.drug].name,
                           drug=kb.drugs[policy.assessed_drug].name),
            sources=list(preferred.reasons[0].sources) if preferred.reasons else [])]})

    return Plan(
        urgent=urgent,
        setting=patient.setting,
        phase=phase.phase,
        assumptions=assumptions,
        steps=steps,
        diazepam=diazepam,
        preferred_muscle_relaxant=preferred,
        findings=findings,
        sources=_source_refs(kb, _cited(steps, diazepam, findings, preferred, urgent)),
        knowledge_version=kb.version,
    )


def _verdict(kb: KnowledgeBase, patient: Case, phase: str, spasm: str,
             check_findings: list[Finding]) -> DiazepamAssessment:
    """The first of the pack's verdict rules that holds, with the findings it rests on."""
    order_only = frozenset(kb.policy.finding_groups.order_only)
    for rule in kb.policy.diazepam_verdict_rules:
        resting = _matches(rule, phase, spasm, check_findings, order_only)
        if resting is not None:
            break
    else:  # the pack's last rule should be unconditional; fail safe if not
        raise LookupError("no diazepam verdict rule matched; the pack's policy needs a final default rule")
    reasons = [Reason(text=labelled(rule.reason, list(rule.sources)), sources=list(rule.sources))]
    reasons += [Reason(text=_finding_words(f), sources=list(f.sources)) for f in resting]
    diazepam = DiazepamAssessment(verdict=rule.verdict, reasons=reasons)
    if rule.verdict == "consider-short-term":
        diazepam = _short_term_details(kb, patient, diazepam, check_findings)
    return diazepam


def _plan_steps(kb: KnowledgeBase, patient: Case, phase: str, check_findings: list[Finding],
                findings: list[Finding]) -> list[PackStep]:
    """The pack plan's steps that apply to this patient (a missing plan is a finding)."""
    plan = kb.plan_for(patient.setting, phase)
    if plan is None:
        findings.append(_missing(kb, ["plan"], kb.phrase("assess.no-plan", setting=patient.setting, phase=phase)))
        return []
    first_line_tried = not any(f.code == "first-line-not-tried" for f in check_findings)
    pregnancy = pregnancy_weeks(patient, kb)
    return [s for s in plan.steps
            if _applies(s, patient, first_line_tried, kb.policy.older_adult_min_age, pregnancy)]


def _offer_relaxant(kb: KnowledgeBase, patient: Case, phase: str, pack_steps: list[PackStep],
                    findings: list[Finding]) -> tuple[list[PackStep], PreferredRelaxant | None]:
    """A non-benzodiazepine relaxant is offered exactly when it passes its own check for this patient.

    If the pack's choice is ruled out, the relaxant step goes and a finding says why, so the
    steps and the offer never disagree; with none defined for the phase the step stands alone.
    """
    blocked: list[tuple[str, list[Finding]]] = []
    preferred = _preferred(kb, patient, phase, blocked)
    if preferred is None and blocked:
        findings.append(_relaxant_not_offered(kb, blocked))
        return [s for s in pack_steps if s.kind != "muscle-relaxant"], None
    return pack_steps, preferred


def _cited(steps: list[PlanStep], diazepam: DiazepamAssessment, findings: list[Finding],
           preferred: PreferredRelaxant | None, urgent: PlanUrgent | None) -> set[str]:
    """Every source the plan cites."""
    cited = {s for step in steps for s in step.sources}
    cited |= {s for r in diazepam.reasons for s in r.sources}
    cited |= {s for r in diazepam.monitoring or [] for s in r.sources}
    cited |= {s for f in findings for s in f.sources}
    if preferred:
        cited |= {s for r in preferred.reasons for s in r.sources}
    if urgent is not None:
        cited |= set(urgent.sources)
    return cited


def _finding_words(finding: Finding) -> str:
    """'Title: detail', without repeating a title the detail already starts with."""
    head = finding.title.split(":")[0].strip().lower()
    return finding.detail if finding.detail.lower().startswith(head) else f"{finding.title}: {finding.detail}"


def _red_flags(kb: KnowledgeBase, case: Case) -> tuple[PlanUrgent | None, PlanStep | None, Finding | None]:
    """Red flags among the case's symptoms and conditions: the urgent block, the first step, a finding."""
    from clinguide.clinical.red_flags import find_red_flags

    matches = find_red_flags(kb, [*case.symptoms, *case.conditions], setting=case.setting)
    if not matches:
        return None, None, None
    level = matches[0].level
    top = [m for m in matches if m.level == level]
    names = {flag.id: flag.name for flag in kb.red_flags}
    text = " ".join(dict.fromkeys(m.clinician for m in top))
    sources = list(dict.fromkeys(s for m in matches for s in m.sources))
    urgent = PlanUrgent(level=level, text=text, sources=sources, flags=[m.id for m in matches],
                    matched=list(dict.fromkeys(m.matched for m in matches)))
    every = " ".join(dict.fromkeys(m.clinician for m in matches))
    flags = "; ".join(dict.fromkeys(names.get(m.id, m.id) for m in matches))
    step = PlanStep(id="urgent-assessment", title=kb.wording("assess.urgent-step", "title", flags=flags),
                    text=every, kind="urgent", sources=sources)
    finding = Finding(code="red-flag", severity="warning", title=kb.wording("assess.red-flag", "title", flags=flags),
                      detail=kb.wording("assess.red-flag", "detail", matched=", ".join(urgent.matched), text=every),
                      suggestion=None, sources=sources)
    return urgent, step, finding


def _relaxant_not_offered(kb: KnowledgeBase, blocked: list[tuple[str, list[Finding]]]) -> Finding:
    """Why the plan's muscle-relaxant step was left out for this patient."""
    parts, sources = [], []
    for drug_id, found in blocked:
        name = kb.drugs[drug_id].name if drug_id in kb.drugs else drug_id
        parts.append(f"{name}: " + "; ".join(dict.fromkeys(f.title for f in found[:3])))
        sources += [s for f in found for s in f.sources]
    reasons = ". ".join(parts) if parts else kb.phrase("assess.no-preferred-relaxant")
    words = "assess.relaxant-not-offered"
    return Finding(code="caution-condition", severity="warning", title=kb.wording(words, "title"),
                   detail=" ".join(kb.wording(words, "detail", reasons=reasons).split()), suggestion=None,
                   sources=list(dict.fromkeys(sources)))


def _short_term_details(
    kb: KnowledgeBase, case: Case, diazepam: DiazepamAssessment, findings: list[Finding]
) -> DiazepamAssessment:
    policy = kb.policy
    drug = kb.drugs[policy.assessed_drug]
    rule = starting_rule(kb, drug.id, case)
    max_days = policy.diazepam_max_days
    if drug.duration_limit:
        max_days = min(max_days, drug.duration_limit.days)
    taper_finding = next((f for f in findings if f.code == "taper-needed"), None)
    taper = taper_finding.taper_plan if taper_finding else None
    monitoring = [
        Reason(text=labelled(kb.statement_text(kb.statements[s]), list(kb.statements[s].sources)),
               sources=list(kb.statements[s].sources))
        for s in policy.monitoring
        if s in kb.statements
    ]
    follow_up = [
        labelled(kb.phrase("assess.reassess", days=policy.reassess_within_days, drug=drug.name),
                 list(policy.reassess_sources)),
        kb.phrase("assess.stop-by", days=max_days),
    ]
    order = hypothetical_order(kb, drug.id, case, max_days)
    dosing = None
    if rule and rule.single_dose_mg and order:
        population = kb.phrase(f"assess.population.{'older-adult' if rule.population == 'older-adult' else 'adult'}")
        dosing = kb.phrase("assess.start-dose", dose=order["dose"], frequency=order["frequency"],
                           population=population, range=describe_dose(rule))
    return diazepam.model_copy(
        update={
            "dosing": dosing,
            "max_days": max_days,
            "taper": taper,
            "follow_up": follow_up,
            "monitoring": monitoring,
        }
    )
