"""assess coherence (issue 12, item 7): relaxant offer and steps agree; no assumed timing; pregnancy; kidneys."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinguide.contracts import Case
from clinguide.kb import shipped_kb
from clinguide.plans.assess import _applies, assess

TRIED = ["heat", "ibuprofen", "staying active"]
ADULT = {"age": 44, "sex": "female", "pregnant": False, "symptom_days": 5, "spasm": "severe", "tried": TRIED}
FUSION = {"setting": "post-spinal-fusion", "surgery_phase": "post-op", "age": 55, "spasm": "severe"}
NSAIDS = {"ibuprofen", "naproxen", "celecoxib"}


@pytest.fixture(scope="module")
def kb():
    return shipped_kb()


def nsaid_steps(kb, plan):
    pack = kb.plan_for(plan.setting, plan.phase)
    by_id = {s.id: s for s in pack.steps}
    return [s for s in plan.steps if set(by_id[s.id].drugs) & NSAIDS]


def test_healthy_adult_after_first_line_care_gets_a_preferred_relaxant_matching_the_steps(kb):
    p = assess(ADULT, kb=kb)
    assert p.diazepam.verdict == "consider-short-term"
    assert p.preferred_muscle_relaxant is not None
    assert any(s.kind == "muscle-relaxant" for s in p.steps)


def test_post_fusion_without_hours_asks_for_them_instead_of_assuming_the_first_48_hours(kb):
    p = assess(FUSION, kb=kb)
    assert p.phase == "post-op"
    missing = [f for f in p.findings if f.code == "missing-data"]
    assert any("hours_since_surgery" in f.title for f in missing)
    assert not any("48" in a or "first" in a.lower() for a in p.assumptions)
    assert p.diazepam.verdict == "avoid"


@pytest.mark.parametrize(("hours", "phase"), [(24, "post-op-early"), (72, "post-op-late")])
def test_post_fusion_with_hours_keeps_the_timed_phase(kb, hours, phase):
    assert assess({**FUSION, "hours_since_surgery": hours}, kb=kb).phase == phase


@pytest.mark.parametrize("case", [
    {**ADULT, "pregnant": True},
    {**ADULT, "pregnant": None, "conditions": ["pregnancy"]},
    {**ADULT, "pregnant": True, "symptom_days": 40},
    {**ADULT, "pregnant": True, "symptom_days": 200},
    {**FUSION, "sex": "female", "pregnant": True},
    {**FUSION, "sex": "female", "pregnant": True, "hours_since_surgery": 10},
    {**FUSION, "sex": "female", "pregnant": True, "hours_since_surgery": 100},
])
def test_pregnancy_of_unknown_weeks_is_not_offered_an_nsaid(kb, case):
    p = assess(case, kb=kb)
    assert not nsaid_steps(kb, p), [s.title for s in p.steps]
    assert not any("NSAID first" in s.title for s in p.steps)
    assert any("acetaminophen" in s.title.lower() and "pregnancy" in s.title.lower() for s in p.steps)
    assert any("S98" in s.sources for s in p.steps)


def test_not_pregnant_keeps_the_nsaid_step(kb):
    p = assess(ADULT, kb=kb)
    assert nsaid_steps(kb, p)
    assert not any("pregnancy" in s.title.lower() for s in p.steps)


def test_the_weeks_threshold_comes_from_the_pack_and_early_pregnancy_keeps_nsaids(kb):
    step = next(s for s in kb.plan_for("back-spasm", "acute").steps if s.id == "acute-nsaid")
    alt = next(s for s in kb.plan_for("back-spasm", "acute").steps if s.id == "acute-pregnancy-analgesic")
    assert step.when.not_pregnant_from_weeks == 20
    case = Case.model_validate(ADULT)
    for weeks, nsaid_shown in ((12.0, True), (19.5, True), (20.0, False), (34.0, False), (None, False)):
        assert _applies(step, case, True, 65, (True, weeks)) is nsaid_shown
        assert _applies(alt, case, True, 65, (True, weeks)) is not nsaid_shown


def test_after_fusion_with_severe_renal_impairment_baclofen_is_not_offered_blindly(kb):
    for hours in (None, 24, 96):
        case = {**FUSION, "conditions": ["severe renal impairment"]}
        if hours is not None:
            case["hours_since_surgery"] = hours
        p = assess(case, kb=kb)
        assert p.preferred_muscle_relaxant is None
        assert not any(s.kind == "muscle-relaxant" for s in p.steps)
        why = [f for f in p.findings if f.title == "No muscle relaxant offered for this patient"]
        assert why and "Baclofen" in why[0].detail and why[0].sources


def test_after_fusion_without_kidney_disease_baclofen_is_offered(kb):
    p = assess({**FUSION, "hours_since_surgery": 96}, kb=kb)
    assert p.preferred_muscle_relaxant is not None and p.preferred_muscle_relaxant.drug == "baclofen"


cases = st.fixed_dictionaries(
    {"spasm": st.sampled_from(["none", "mild", "moderate", "severe"])},
    optional={
        "age": st.sampled_from([30, 50, 64, 70, 85]),
        "sex": st.sampled_from(["female", "male"]),
        "pregnant": st.booleans(),
        "symptom_days": st.sampled_from([3, 20, 50, 150]),
        "tried": st.sampled_from([[], ["heat"], TRIED]),
        "conditions": st.lists(st.sampled_from(["copd", "renal impairment", "severe renal impairment",
                                                "liver disease", "heart failure", "depression",
                                                "substance use disorder"]), max_size=2, unique=True),
        "medications": st.lists(st.sampled_from(["oxycodone", "sertraline", "lisinopril", "phenelzine"]),
                                max_size=2, unique=True),
    },
)
where = st.sampled_from([{}, {"setting": "post-spinal-fusion", "surgery_phase": "post-op"},
                         {"setting": "post-spinal-fusion", "surgery_phase": "post-op", "hours_since_surgery": 30},
                         {"setting": "post-spinal-fusion", "surgery_phase": "post-op", "hours_since_surgery": 300}])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases, setting=where)
def test_offer_and_steps_always_agree(kb, case, setting):
    p = assess({**case, **setting}, kb=kb)
    has_step = any(s.kind == "muscle-relaxant" for s in p.steps)
    defined = any(c.setting == p.setting and p.phase in c.phases for c in kb.policy.preferred_relaxants)
    if defined:
        assert (p.preferred_muscle_relaxant is not None) == has_step
    else:
        assert p.preferred_muscle_relaxant is None
    if p.preferred_muscle_relaxant is not None:
        assert p.preferred_muscle_relaxant.check is not None
        assert p.preferred_muscle_relaxant.check.verdict != "do-not-prescribe"


def test_pregnant_patient_is_not_offered_a_relaxant_without_sourced_pregnancy_guidance(kb):
    p = assess({**ADULT, "pregnant": True}, kb=kb)
    choice = next(c.drug for c in kb.policy.preferred_relaxants if c.setting == "back-spasm")
    drug = kb.drugs[choice]
    if drug.pregnancy is None and not any(r.code == "pregnancy" for r in drug.condition_rules):
        assert p.preferred_muscle_relaxant is None
        why = next(f for f in p.findings if f.title == "No muscle relaxant offered for this patient")
        assert "pregnancy guidance" in why.detail
    assert not any(s.kind == "muscle-relaxant" for s in p.steps) or p.preferred_muscle_relaxant is not None
