"""End-to-end checks of the issue's examples against the shipped knowledge pack."""

from __future__ import annotations

import pytest

from clinguide.checks.base import INPUT_ERROR_CODES
from clinguide.checks.engine import check
from clinguide.kb.validate import validate_pack


@pytest.fixture(scope="module")
def kb():
    """The shipped pack; a pack that does not validate fails every test here (never a skip)."""
    from clinguide.kb import shipped_kb

    problems = validate_pack()
    assert not problems, f"the shipped pack does not validate: {problems[0]}"
    return shipped_kb()


def codes(result):
    return {f.code for f in result.findings}


EXAMPLES = [
    ("Valium 10 mg PO QID x 28 days", {"age": 72, "medications": ["oxycodone"]}, "do-not-prescribe",
     {"opioid-benzodiazepine", "geriatric-avoid", "geriatric-dose-high", "duration-exceeds-limit"}),
    ("valium 2mg po bid prn x5 days", {"age": 40, "sex": "male", "tried": ["heat"], "symptom_days": 3}, "ok",
     {"taper-needed"}),
    ("cyclobenzaprine 5-10 mg TID prn x 7 days", {"medications": ["phenelzine"]}, "do-not-prescribe",
     {"contraindicated-drug"}),
    ("tizanidine 4 mg every 6 to 8 hours", {"medications": ["fluvoxamine"]}, "do-not-prescribe",
     {"contraindicated-drug", "frequency-above-max"}),
    ("diazepam 5 g tid", {}, "do-not-prescribe", {"implausible-dose"}),
    ("diazepam 5 mL tid", {}, "cannot-assess", {"implausible-dose"}),
    ("flubberol 5 mg tid", {}, "cannot-assess", {"unknown-drug"}),
    ("diazepam 5 mg q8h x 5 days", {"setting": "post-spinal-fusion", "surgery_phase": "post-op",
                                    "hours_since_surgery": 72}, "caution", {"not-recommended-setting"}),
    ("diazepam 5 mg tid x 5 days", {"conditions": ["myasthenia gravis"]}, "do-not-prescribe",
     {"contraindicated-condition"}),
    ("diazepam 5 mg tid x 5 days", {"medications": ["lorazepam"], "alcohol": "heavy"}, "caution",
     {"duplicate-therapy", "alcohol"}),
]


@pytest.mark.parametrize(("sig", "case", "verdict", "expected"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_issue_examples(kb, sig, case, verdict, expected):
    result = check(sig, case, kb=kb)
    assert expected <= codes(result), [(f.code, f.title) for f in result.findings]
    assert result.verdict == verdict
    if verdict == "do-not-prescribe":  # no plan for stopping an order that must not be given
        assert "taper-needed" not in codes(result)
    for f in result.findings:
        if f.code not in INPUT_ERROR_CODES:
            assert f.sources and all(s in kb.sources for s in f.sources), f.code


def test_diazepam_daily_limit_is_top_of_labelled_range(kb):
    result = check("diazepam 10 mg q4h x 3 days", {"age": 40}, kb=kb)
    f = next(f for f in result.findings if f.code == "daily-dose-above-max")
    assert "no stated maximum" in f.detail and "60 mg/day" in f.detail


def test_combination_product_in_case(kb):
    result = check("diazepam 2 mg bid x 3 days", {"medications": ["Norco 5/325"]}, kb=kb)
    assert any(f.code == "opioid-benzodiazepine" and f.severity == "critical" for f in result.findings)


@pytest.mark.parametrize("medications", [[], ["zolpidem"]])
def test_alcohol_is_one_finding_not_two(kb, medications):
    """Heavy drinking with diazepam is the `alcohol` finding only: the general CNS-depressant rule it
    supersedes comes earlier in the pack, and supersedes holds whatever the rules' order."""
    result = check("diazepam 2 mg bid x 3 days", {"age": 40, "alcohol": "heavy", "medications": medications}, kb=kb)
    alcohol = [f for f in result.findings if f.code == "alcohol"]
    assert len(alcohol) == 1
    cns = [f for f in result.findings if f.code == "cns-depressant-combination"]
    # alcohol never appears in the general CNS-depressant finding; zolpidem still does
    assert all("alcohol" not in f.detail.split(".")[0].lower() for f in cns)
    assert bool(cns) == bool(medications)
