"""Suggestions that pass their own check, one coherent safer order per result (issue 12, item 6)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinguide.checks.engine import check
from clinguide.checks.safer import as_order, over_limit
from clinguide.plans.assess import assess

RELAXANTS = ["diazepam", "cyclobenzaprine", "tizanidine", "baclofen", "methocarbamol", "metaxalone",
             "carisoprodol", "chlorzoxazone", "orphenadrine"]
CONDITIONS = ["copd", "sleep-apnea", "myasthenia-gravis", "hepatic-impairment", "severe-hepatic-impairment",
              "renal-impairment", "severe-renal-impairment", "substance-use-disorder", "falls-history",
              "narrow-angle-glaucoma", "depression", "heart-failure", "seizure-disorder", "hypotension"]
MEDICATIONS = ["oxycodone", "sertraline", "ciprofloxacin", "fluvoxamine", "phenelzine", "lorazepam",
               "ibuprofen", "acetaminophen", "gabapentin", "lisinopril"]

patients = st.fixed_dictionaries(
    {},
    optional={
        "age": st.sampled_from([20, 35, 50, 64, 65, 72, 81, 90]),
        "sex": st.sampled_from(["female", "male"]),
        "pregnant": st.booleans(),
        "conditions": st.lists(st.sampled_from(CONDITIONS), max_size=3, unique=True),
        "medications": st.lists(st.sampled_from(MEDICATIONS), max_size=2, unique=True),
        "tried": st.lists(st.sampled_from(["heat", "nsaid", "stretching"]), max_size=2, unique=True),
        "alcohol": st.sampled_from(["none", "moderate", "heavy"]),
        "symptom_days": st.sampled_from([2, 10, 40, 120]),
        "spasm": st.sampled_from(["mild", "moderate", "severe"]),
    },
)
orders = st.fixed_dictionaries({
    "drug": st.sampled_from(RELAXANTS),
    "dose": st.sampled_from(["1 mg", "2 mg", "5 mg", "10 mg", "20 mg", "50 mg", "350 mg", "750 mg", "1500 mg"]),
    "frequency": st.sampled_from(["once daily", "twice daily", "TID", "QID", "q4h", "q6h"]),
    "days": st.sampled_from([3, 5, 7, 14, 21, 30, 60]),
})
settings_ = st.sampled_from([{}, {"setting": "post-spinal-fusion", "surgery_phase": "post-op",
                                   "hours_since_surgery": 24}, {"setting": "post-spinal-fusion",
                                                                "surgery_phase": "post-op",
                                                                "hours_since_surgery": 120}])


@pytest.fixture(scope="module")
def kb():
    from clinguide.kb import shipped_kb

    return shipped_kb()


def _safe_for(kb, suggested, case, prn=False):
    order = as_order(suggested, prn=prn)
    assert order is not None, suggested
    result = check(order, case, kb=kb)
    assert not over_limit(result.findings), (suggested.text, case, [(f.code, f.title) for f in result.findings])
    return result


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=orders, patient=patients, where=settings_)
def test_every_suggested_order_passes_its_own_check(kb, order, patient, where):
    case = {**patient, **where}
    result = check(order, case, kb=kb)
    suggested = result.suggested_order
    # one coherent order: every finding that proposes an order proposes that same one
    for f in result.findings:
        assert f.suggested_order is None or f.suggested_order == suggested, (f.code, f.suggested_order, suggested)
    if suggested is None:
        return
    _safe_for(kb, suggested, case, prn=result.order.prn)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patient=patients, where=settings_)
def test_every_preferred_relaxant_passes_its_own_check(kb, patient, where):
    case = {**patient, **where}
    plan = assess(case, kb=kb)
    relaxant = plan.preferred_muscle_relaxant
    if relaxant is None:
        return
    order = {"drug": relaxant.drug, "dose": relaxant.dose.split(" mg")[0] + " mg", "frequency": relaxant.frequency,
             "days": relaxant.max_days}
    result = check(order, case, kb=kb)
    assert not over_limit(result.findings), (relaxant, [(f.code, f.title) for f in result.findings])


def test_older_adult_gets_one_safer_order_not_two_contradicting_ones(kb):
    result = check("diazepam 10 mg qid x 30 days", {"age": 75, "sex": "male", "tried": ["heat"]}, kb=kb)
    s = result.suggested_order
    assert s is not None and s.dose_mg <= 2.5 and s.doses_per_day <= 2 and s.days <= 14
    offered = [f.suggested_order for f in result.findings if f.suggested_order]
    assert offered and all(o == s for o in offered)


def test_no_safer_order_when_the_drug_itself_must_not_be_given(kb):
    result = check("diazepam 5 mg tid x 30 days", {"age": 40, "medications": ["oxycodone"]}, kb=kb)
    assert result.verdict == "do-not-prescribe" and result.suggested_order is None
    assert all(f.suggested_order is None for f in result.findings)


def test_no_safer_order_for_an_order_that_is_fine(kb):
    result = check("diazepam 2 mg tid x 5 days", {"age": 40, "sex": "male", "tried": ["heat"], "symptom_days": 3},
                   kb=kb)
    assert result.suggested_order is None


def test_post_fusion_alternative_is_checked_for_the_patient(kb):
    base = {"setting": "post-spinal-fusion", "surgery_phase": "post-op", "hours_since_surgery": 72, "age": 50}
    plain = check("diazepam 5 mg tid x 5 days", base, kb=kb)
    assert plain.suggested_order is not None and plain.suggested_order.drug == "baclofen"
    renal = check("diazepam 5 mg tid x 5 days", {**base, "conditions": ["severe-renal-impairment"]}, kb=kb)
    assert renal.suggested_order is None or renal.suggested_order.drug != "baclofen" or not any(
        f.code == "renal-impairment" for f in check(as_order(renal.suggested_order), base | {
            "conditions": ["severe-renal-impairment"]}, kb=kb).findings)


@pytest.mark.parametrize(
    ("order", "case", "problem"),
    [
        ("valium 5mg bid", {"age": 15, "sex": "male"}, "pediatric-not-assessed"),
        ("diazepam 5 mg tid", {"age": 45, "sex": "male", "alcohol": "heavy"}, "alcohol"),
        ("soma 350 qid", {"age": 40, "sex": "male", "conditions": ["hx opioid use disorder on suboxone"]},
         "substance-use-history"),
        ("diazepam 5 mg tid", {"age": 45, "sex": "male", "conditions": ["frobnication syndrome"]}, "unknown-condition"),
    ],
)
def test_no_same_drug_safer_order_for_a_problem_about_the_patient(kb, order, case, problem):
    """A new dose or course of the same drug does not answer a problem about the patient (a teenager, heavy
    drinking, a substance use history, something not understood); offering one reads as an endorsement."""
    result = check(order, case, kb=kb)
    assert problem in {f.code for f in result.findings}
    suggestion = result.suggested_order
    assert suggestion is None or suggestion.drug != result.order.drug_id, suggestion
    assert all(f.suggested_order is None or f.suggested_order.drug != result.order.drug_id for f in result.findings)
