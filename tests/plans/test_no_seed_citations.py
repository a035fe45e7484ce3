"""check and assess never cite a seed document or a superseded reproduction (issue 12, item 8)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinguide.checks.engine import check
from clinguide.kb import shipped_kb
from clinguide.plans.assess import EDITORIAL_LABEL, assess


@pytest.fixture(scope="module")
def kb():
    return shipped_kb()


def banned(kb):
    return {s for s, src in kb.sources.items() if src.kind == "seed-document" or src.superseded_by}


DRUGS = ["diazepam", "cyclobenzaprine", "baclofen", "tizanidine", "gabapentin", "pregabalin", "carisoprodol",
         "ibuprofen", "acetaminophen", "metaxalone", "methocarbamol"]
cases = st.fixed_dictionaries({}, optional={
    "age": st.sampled_from([30, 70, 85]),
    "sex": st.sampled_from(["female", "male"]),
    "pregnant": st.booleans(),
    "setting": st.sampled_from(["back-spasm", "post-spinal-fusion"]),
    "surgery_phase": st.sampled_from(["pre-op", "post-op"]),
    "hours_since_surgery": st.sampled_from([10, 100]),
    "symptom_days": st.sampled_from([3, 40, 200]),
    "spasm": st.sampled_from(["none", "mild", "severe"]),
    "tried": st.sampled_from([[], ["heat", "ibuprofen"]]),
    "conditions": st.lists(st.sampled_from(["copd", "substance use disorder", "renal impairment", "cirrhosis",
                                            "sleep apnea", "falls"]), max_size=2, unique=True),
    "medications": st.lists(st.sampled_from(["oxycodone", "sertraline", "lorazepam"]), max_size=2, unique=True),
    "alcohol": st.sampled_from(["none", "heavy"]),
})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases, drug=st.sampled_from(DRUGS), days=st.sampled_from([3, 10, 30]))
def test_check_findings_cite_no_seed(kb, case, drug, days):
    result = check({"drug": drug, "dose": "5 mg", "frequency": "TID", "days": days}, case, kb=kb)
    bad = banned(kb)
    for f in result.findings:
        assert not set(f.sources) & bad, (f.code, f.sources)
        assert "seed document" not in f.detail.lower() and "seed document" not in (f.suggestion or "").lower()
    assert not {s.id for s in result.sources} & bad


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_assess_cites_no_seed_and_labels_editorial_text(kb, case):
    plan = assess(case, kb=kb)
    bad = banned(kb)
    assert not {s.id for s in plan.sources} & bad
    for f in plan.findings:
        assert not set(f.sources) & bad and "seed document" not in f.detail.lower()
    for r in plan.diazepam.reasons:
        assert not set(r.sources) & bad
        assert r.sources or r.text.startswith(EDITORIAL_LABEL)
    for step in plan.steps:
        assert not set(step.sources) & bad


def test_editorial_verdict_reason_is_labelled(kb):
    plan = assess({"age": 40, "symptom_days": 3, "spasm": "mild", "tried": ["heat"]}, kb=kb)
    assert plan.diazepam.verdict == "not-yet"
    editorial = [r for r in plan.diazepam.reasons if not r.sources]
    assert editorial and all(r.text.startswith(EDITORIAL_LABEL) for r in editorial)
