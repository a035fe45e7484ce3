"""Finding wording: the templates the checks fill, which live in the pack's ``findings.yaml``.

The checks name a template and pass named fields; the words are data. ``TEMPLATES`` is the
contract between code and pack: every id the code uses, the parts it needs (title, detail,
suggestion, or ``text`` for a phrase used inside another) and the fields the code fills.
``problems`` reports a pack entry that breaks it, so ``clinguide kb validate`` fails on a
missing template, a missing part, an unknown field or an entry no code uses.
"""

from __future__ import annotations

from string import Formatter
from typing import Any

# id -> (parts the code reads, fields the code fills), each space-separated
TEMPLATES: dict[str, tuple[str, str]] = {
    "data.unknown-drug": ("title detail", "problem"),
    "data.unparseable-order": ("title detail", "field problem"),
    "data.no-dose": ("title detail", ""),
    "data.ordered-drug": ("text", ""),
    "data.condition-interpreted": ("title detail", "note"),
    "data.procedure-read": ("title detail", "setting text"),
    "data.procedure-other-setting": ("title detail suggestion", "case_setting drug setting text"),
    "interaction.stopped": ("title detail", "drug other text"),
    "interaction.stopped-within-days": ("title detail suggestion", "days drug other rule_text title"),
    "data.unknown-condition": ("title detail", "drug text"),
    "data.unknown-medication": ("title detail", "drug text"),
    "data.unknown-allergy": ("title detail", "text"),
    "condition.age-missing": ("title detail", "conditions min_age"),
    "allergy.drug": ("title detail", "drug hypersensitivity names text"),
    "allergy.class": ("title detail", "class_name class_name_lower drug hypersensitivity text"),
    "duration.days-missing": ("title detail", "drug limit_days"),
    "duration.exceeds-limit": ("title detail", "days drug limit_days limit_text"),
    "dose.not-mass": ("title detail", "dose_text drug unit"),
    "dose.tablets-without-strength": ("title detail", "dose_text drug unit"),
    "dose.unit-assumed": ("title detail", "dose drug"),
    "dose.unchecked-agent": ("title detail", "drug"),
    "dose.unchecked-no-rule": ("title detail", "drug formulation"),
    "dose.unchecked-no-limits": ("title detail", "drug"),
    "dose.implausible-high": ("title detail", "dose drug factor max min"),
    "dose.implausible-low": ("title detail", "dose drug factor max min"),
    "dose.single-above-max": ("title detail", "dose drug max min"),
    "dose.single-far-above-max": ("title detail", "dose drug factor max min rationale"),
    "dose.frequency-missing": ("title detail", ""),
    "dose.the-frequency": ("text", ""),
    "dose.frequency-above-max": ("title detail", "drug frequency how per_day"),
    "dose.daily-above-max": ("title detail", "basis daily dose drug limit per_day"),
    "dose.daily-far-above-max": ("title detail", "basis daily dose drug factor limit per_day rationale times"),
    "dose.component-single-above-max": ("title detail", "dose drug max name"),
    "dose.component-daily-above-max": ("title detail", "basis daily dose drug limit name per_day"),
    "dose.component-unchecked": ("title detail", "drug names"),
    "dose.over-single": ("text", "dose max"),
    "dose.over-per-day": ("text", "how per_day"),
    "dose.over-daily": ("text", "basis daily limit"),
    "dose.allows-doses-per-day": ("text", "max"),
    "dose.allows-interval": ("text", "hours per_day"),
    "dose.basis-derived": ("text", "max per_day"),
    "dose.basis.label": ("text", ""),
    "dose.basis.top-of-labelled-range": ("text", ""),
    "dose.basis.compendium": ("text", ""),
    "dose.basis.criteria": ("text", ""),
    "dose.basis.regulator": ("text", ""),
    "population.age-missing-older-adult": ("title detail", "drug older_adult_age"),
    "population.older-adult-avoid": ("title detail", "age drug note older_adult_age rule_text strength"),
    "population.older-adult-caution": ("title detail", "age drug note older_adult_age rule_text strength"),
    "population.evidence-quality": ("text", "quality"),
    "population.evidence-strength": ("text", "strength"),
    "population.evidence": ("text", "parts"),
    "population.older-adult-dose-high": ("title detail", "drug note over start"),
    "population.pregnancy": ("title detail", "text"),
    "population.pregnancy-status-missing": ("title detail", "drug"),
    "population.gestation-missing": ("title detail", "conditions drug"),
    "population.impairment-dose-high": ("title detail", "condition condition_lower note over"),
    "population.pediatric-dosing": ("title detail", "adult_age age from_age rule_text"),
    "population.pediatric-not-assessed": ("title detail", "adult_age age drug rule_text"),
    "population.no-pediatric-rule": ("text", "drug"),
    "setting.not-recommended": ("title detail", "drug rule_text setting"),
    "setting.with-phase": ("text", "phase setting"),
    "setting.first-line-not-tried": ("title detail", "accepted rule_text unknown"),
    "setting.tried-not-recognised": ("text", "tried"),
    "setting.phase-unknown": ("title detail", "drug phases setting severity"),
    "interaction.found": ("title detail", "count drug others rule_text title"),
    "interaction.count": ("text", "counted min_count"),
    "interaction.age-missing": ("title detail", ""),
    "taper.daily-dose-unknown": ("title detail", "days drug"),
    "taper.short-course": ("title detail", "band_text exposure made plan"),
    "taper.short-course-no-steps": ("title detail", "band_text exposure made"),
    "taper.needed": ("title detail", "band_text exposure made plan"),
    "taper.exposure": ("text", "daily days"),
    "taper.exposure-prn": ("text", "daily days"),
    "taper.tablets-made": ("text", "strengths"),
    "taper.tablets-made-halves": ("text", "strengths"),
    "assess.missing-data": ("title suggestion", "fields"),
    "assess.no-plan": ("text", "setting phase"),
    "assess.no-pregnancy-guidance": ("title detail", "drug"),
    "assess.prefer-relaxant": ("text", "relaxant drug"),
    "assess.red-flag": ("title detail", "flags matched text"),
    "assess.urgent-step": ("title", "flags"),
    "assess.relaxant-not-offered": ("title detail", "reasons"),
    "assess.no-preferred-relaxant": ("text", ""),
    "assess.reassess": ("text", "days drug"),
    "assess.stop-by": ("text", "days"),
    "assess.start-dose": ("text", "dose frequency population range"),
    "assess.population.adult": ("text", ""),
    "assess.population.older-adult": ("text", ""),
    "order.prn": ("text", ""),
    "order.up-to-days": ("text", "days"),
    "order.days": ("text", "days"),
    "merge.missing-data": ("text", "what"),
}
# A condition rule's title is chosen by its code: ``condition.<code>`` with the field ``conditions``.
CONDITION_PREFIX = "condition."


def fields_in(text: str) -> set[str]:
    """The named fields a template uses."""
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


class WordingError(LookupError):
    """The pack has no template (or part) the code asked for: a pack error, never user input."""


def fill(template: Any, part: str, fields: dict[str, Any]) -> str:
    """One part of a template with its fields filled in."""
    text = getattr(template, part, None)
    if text is None:
        raise WordingError(f"finding wording '{template.id}' has no {part}")
    return str(text).format_map(fields)


def problems(entries: dict[str, Any], condition_codes: set[str]) -> list[tuple[str, str, str]]:
    """(id, field, message) for every entry that breaks the contract with the code."""
    out: list[tuple[str, str, str]] = []
    expected = dict(TEMPLATES)
    for code in condition_codes:
        expected.setdefault(CONDITION_PREFIX + code, ("title", "conditions"))
    for template_id, (parts, filled) in sorted(expected.items()):
        allowed = filled.split()
        entry = entries.get(template_id)
        if entry is None:
            out.append((template_id, "id", "missing: the checks use this wording"))
            continue
        for part in parts.split():
            if getattr(entry, part, None) is None:
                out.append((template_id, part, f"missing: the checks read its {part}"))
        for part in ("title", "detail", "suggestion", "text"):
            text = getattr(entry, part, None)
            if text is None:
                continue
            try:
                unknown = fields_in(text) - set(allowed)
            except ValueError as exc:
                out.append((template_id, part, f"not a valid template: {exc}"))
                continue
            if unknown:
                out.append((template_id, part, f"unknown field(s) {', '.join(sorted(unknown))}; "
                            f"the code fills {', '.join(allowed) or 'none'}"))
    for template_id in sorted(set(entries) - set(expected)):
        out.append((template_id, "id", "not used by any check"))
    return out
