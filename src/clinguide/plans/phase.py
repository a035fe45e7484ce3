"""Which phase of care a case is in, from the pack's phase definitions."""

from __future__ import annotations

from dataclasses import dataclass, field

from clinguide.contracts import Case
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.kb.models import PhaseDefinition


@dataclass
class PhaseResult:
    phase: str
    definition: PhaseDefinition
    assumptions: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _within(value: float, low: float, high: float) -> bool:
    return low <= value < high


def derive_phase(case: Case, kb: KnowledgeBase) -> PhaseResult:
    """Match the case against the setting's phases; when data are missing, say what was assumed.

    The assumed phase is the setting's first listed phase that the given data allow
    (for back spasm the acute phase, for spinal fusion the early post-operative one).
    A setting whose phases are defined by days of symptoms is placed by ``symptom_days``;
    one whose phases are defined around surgery by the surgery phase and hours since surgery.
    """
    phases = [p for p in kb.phases if p.setting == case.setting]
    if not phases:
        raise LookupError(f"the knowledge pack defines no phases for setting '{case.setting}'")
    if any(p.symptom_days is not None for p in phases):
        return _by_symptom_days(case, phases)
    return _around_surgery(case, phases)


def _by_symptom_days(case: Case, phases: list[PhaseDefinition]) -> PhaseResult:
    if case.symptom_days is None:
        first = next(p for p in phases if p.symptom_days is not None)
        return PhaseResult(
            first.id,
            first,
            assumptions=[f"Symptom duration not given: assumed the {first.name.lower()} phase."],
            missing=["symptom_days"],
        )
    for p in phases:
        if p.symptom_days and _within(case.symptom_days, p.symptom_days.min, p.symptom_days.max):
            return PhaseResult(p.id, p)
    raise LookupError(f"no phase of '{case.setting}' covers {case.symptom_days} days of symptoms")


def _around_surgery(case: Case, phases: list[PhaseDefinition]) -> PhaseResult:
    missing: list[str] = []
    assumptions: list[str] = []
    surgery_phase = case.surgery_phase
    if surgery_phase is None and case.hours_since_surgery is not None:
        surgery_phase = "post-op"
        assumptions.append("Surgery phase not given: hours since surgery imply the post-operative phase.")
    elif surgery_phase is None:
        missing.append("surgery_phase")
    candidates = [p for p in phases if surgery_phase is None or p.surgery_phase == surgery_phase]
    timed = [p for p in candidates if p.hours_since_surgery is not None]
    placed = _timed_phase(case, candidates, timed, surgery_phase, assumptions, missing) if timed else None
    if placed is not None:
        return placed
    candidates = [p for p in candidates if p.hours_since_surgery is not None or not timed]
    if len(candidates) == 1 and not timed:
        return PhaseResult(candidates[0].id, candidates[0], assumptions, missing)
    chosen = (timed or candidates)[0]
    assumptions.append(
        f"{' and '.join(f.replace('_', ' ') for f in missing) or 'Timing'} not given: "
        f"assumed the {chosen.name.lower()} phase."
    )
    return PhaseResult(chosen.id, chosen, assumptions, missing)


def _timed_phase(case: Case, candidates: list[PhaseDefinition], timed: list[PhaseDefinition],
                 surgery_phase: str | None, assumptions: list[str], missing: list[str]) -> PhaseResult | None:
    """The phase the hours since surgery place the case in; without hours, the stage's untimed phase."""
    hours = case.hours_since_surgery
    if hours is not None:
        return next((PhaseResult(p.id, p, assumptions, missing) for p in timed if p.hours_since_surgery
                     and _within(hours, p.hours_since_surgery.min, p.hours_since_surgery.max)), None)
    missing.append("hours_since_surgery")
    # Do not guess the hours: the pack's untimed phase for the same stage (a plan that
    # holds at any time after surgery) is used, and the hours are asked for.
    stages = {p.surgery_phase for p in timed}
    untimed = [p for p in candidates if p.hours_since_surgery is None and p.surgery_phase in stages]
    if not untimed:
        return None
    chosen = untimed[0]
    if surgery_phase is None:
        assumptions.append(f"Surgery phase not given: planned for the {chosen.name.lower()} phase.")
    assumptions.append(
        "Hours since surgery not given: the plan holds at any time after surgery; "
        "give the hours for the phase-specific plan."
    )
    return PhaseResult(chosen.id, chosen, assumptions, missing)
