"""Red flags in assess (issue 12, item 5): an urgent block first, an urgent first step, no green light."""

from __future__ import annotations

import pytest

from clinguide.clinical.red_flags import LEVEL_ORDER
from clinguide.kb import shipped_kb
from clinguide.plans.assess import assess

GREEN = {"age": 40, "sex": "male", "symptom_days": 5, "spasm": "severe", "tried": ["heat", "ibuprofen"]}


@pytest.fixture(scope="module")
def kb():
    return shipped_kb()


def test_without_red_flags_the_case_is_a_green_light_and_has_no_urgent_block(kb):
    p = assess(GREEN, kb=kb)
    assert p.urgent is None and p.diazepam.verdict == "consider-short-term"
    assert p.steps[0].id != "urgent-assessment"


@pytest.mark.parametrize(("where", "text", "level"), [
    ("symptoms", "new urinary incontinence", "emergency"),
    ("symptoms", "can't pee", "emergency"),
    ("conditions", "urinary retention", "emergency"),
    ("symptoms", "fever", "same-day"),
])
def test_red_flag_gives_urgent_block_first_step_and_no_green_light(kb, where, text, level):
    p = assess({**GREEN, where: [text]}, kb=kb)
    assert p.urgent is not None and p.urgent.level == level
    assert p.urgent.text and p.urgent.sources and all(s in kb.sources for s in p.urgent.sources)
    assert p.steps[0].id == "urgent-assessment" and p.steps[0].sources
    assert p.diazepam.verdict != "consider-short-term"
    assert p.preferred_muscle_relaxant is None
    assert any(f.code == "red-flag" for f in p.findings)
    assert next(iter(p.to_json())) == "urgent"  # the block comes first in the JSON too


def test_negated_red_flag_is_not_a_red_flag(kb):
    p = assess({**GREEN, "symptoms": ["no fever", "denies urinary incontinence"]}, kb=kb)
    assert p.urgent is None and p.diazepam.verdict == "consider-short-term"


def test_the_most_urgent_level_leads(kb):
    p = assess({**GREEN, "symptoms": ["fever", "urinary incontinence"]}, kb=kb)
    assert p.urgent.level == "emergency"
    assert set(p.urgent.flags) >= {"cauda-equina-bladder", "infection-fever"}
    assert LEVEL_ORDER[0] == "emergency"


def test_red_flag_after_fusion_uses_the_post_fusion_flags(kb):
    case = {"setting": "post-spinal-fusion", "surgery_phase": "post-op", "hours_since_surgery": 72,
            "spasm": "severe", "symptoms": ["pus from the incision"]}
    p = assess(case, kb=kb)
    assert p.urgent is not None and p.steps[0].id == "urgent-assessment"
    assert p.diazepam.verdict == "avoid"


def test_verdict_reason_names_the_red_flag(kb):
    p = assess({**GREEN, "symptoms": ["fever"]}, kb=kb)
    assert p.diazepam.verdict == "not-yet"
    assert any("red flag" in r.text.lower() for r in p.diazepam.reasons)
    assert any(s in ("S114", "S113") for r in p.diazepam.reasons for s in r.sources)


@pytest.mark.parametrize(("symptom", "level"), [("fever", "same-day"), ("leg weakness getting worse", "same-day"),
                                                ("cant pee", "emergency")])
def test_no_self_care_or_relaxant_step_beside_an_urgent_assessment(kb, symptom, level):
    """'Urgent assessment today' followed by 'reassure and keep up normal activities', heat or 'if diazepam is
    prescribed' contradicts itself: under an emergency or same-day flag only what to avoid stays."""
    plan = assess({**GREEN, "symptoms": [symptom]}, kb=kb)
    assert plan.urgent is not None and plan.urgent.level == level
    assert plan.steps[0].kind == "urgent"
    assert {s.kind for s in plan.steps[1:]} <= {"avoid"}, [(s.id, s.kind) for s in plan.steps]
    assert not any("reassure" in s.title.lower() or "diazepam is prescribed" in s.title.lower() for s in plan.steps)


def test_after_fusion_the_surgical_pain_plan_continues_under_a_warning_sign(kb):
    case = {"age": 60, "sex": "male", "setting": "post-spinal-fusion", "hours_since_surgery": 100,
            "spasm": "severe", "symptoms": ["fever"]}
    plan = assess(case, kb=kb)
    assert plan.urgent is not None and plan.urgent.level == "contact-surgical-team"
    kinds = {s.kind for s in plan.steps}
    assert "analgesic" in kinds and "muscle-relaxant" not in kinds
