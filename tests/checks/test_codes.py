"""Every finding code: at least one positive and one negative case (fixture pack)."""

from __future__ import annotations

import pytest

from checks.conftest import codes, one
from clinguide.checks.base import INPUT_ERROR_CODES

BASE = {"age": 40, "sex": "male", "tried": ["heat"], "symptom_days": 3}


def case(**extra):
    return {**BASE, **extra}


CLEAN = "calmazepam 2 mg PO TID x 3 days"


def test_clean_order_is_ok(run):
    result = run(CLEAN, case())
    assert result.verdict == "ok", [(f.code, f.detail) for f in result.findings]
    assert result.findings == []


# (code, positive (order, case), negative (order, case))
CASES = [
    ("unknown-drug", ("flubberol 5 mg tid", case()), (CLEAN, case())),
    ("unparseable-order", ("calmazepam five tid", case()), (CLEAN, case())),
    ("implausible-dose", ("calmazepam 5 g tid x 3 days", case()), ("calmazepam 10 mg tid x 3 days", case())),
    ("dose-above-max", ("calmazepam 15 mg tid x 3 days", case()), ("calmazepam 10 mg tid x 3 days", case())),
    ("frequency-above-max", ("calmazepam 2 mg q4h x 3 days", case()), ("calmazepam 2 mg qid x 3 days", case())),
    ("daily-dose-above-max", ("calmazepam 10 mg q4h x 3 days", case()), ("calmazepam 10 mg qid x 3 days", case())),
    ("duration-exceeds-limit", ("calmazepam 2 mg tid x 28 days", case()), ("calmazepam 2 mg tid x 14 days", case())),
    ("geriatric-avoid", (CLEAN, case(age=70)), (CLEAN, case(age=64))),
    ("geriatric-dose-high", ("calmazepam 5 mg tid x 3 days", case(age=70)),
     ("calmazepam 2 mg bid x 3 days", case(age=70))),
    ("opioid-benzodiazepine", (CLEAN, case(medications=["painocodone"])), (CLEAN, case(medications=["acetamol"]))),
    ("cns-depressant-combination", ("spasmolin 5 mg q8h x 3 days", case(medications=["sleepazolam"])),
     ("spasmolin 5 mg q8h x 3 days", case(medications=["moodline"]))),
    ("alcohol", (CLEAN, case(alcohol="moderate")), (CLEAN, case(alcohol="none"))),
    ("duplicate-therapy", (CLEAN, case(medications=["sleepazolam"])), (CLEAN, case(medications=["moodline"]))),
    ("contraindicated-condition", (CLEAN, case(conditions=["myasthenia"])), (CLEAN, case(conditions=["copd"]))),
    ("contraindicated-drug", ("spasmolin 5 mg q8h x 3 days", case(medications=["cyproflox"])),
     ("spasmolin 5 mg q8h x 3 days", case(medications=["maoxid"]))),
    ("serotonergic-combination", ("serorelax 5 mg tid x 3 days", case(medications=["moodline"])),
     ("serorelax 5 mg tid x 3 days", case(medications=["acetamol"]))),
    ("caution-condition", (CLEAN, case(conditions=["COPD"])), (CLEAN, case(conditions=["myasthenia gravis"]))),
    ("substance-use-history", (CLEAN, case(conditions=["addiction"])), (CLEAN, case())),
    ("pregnancy", (CLEAN, {**case(), "sex": "female", "pregnant": True}),
     (CLEAN, {**case(), "sex": "female", "pregnant": False})),
    ("hepatic-impairment", (CLEAN, case(conditions=["liver disease"])), (CLEAN, case(conditions=["ckd"]))),
    ("renal-impairment", (CLEAN, case(conditions=["ckd"])), (CLEAN, case(conditions=["liver disease"]))),
    ("first-line-not-tried", (CLEAN, case(tried=[])), (CLEAN, case(tried=["heating pad"]))),
    ("not-recommended-setting", (CLEAN, case(setting="post-spinal-fusion")), (CLEAN, case())),
    ("taper-needed", ("calmazepam 2 mg tid x 7 days", case()), ("calmazepam 2 mg tid x 3 days", case())),
    ("allergy", (CLEAN, case(allergies=["Calmium"])), (CLEAN, case(allergies=["spasmolin"]))),
    ("missing-data", (CLEAN, {"sex": "male", "tried": ["heat"], "symptom_days": 3}), (CLEAN, case())),
    ("unknown-condition", (CLEAN, case(conditions=["zorbitis"])), (CLEAN, case(conditions=["copd"]))),
    ("unknown-medication", (CLEAN, case(medications=["zorbamine"])), (CLEAN, case(medications=["acetamol"]))),
]


@pytest.mark.parametrize(("code", "positive", "negative"), CASES, ids=[c[0] for c in CASES])
def test_code_positive_and_negative(run, kb, code, positive, negative):
    pos = run(*positive)
    assert code in codes(pos), [(f.code, f.detail) for f in pos.findings]
    neg = run(*negative)
    assert code not in codes(neg), [(f.code, f.detail) for f in neg.findings]
    for result in (pos, neg):
        for f in result.findings:
            if f.code not in INPUT_ERROR_CODES:
                assert f.sources, f"{f.code} has no source"
                assert all(s in kb.sources for s in f.sources)


def test_every_design_code_is_covered():
    design = {
        "unknown-drug", "unparseable-order", "implausible-dose", "dose-above-max", "daily-dose-above-max",
        "frequency-above-max", "duration-exceeds-limit", "geriatric-avoid", "geriatric-dose-high",
        "opioid-benzodiazepine", "cns-depressant-combination", "alcohol", "duplicate-therapy",
        "contraindicated-condition", "contraindicated-drug", "serotonergic-combination", "caution-condition",
        "substance-use-history", "pregnancy", "hepatic-impairment", "renal-impairment", "first-line-not-tried",
        "not-recommended-setting", "taper-needed", "allergy", "missing-data", "unknown-condition",
    }  # fmt: skip
    assert design <= {c[0] for c in CASES}


def test_daily_calculation_shown_and_top_of_range_said(run):
    result = run("calmazepam 10 mg q4h x 3 days", case())
    assert "10 mg × 6 doses/day = 60 mg/day" in result.order.calculation
    f = one(result, "daily-dose-above-max")
    assert "60 mg/day" in f.detail and "no stated maximum" in f.detail


def test_range_checks_higher_dose(run):
    result = run("calmazepam 5-15 mg TID prn x 3 days", case())
    assert result.order.dose_mg == 15 and result.order.dose_range_mg == [5, 15]
    assert "dose-above-max" in codes(result)
    assert "higher dose" in result.order.calculation


def test_derived_daily_limit_says_derived(run):
    result = run("serorelax 10 mg qid x 3 days", case())
    assert "derived" in one(result, "daily-dose-above-max").detail


def test_non_mass_unit_cannot_assess(run):
    result = run("calmazepam 5 mL tid", case())
    assert one(result, "implausible-dose").severity == "critical"
    assert result.order.dose_mg is None
    assert result.verdict == "cannot-assess"


def test_implausible_mg_is_do_not_prescribe(run):
    result = run("calmazepam 500 mg tid", case())
    assert "implausible-dose" in codes(result)
    assert "dose-above-max" not in codes(result)
    assert result.verdict == "do-not-prescribe"


def test_unit_conversion_mcg_to_mg(run):
    result = run("spasmolin 5000 mcg q8h x 3 days", case())
    assert result.order.dose_mg == pytest.approx(5)
    assert "5,000 mcg = 5 mg" in result.order.calculation


def test_unknown_drug_cannot_assess(run):
    result = run("flubberol 5 mg tid", case())
    assert result.verdict == "cannot-assess"
    assert one(result, "unknown-drug").sources == []


def test_agent_dose_not_checked(run):
    result = run("painocodone 5 mg q6h", case())
    f = one(result, "missing-data")
    assert "not checked" in f.detail and f.severity == "warning"


def test_monograph_without_numbers_not_checked(run):
    result = run("nolimitol 500 mg tid", case())
    assert "dose was not checked" in one(result, "missing-data").detail
    assert "implausible-dose" not in codes(result)


def test_extended_release_uses_er_rule(run):
    assert "dose-above-max" not in codes(run("serorelax ER 30 mg daily x 3 days", case()))
    assert "dose-above-max" in codes(run("serorelax 30 mg daily x 3 days", case()))


def test_interval_rule_frequency(run):
    assert "frequency-above-max" in codes(run("spasmolin 5 mg q4h x 3 days", case()))
    assert "frequency-above-max" not in codes(run("spasmolin 5 mg q6-8h x 3 days", case()))


def test_duration_suggested_order(run):
    f = one(run("calmazepam 2 mg tid x 28 days", case()), "duration-exceeds-limit")
    assert f.suggested_order is not None and f.suggested_order.days == 14
    assert f.suggested_order.dose_mg == 2


def test_geriatric_suggested_start_dose(run):
    f = one(run("calmazepam 5 mg tid x 3 days", case(age=80)), "geriatric-dose-high")
    assert f.suggested_order is not None and f.suggested_order.dose_mg == 2
    assert f.suggested_order.doses_per_day == 1


def test_setting_suggests_alternative(run):
    f = one(run(CLEAN, case(setting="post-spinal-fusion")), "not-recommended-setting")
    assert f.suggested_order is not None and f.suggested_order.drug == "spasmolin"
    assert f.suggested_order.dose_mg == 5


def test_setting_phase_rule(run):
    assert "not-recommended-setting" in codes(run(CLEAN, case(symptom_days=120)))
    missing = run(CLEAN, {k: v for k, v in case().items() if k != "symptom_days"})
    assert any("Phase unknown" in f.title for f in missing.findings)


def test_first_line_counts_current_drug_class(run):
    assert "first-line-not-tried" not in codes(run(CLEAN, case(tried=[], medications=["acetamol"])))
    assert "first-line-not-tried" not in codes(run(CLEAN, case(tried=["acetamol"])))


def test_combination_product_components(run):
    result = run(CLEAN, case(medications=["Combocet 5/325"]))
    assert one(result, "opioid-benzodiazepine").severity == "critical"


def test_beers_min_count_and_age(run):
    meds = ["painocodone", "spasmolin"]
    assert any(f.title.startswith("Three or more") for f in run(CLEAN, case(age=70, medications=meds)).findings)
    assert not any(f.title.startswith("Three or more") for f in run(CLEAN, case(age=50, medications=meds)).findings)


def test_min_age_condition_rule(run):
    assert "caution-condition" in codes(run(CLEAN, case(age=70, conditions=["falls"])))
    assert "caution-condition" not in codes(run(CLEAN, case(age=40, conditions=["falls"])))


def test_heavy_alcohol_counts_as_substance_use(run):
    result = run(CLEAN, case(alcohol="heavy"))
    assert {"alcohol", "substance-use-history"} <= codes(result)


def test_severe_hepatic_implies_hepatic_and_population_dosing(run):
    result = run("spasmolin 10 mg q8h x 3 days", case(conditions=["cirrhosis"]))
    f = one(result, "hepatic-impairment")
    assert "above 5 mg" in f.detail and f.suggested_order is not None


def test_taper_schedule(run):
    f = one(run("calmazepam 10 mg qid x 28 days", case()), "taper-needed")
    assert "days 1–14: 30 mg/day; days 15–28: 20 mg/day; days 29–42: 10 mg/day; day 43: stop" in f.detail


def test_taper_schedule_rounds_to_half_mg():
    from clinguide.checks.taper import schedule

    steps = schedule(6, 0.25, 14)  # 4.5, 3, 1.5
    assert [s[2] for s in steps] == [4.5, 3, 1.5]
    assert all(s[2] * 2 == int(s[2] * 2) for s in schedule(7, 0.25, 14))


def test_allergy_by_class(run):
    assert one(run(CLEAN, case(allergies=["benzodiazepine"])), "allergy").severity == "warning"


def test_unknown_allergy_reported(run):
    assert "unknown-medication" in codes(run(CLEAN, case(allergies=["zorbamine"])))


def test_rxnorm_code_order(run):
    result = run({"code": "99901", "dose": "2 mg", "frequency": "TID", "days": 3}, case())
    assert result.order.drug == "calmazepam" and result.verdict == "ok"


def test_structured_order_and_sources_listed(run, kb):
    result = run({"drug": "Calmium", "dose": "15 mg", "frequency": "three times daily", "days": 3}, case())
    assert result.order.daily_mg == 45
    cited = {s for f in result.findings for s in f.sources}
    assert {s.id for s in result.sources} == cited


def test_structured_bad_frequency(run):
    result = run({"drug": "calmazepam", "dose": "2 mg", "frequency": "whenever"}, case())
    assert result.verdict == "cannot-assess"
    assert "frequency" in one(result, "unparseable-order").detail


def test_ordering_is_deterministic(run):
    c = case(age=75, medications=["painocodone", "sleepazolam"], conditions=["copd", "zorbitis"], alcohol="heavy")
    a = run("calmazepam 10 mg qid x 28 days", c)
    b = run("calmazepam 10 mg qid x 28 days", c)
    assert [f.code for f in a.findings] == [f.code for f in b.findings]
    ranks = {"critical": 2, "warning": 1, "info": 0}
    sev = [ranks[f.severity] for f in a.findings]
    assert sev == sorted(sev, reverse=True)
    assert a.verdict == "do-not-prescribe"


def test_verdict_caution(run):
    assert run("calmazepam 2 mg tid x 28 days", case()).verdict == "caution"
