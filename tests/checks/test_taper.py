"""Taper by exposure (issue 12, item 1): short courses get no long taper, regular use a paced one."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinguide.checks.engine import check
from clinguide.checks.taper import composition, plan_for, schedule

TABLET_PIECES = (10.0, 5.0, 2.5, 2.0, 1.0)  # 2, 5 and 10 mg tablets and their halves
ADULT_MAX_DAILY = 40  # diazepam: top of the labelled range (the pack's adult rule)


@pytest.fixture(scope="module")
def kb():
    from clinguide.kb import shipped_kb

    return shipped_kb()


def taper_of(result):
    found = [f for f in result.findings if f.code == "taper-needed"]
    assert len(found) <= 1
    return found[0] if found else None


def makeable(mg: float) -> bool:
    return composition(mg, TABLET_PIECES) is not None


ADULT = {"age": 40, "sex": "male", "tried": ["heat"], "symptom_days": 5}
DOSES = st.sampled_from([2, 2.5, 4, 5, 7.5, 10])
FREQS = st.sampled_from([("daily", 1), ("bid", 2), ("tid", 3), ("qid", 4)])


@settings(max_examples=150, deadline=None)
@given(dose=DOSES, freq=FREQS, days=st.integers(min_value=1, max_value=14))
def test_short_course_at_or_below_adult_max_never_gets_a_taper_longer_than_the_course(kb, dose, freq, days):
    word, per_day = freq
    if dose * per_day > ADULT_MAX_DAILY:
        return
    result = check(f"diazepam {dose:g} mg {word} x {days} days", ADULT, kb=kb)
    finding = taper_of(result)
    assert finding is not None and finding.taper_plan is not None
    plan = finding.taper_plan
    assert plan.total_days <= days
    assert plan.total_days == sum(s.days for s in plan.steps)
    assert plan.kind == "stop-or-step-down"
    assert finding.severity == "info"


@settings(max_examples=120, deadline=None)
@given(dose=DOSES, freq=FREQS, days=st.integers(min_value=60, max_value=365))
def test_regular_use_beyond_two_months_gets_a_paced_taper(kb, dose, freq, days):
    word, per_day = freq
    result = check(f"diazepam {dose:g} mg {word} x {days} days", ADULT, kb=kb)
    plan = taper_of(result).taper_plan
    assert plan.kind == "paced-taper" and plan.steps
    daily = dose * per_day
    levels = [daily] + [s.daily_mg for s in plan.steps]
    # strictly decreasing, every level is made by 2/5/10 mg tablets (or halves)
    assert all(b < a for a, b in itertools.pairwise(levels))
    assert all(makeable(s.daily_mg) for s in plan.steps)
    # never faster than a quarter of the starting dose per two weeks (ASAM): a bigger cut that
    # the tablets force is held for longer; and never longer than that pace needs
    for step, (a, b) in zip(plan.steps, itertools.pairwise(levels), strict=True):
        assert step.days >= 14
        assert (a - b) / step.days <= 0.25 * daily / 14 + 1e-9
    # and stopping from the last level is no bigger a cut than the pace allows (when tablets can make it)
    if any(makeable(x / 2) and x / 2 <= 0.25 * daily for x in range(1, int(daily * 2) + 1)):
        assert plan.steps[-1].daily_mg <= 0.25 * daily + 1e-9
    assert plan.total_days <= 8 * 14


@settings(max_examples=100, deadline=None)
@given(daily=st.sampled_from([1, 2, 3, 4, 5, 6, 7.5, 8, 10, 12, 15, 20, 22.5, 30, 40, 60]),
       days=st.integers(min_value=1, max_value=400))
def test_every_planned_daily_dose_is_made_by_marketed_tablets(kb, daily, days):
    taper = kb.drugs["diazepam"].taper
    plan, _ = plan_for(taper, days, daily, ADULT_MAX_DAILY)
    for step in plan.steps:
        assert makeable(step.daily_mg), step
        assert step.tablets and "mg tablet" in step.tablets
        assert step.daily_mg < daily


def test_the_issue_example_five_days_is_not_a_six_week_taper(kb):
    result = check("diazepam 5 mg tid x 5 days", ADULT, kb=kb)
    finding = taper_of(result)
    assert finding.taper_plan.total_days < 5
    assert "11 mg" not in finding.detail and "days 1–14" not in finding.detail
    assert "Stopping after a short course" in finding.title


def test_ninety_days_and_five_days_get_different_plans(kb):
    short = taper_of(check("diazepam 5 mg tid x 5 days", ADULT, kb=kb)).taper_plan
    long = taper_of(check("diazepam 5 mg tid x 90 days", ADULT, kb=kb)).taper_plan
    assert long.total_days > 5 * short.total_days
    # 15 mg/day: a quarter is 3.75 mg, so the last level before stopping is at most that
    assert [s.daily_mg for s in long.steps] == [12, 7.5, 5, 3.5]


def test_three_to_four_weeks_gets_a_short_taper_no_longer_than_the_course(kb):
    for days in (15, 21, 28):
        plan = taper_of(check(f"diazepam 5 mg tid x {days} days", ADULT, kb=kb)).taper_plan
        assert plan.kind == "short-taper" and plan.steps and plan.total_days <= days


def test_short_course_above_the_labelled_range_moves_up_a_band(kb):
    plan = taper_of(check("diazepam 15 mg tid x 10 days", ADULT, kb=kb)).taper_plan
    assert plan.kind == "short-taper" and plan.total_days <= 10


def test_no_taper_plan_for_a_do_not_prescribe_order(kb):
    for case in ({**ADULT, "medications": ["oxycodone"]}, {**ADULT, "conditions": ["myasthenia gravis"]}):
        result = check("diazepam 10 mg qid x 60 days", case, kb=kb)
        assert result.verdict == "do-not-prescribe"
        assert taper_of(result) is None


def test_taper_plan_json_shape(kb):
    data = check("diazepam 5 mg tid x 60 days", ADULT, kb=kb).to_json()
    plan = next(f for f in data["findings"] if f["code"] == "taper-needed")["taper_plan"]
    assert set(plan) >= {"steps", "total_days"}
    assert all(set(s) >= {"days", "daily_mg"} and isinstance(s["days"], int) for s in plan["steps"])
    assert plan["total_days"] == sum(s["days"] for s in plan["steps"])


def test_thresholds_and_tablets_live_in_the_pack_with_sources(kb):
    taper = kb.drugs["diazepam"].taper
    assert taper.tablet_mg == [2, 5, 10] and taper.tablet_sources
    assert [b.kind for b in taper.bands] == ["stop-or-step-down", "short-taper", "paced-taper"]
    assert all(b.sources and not any(s.startswith("SEED") for s in b.sources) for b in taper.bands)


def test_prn_order_says_if_taken_regularly(kb):
    f = taper_of(check("diazepam 2 mg tid prn x 40 days", ADULT, kb=kb))
    assert "if taken regularly" in f.detail


def test_schedule_fits_a_cap():
    steps = schedule(15, 0.25, 7, max_total_days=10)
    assert steps and steps[-1][1] <= 10
    assert schedule(15, 0.5, 3, max_total_days=0) == []
