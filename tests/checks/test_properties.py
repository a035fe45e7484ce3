"""Hypothesis properties of the engine on the fixture pack."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinguide.checks.base import SEVERITY_RANK
from clinguide.checks.engine import check

FREQS = ["daily", "bid", "tid", "qid", "q4h", "q6h", "q8h", "q6-8h", "at bedtime", "twice a day"]
DRUGS = ["calmazepam", "spasmolin", "serorelax", "Calmium"]
case_strategy = st.fixed_dictionaries({}, optional={
    "age": st.integers(18, 100),
    "conditions": st.lists(st.sampled_from(["copd", "ckd", "cirrhosis", "falls", "myasthenia", "zorbitis"]),
                           max_size=3),
    "medications": st.lists(st.sampled_from(["painocodone", "moodline", "sleepazolam", "cyproflox", "acetamol"]),
                            max_size=3),
    "alcohol": st.sampled_from(["none", "moderate", "heavy"]),
    "setting": st.sampled_from(["back-spasm", "post-spinal-fusion"]),
    "symptom_days": st.integers(0, 400),
    "tried": st.lists(st.sampled_from(["heat", "acetamol"]), max_size=1),
})


def worst(result) -> int:
    return max((SEVERITY_RANK[f.severity] for f in result.findings), default=-1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drug=st.sampled_from(DRUGS), dose=st.floats(0.5, 200), bump=st.floats(0.01, 500), freq=st.sampled_from(FREQS),
       days=st.integers(1, 60), case=case_strategy)
def test_raising_dose_never_lowers_worst_severity(kb, drug, dose, bump, freq, days, case):
    low = check(f"{drug} {dose:.2f} mg {freq} x {days} days", case, kb=kb)
    high = check(f"{drug} {dose + bump:.2f} mg {freq} x {days} days", case, kb=kb)
    assert worst(high) >= worst(low)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drug=st.sampled_from(["calmazepam", "Calmium", "calmazepan"]), dose=st.floats(0.5, 50),
       freq=st.sampled_from(FREQS), case=case_strategy, opioid=st.sampled_from(["painocodone", "Painco", "Combocet"]))
def test_opioid_with_benzodiazepine_is_always_critical(kb, drug, dose, freq, case, opioid):
    case = {**case, "medications": [*case.get("medications", []), opioid]}
    result = check(f"{drug} {dose:.2f} mg {freq}", case, kb=kb)
    assert any(f.code == "opioid-benzodiazepine" and f.severity == "critical" for f in result.findings)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=60), case=case_strategy)
def test_engine_never_raises_on_any_sig(kb, text, case):
    result = check({"sig": text if text.strip() else "x"}, case, kb=kb)
    assert result.verdict in ("ok", "caution", "do-not-prescribe", "cannot-assess")


@pytest.mark.parametrize("blank", ["", " ", "\t\n"])
def test_blank_sig_is_an_input_error_naming_the_order(kb, blank):
    from clinguide.checks.engine import InputError

    with pytest.raises(InputError, match="sig"):
        check({"sig": blank}, {}, kb=kb)
