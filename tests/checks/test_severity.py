"""Severity by the size of the problem (shipped pack): far above the maximum, children, pregnancy
only where possible, phase only when it matters, one finding per problem, a missing unit never critical."""

from __future__ import annotations

import pytest

from clinguide.checks.engine import check
from clinguide.kb import shipped_kb


@pytest.fixture(scope="module")
def kb():
    return shipped_kb()


ADULT = {"age": 45, "sex": "male", "symptom_days": 5, "tried": ["heat", "ibuprofen"]}


def codes(result):
    return {f.code for f in result.findings}


def find(result, code):
    return [f for f in result.findings if f.code == code]


def test_daily_dose_far_above_maximum_is_critical(kb):
    result = check("diazepam 50 mg tid x 5 days", ADULT, kb=kb)  # 150 mg/day, 3.75 x 40
    daily = find(result, "daily-dose-above-max")[0]
    assert daily.severity == "critical" and "policy" not in daily.detail.lower()
    assert str(kb.policy.critical_dose_factor).rstrip("0").rstrip(".") in daily.detail
    assert result.verdict == "do-not-prescribe"


def test_daily_dose_a_little_above_maximum_stays_a_warning(kb):
    result = check("diazepam 10 mg q4h x 3 days", ADULT, kb=kb)  # 60 mg/day, 1.5 x 40
    assert find(result, "daily-dose-above-max")[0].severity == "warning"
    assert result.verdict == "caution"


def test_factor_is_pack_policy_with_rationale(kb):
    assert kb.policy.critical_dose_factor > 1
    assert len(kb.policy.critical_dose_rationale) > 40


def test_missing_unit_is_never_critical(kb):
    result = check("flexeril 10 tid x 7 days", ADULT, kb=kb)
    assert all(f.severity != "critical" for f in result.findings)


# ----- children -----------------------------------------------------------------------------------

def test_four_year_old_is_not_checked_against_adult_doses(kb):
    result = check("diazepam 2 mg tid x 3 days", {"age": 4}, kb=kb)
    f = find(result, "pediatric-not-assessed")[0]
    assert "4" in f.title and f.sources
    assert result.verdict == "cannot-assess"


def test_child_with_a_critical_problem_is_do_not_prescribe(kb):
    result = check("diazepam 2 mg tid x 3 days", {"age": 10, "medications": ["oxycodone"]}, kb=kb)
    assert "pediatric-not-assessed" in codes(result)
    assert result.verdict == "do-not-prescribe"


@pytest.mark.parametrize(("sig", "age", "assessed"), [
    ("cyclobenzaprine 5 mg tid x 5 days", 16, True),   # IR: adult dosing from 15 (label via compendium)
    ("cyclobenzaprine 5 mg tid x 5 days", 14, False),
    ("Amrix 15 mg daily x 5 days", 16, False),          # ER: not evaluated in adolescents
    ("metaxalone 800 mg tid x 5 days", 13, True),       # SKELAXIN: 13 and older
    ("metaxalone 800 mg tid x 5 days", 12, False),
    ("tizanidine 2 mg q8h x 5 days", 17, False),        # adults only
    ("baclofen 5 mg tid x 5 days", 12, True),
    ("methocarbamol 750 mg qid x 5 days", 15, False),
    ("ibuprofen 400 mg tid x 3 days", 10, False),       # no sourced paediatric rule in the pack
])
def test_paediatric_rules(kb, sig, age, assessed):
    result = check(sig, {"age": age, "sex": "male", "symptom_days": 3, "tried": ["heat"]}, kb=kb)
    if assessed:
        assert "pediatric-dosing" in codes(result) and "pediatric-not-assessed" not in codes(result)
        assert result.verdict != "cannot-assess"
    else:
        assert "pediatric-not-assessed" in codes(result)
        assert result.verdict == "cannot-assess"


def test_adults_get_no_paediatric_finding(kb):
    result = check("diazepam 2 mg tid x 3 days", {"age": 18}, kb=kb)
    assert not {"pediatric-dosing", "pediatric-not-assessed"} & codes(result)


# ----- pregnancy only where possible ----------------------------------------------------------------

def _pregnancy_asked(result):
    return any(f.code == "missing-data" and "Pregnancy status" in f.title for f in result.findings)


@pytest.mark.parametrize(("case", "asked"), [
    ({"age": 81, "sex": "female"}, False),
    ({"age": 8, "sex": "female"}, False),
    ({"age": 30, "sex": "female"}, True),
    ({"age": 30, "sex": "male"}, False),
    ({"age": 30}, True),
    ({"sex": "female"}, True),
])
def test_pregnancy_status_asked_only_where_possible(kb, case, asked):
    result = check("diazepam 2 mg tid x 3 days", case, kb=kb)
    assert _pregnancy_asked(result) is asked


# ----- phase only when it would change the verdict --------------------------------------------------

def _phase_asked(result):
    return [f for f in result.findings if f.code == "missing-data" and "Phase unknown" in f.title]


def test_phase_asked_when_it_could_raise_the_verdict(kb):
    case = {"age": 40, "sex": "male", "tried": ["heat"]}  # no symptom_days: chronic rule could apply
    result = check("diazepam 2 mg bid x 5 days", case, kb=kb)
    asked = _phase_asked(result)
    assert asked and asked[0].severity == "warning"
    assert result.verdict == "caution"


def test_phase_not_asked_when_it_cannot_change_the_verdict(kb):
    case = {"age": 40, "sex": "male"}  # first-line care not tried is already a warning
    result = check("diazepam 2 mg bid x 5 days", case, kb=kb)
    assert not _phase_asked(result)
    result = check("cyclobenzaprine 5 mg tid x 5 days", {"age": 40, "sex": "male", "tried": ["heat"]}, kb=kb)
    assert not _phase_asked(result)


# ----- one finding per problem --------------------------------------------------------------------

def test_findings_are_unique_per_code_and_title(kb):
    case = {"conditions": ["CKD 4", "eGFR 20"], "medications": ["oxycodone", "hydrocodone"]}
    result = check("baclofen 20 mg qid x 30 days", case, kb=kb)
    keys = [(f.code, f.title) for f in result.findings]
    assert len(keys) == len(set(keys))
    assert len(find(result, "renal-impairment")) == 1


def test_missing_age_is_one_finding(kb):
    result = check("diazepam 2 mg tid x 3 days", {"medications": ["oxycodone", "zolpidem"], "sex": "male"}, kb=kb)
    age = [f for f in result.findings if f.code == "missing-data" and f.title.startswith("Age not given")]
    assert len(age) == 1


def test_kidney_number_reading_is_shown(kb):
    result = check("baclofen 5 mg tid x 3 days", {"age": 50, "conditions": ["CrCl 20"]}, kb=kb)
    f = find(result, "condition-interpreted")[0]
    assert "G4" in f.detail and "not the same measure" in f.detail and f.sources == ["S109"]


def test_finding_title_does_not_repeat_itself():
    """'Pregnancy: pregnancy' / 'Renal impairment: renal impairment' read as a glitch to a clinician."""
    from clinguide.checks.engine import check as run_check
    from clinguide.kb import shipped_kb

    kb = shipped_kb()
    cases = [
        ("diazepam 2 mg bid x 5 days", {"age": 30, "sex": "female", "pregnant": True}),
        ("baclofen 5 mg tid", {"age": 45, "sex": "male", "conditions": ["eGFR 40"]}),
    ]
    for order, case in cases:
        for finding in run_check(order, case, kb=kb).findings:
            head, _, rest = finding.title.partition(": ")
            assert head.lower() != rest.lower(), finding.title


def test_one_finding_when_a_contraindication_already_covers_the_milder_rule():
    """ESRD with metaxalone: 'contraindicated: severe renal impairment' and a second 'renal impairment' warning
    are the same problem said twice; a more severe rule for an implying condition speaks alone."""
    from clinguide.checks.engine import check as run_check
    from clinguide.kb import shipped_kb

    kb = shipped_kb()
    for order, condition, organ in [("metaxalone 800 mg tid", "ESRD on HD", "renal"),
                                    ("diazepam 5 mg tid", "cirrhosis Child-Pugh C", "hepatic")]:
        result = run_check(order, {"age": 50, "sex": "male", "conditions": [condition]}, kb=kb)
        about = [f for f in result.findings if organ in f.title.lower()]
        assert len(about) == 1, [f.title for f in result.findings]
        assert about[0].severity == "critical"
    # a milder rule still speaks when nothing stronger covers it
    result = run_check("baclofen 5 mg tid", {"age": 45, "sex": "male", "conditions": ["eGFR 40"]}, kb=kb)
    assert any(f.code == "renal-impairment" for f in result.findings)
