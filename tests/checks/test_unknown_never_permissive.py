"""Safety property: an unrecognised condition or medication never leaves a permissive verdict."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from clinguide.checks.engine import check
from clinguide.clinical.conditions import resolve_condition_text
from clinguide.kb import shipped_kb
from clinguide.plans.assess import assess


@pytest.fixture(scope="module")
def kb():
    return shipped_kb()


# a case and an order that are "ok" / "consider-short-term" without the unknown entry
OK_SIG = "valium 2mg po bid prn x5 days"
OK_CASE = {"age": 40, "sex": "male", "tried": ["heat"], "symptom_days": 3}
ASSESS_CASE = {"age": 44, "sex": "male", "symptom_days": 5, "spasm": "severe",
               "tried": ["heat", "ibuprofen", "staying active"]}

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=12)
phrases = st.lists(words, min_size=1, max_size=4).map(" ".join)
modifiers = st.sampled_from(["", "history of ", "past ", "possible ", "h/o ", "chronic "])
unknown_entries = st.tuples(modifiers, phrases).map("".join)
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_baselines_are_permissive(kb):
    assert check(OK_SIG, OK_CASE, kb=kb).verdict == "ok"
    assert assess(ASSESS_CASE, kb=kb).diazepam.verdict == "consider-short-term"


@SLOW
@given(text=unknown_entries)
def test_unknown_condition_never_ok_in_check(kb, text):
    res = resolve_condition_text(text, kb)
    assume(res.unknown)
    result = check(OK_SIG, {**OK_CASE, "conditions": [text]}, kb=kb)
    assert result.verdict != "ok"
    f = next(f for f in result.findings if f.code == "unknown-condition")
    assert f.severity in ("warning", "critical") and "NOT checked" in f.detail


@SLOW
@given(text=unknown_entries)
def test_unknown_condition_never_consider_short_term_in_assess(kb, text):
    res = resolve_condition_text(text, kb)
    assume(res.unknown)
    plan = assess({**ASSESS_CASE, "conditions": [text]}, kb=kb)
    assert plan.diazepam.verdict != "consider-short-term"


@SLOW
@given(text=phrases)
def test_unknown_medication_never_ok(kb, text):
    assume(kb.resolve_drug(text) is None and kb.resolve_drug(text.split()[0]) is None)
    result = check(OK_SIG, {**OK_CASE, "medications": [text]}, kb=kb)
    assume(any(f.code == "unknown-medication" for f in result.findings))
    assert result.verdict != "ok"
    plan = assess({**ASSESS_CASE, "medications": [text]}, kb=kb)
    assert plan.diazepam.verdict != "consider-short-term"


@pytest.mark.parametrize("text", ["history of substance use disorder", "past drug addiction",
                                  "in recovery from alcoholism", "OSA on CPAP"])
def test_issue_phrases_are_understood_and_not_short_term(kb, text):
    plan = assess({**ASSESS_CASE, "conditions": [text]}, kb=kb)
    assert not any(f.code == "unknown-condition" for f in plan.findings), text
    assert plan.diazepam.verdict != "consider-short-term", text


@pytest.mark.parametrize(("text", "code"), [("hepatitis C cirrhosis", "hepatic-impairment")])
def test_issue_phrases_give_their_finding(kb, text, code):
    plan = assess({**ASSESS_CASE, "conditions": [text]}, kb=kb)
    assert not any(f.code == "unknown-condition" for f in plan.findings), text
    assert any(f.code == code for f in plan.findings), text


def test_negated_condition_keeps_the_permissive_verdict(kb):
    assert check(OK_SIG, {**OK_CASE, "conditions": ["no history of sleep apnea"]}, kb=kb).verdict == "ok"
