"""Prescriber shorthand as clinicians type it, checked end to end against the shipped pack."""

from __future__ import annotations

import pytest

from clinguide.checks.engine import check
from clinguide.kb import shipped_kb


@pytest.fixture(scope="module")
def kb():
    return shipped_kb()


def codes(result):
    return {f.code for f in result.findings}


ADULT = {"age": 45, "sex": "male", "symptom_days": 5, "tried": ["heat", "ibuprofen"]}

# sig -> (drug id, dose_mg, doses_per_day, days, codes that must be present, codes that must be absent)
SIGS = [
    ("flexeril 10 tid x 2 wks", "cyclobenzaprine", 10, 3, 14, {"dose-unit-assumed"}, {"unparseable-order"}),
    ("methocarbamol 1500 qid", "methocarbamol", 1500, 4, None, {"dose-unit-assumed"}, {"unparseable-order"}),
    ("Flexeril 5 TID PRN spasm #21", "cyclobenzaprine", 5, 3, 7, {"dose-unit-assumed"}, set()),
    ("carisoprodol 350mg tid and hs", "carisoprodol", 350, 4, None, set(), set()),
    ("soma 350 mg TID + QHS x 1 wk", "carisoprodol", 350, 4, 7, set(), set()),
    ("diazepam 2 mg qid prn x 5 days", "diazepam", 2, 4, 5, set(), set()),
    ("cyclobenzaprine 10 mg 1-2 tabs tid prn", "cyclobenzaprine", 20, 3, None, set(), set()),
    ("diazepam 5mg tid #15", "diazepam", 5, 3, 5, set(), {"missing-data-days"}),
    ("diazepam 5 mg po tid disp 30", "diazepam", 5, 3, 10, set(), set()),
    ("Valium 5mg 1 tab po q8h prn #20", "diazepam", 5, 3, 7, set(), set()),
    ("Amrix 30 mg daily", "cyclobenzaprine", 30, 1, None, set(), {"dose-above-max"}),
    ("Amrix 15mg qd x 14d", "cyclobenzaprine", 15, 1, 14, set(), {"dose-above-max"}),
    ("Flexeril ER 15 mg once daily", "cyclobenzaprine", 15, 1, None, set(), {"dose-above-max"}),
    ("Robaxin-750 2 tabs qid x 5d", "methocarbamol", 1500, 4, 5, set(), {"implausible-dose"}),
    ("Advil 600 mg tid", "ibuprofen", 600, 3, None, set(), {"unknown-drug"}),
    ("Motrin 800mg q8h prn", "ibuprofen", 800, 3, None, set(), {"unknown-drug"}),
    ("Aleve 220 mg bid", "naproxen", 220, 2, None, set(), {"unknown-drug"}),
    ("Tylenol 1000 mg q8h", "acetaminophen", 1000, 3, None, set(), {"unknown-drug"}),
    ("Celebrex 200 mg daily", "celecoxib", 200, 1, None, set(), {"unknown-drug"}),
    ("Neurontin 300 mg qhs", "gabapentin", 300, 1, None, set(), {"unknown-drug"}),
    ("Lyrica 75 mg bid", "pregabalin", 75, 2, None, set(), {"unknown-drug"}),
    ("Zanaflex 4mg q8h prn x 7 days", "tizanidine", 4, 3, 7, set(), set()),
    ("tizanidine 2 mg q6-8h prn #30", "tizanidine", 2, 4, 8, set(), set()),
    ("baclofen 10 mg TID x 10 days", "baclofen", 10, 3, 10, set(), set()),
    ("skelaxin 800 mg tid-qid", "metaxalone", 800, 4, None, set(), set()),
    ("Norco 5/325 1-2 tabs q6h prn #20", "hydrocodone-acetaminophen", None, 4, 3, set(), {"implausible-dose"}),
    ("Percocet 10/325 2 tabs q4h prn", "oxycodone-acetaminophen", None, 6, None, set(), {"implausible-dose"}),
    ("Rx: valium 10mg po qhs x3d", "diazepam", 10, 1, 3, set(), set()),
    ("take diazepam 2.5 mg bid prn", "diazepam", 2.5, 2, None, set(), set()),
    ("diazepam 5 mg q 8 hrs prn x 5 days", "diazepam", 5, 3, 5, set(), set()),
    ("cyclobenzaprine 7.5mg po tid x10d", "cyclobenzaprine", 7.5, 3, 10, set(), set()),
    ("methocarbamol 750 mg 2 tabs qid", "methocarbamol", 1500, 4, None, set(), set()),
    ("Percocet 5/325 1-2 po q4-6h prn pain #40", "oxycodone-acetaminophen", None, 6, 4, set(), {"implausible-dose"}),
    ("valium 5 bid prn spasm x 7d", "diazepam", 5, 2, 7, {"dose-unit-assumed"}, set()),
    ("Valium 5mg PO q6-8h PRN spasm, max 3/day, #30", "diazepam", 5, 3, 10, set(), set()),
    ("cyclobenzaprine 10mg, take 1/2 to 1 tab at bedtime", "cyclobenzaprine", 10, 1, None, set(), {"dose-above-max"}),
    ("diazepam 10 mg, 1/2 tab tid", "diazepam", 5, 3, None, set(), set()),
    ("tizanidine 4 mg q6h prn max 3 doses per day", "tizanidine", 4, 3, None, set(), {"frequency-above-max"}),
    ("Norco 10/325 q4h prn", "hydrocodone-acetaminophen", None, 6, None, set(), {"implausible-dose"}),
]


@pytest.mark.parametrize(("sig", "drug", "mg", "per_day", "days", "present", "absent"), SIGS,
                         ids=[s[0] for s in SIGS])
def test_real_world_sig(kb, sig, drug, mg, per_day, days, present, absent):
    result = check(sig, ADULT, kb=kb)
    o = result.order
    assert o.drug == drug, [(f.code, f.detail) for f in result.findings]
    assert (o.dose_mg == pytest.approx(mg)) if mg is not None else o.dose_mg is None
    assert o.doses_per_day == pytest.approx(per_day)
    assert o.days == days
    assert present <= codes(result), codes(result)
    assert not (absent & codes(result)), codes(result)
    assert "unparseable-order" not in codes(result) and "unknown-drug" not in codes(result)


def test_table_is_large_enough():
    assert len(SIGS) >= 30


def test_unit_assumed_is_info_never_critical(kb):
    result = check("flexeril 10 tid x 7 days", ADULT, kb=kb)
    f = next(f for f in result.findings if f.code == "dose-unit-assumed")
    assert f.severity == "info" and "10 mg" in f.detail
    assert result.verdict in ("ok", "caution")


def test_tablet_count_without_strength_is_not_critical(kb):
    result = check("cyclobenzaprine 1 tab tid", ADULT, kb=kb)
    assert all(f.severity != "critical" for f in result.findings)
    assert result.verdict == "cannot-assess"


@pytest.mark.parametrize("sig", [
    "diazepam -5 mg tid", "diazepam 0 mg tid", "diazepam 5 mg q-8h", "diazepam -5 tid", "diazepam 0 tid",
    "diazepam 5 mg tid x -5 days", "diazepam 5 mg tid #-15", "diazepam 5 mg q0.1h", "diazepam 5 mg tid #0",
])
def test_negative_zero_and_absurd_numbers_are_never_silently_changed(kb, sig):
    result = check(sig, ADULT, kb=kb)
    assert result.verdict == "cannot-assess"
    assert "unparseable-order" in codes(result)
    assert result.order.dose_mg is None or result.order.dose_mg > 0


def test_absurdly_small_dose_is_implausible(kb):
    result = check("diazepam 0.05 mg tid", ADULT, kb=kb)
    assert "implausible-dose" in codes(result)
    assert result.verdict == "do-not-prescribe"


def test_quantity_days_are_stated_in_the_calculation(kb):
    result = check("diazepam 5mg tid #90", ADULT, kb=kb)
    assert result.order.days == 30 and result.order.quantity == 90
    assert "days supply" in result.order.calculation
    assert "duration-exceeds-limit" in codes(result)


def test_amrix_in_an_older_adult_carries_the_label_note(kb):
    result = check("Amrix 15 mg daily x 7 days", {**ADULT, "age": 75}, kb=kb)
    f = next(f for f in result.findings if f.code == "geriatric-avoid")
    assert "extended-release" in f.detail.lower() and "elderly" in f.detail


def test_amrix_rxnorm_code_is_checked_as_extended_release(kb):
    # 828355 = Amrix 15 mg ER capsule in the imported CDC value set
    result = check({"code": "828355", "dose": "30 mg", "frequency": "daily"}, ADULT, kb=kb)
    assert result.order.drug == "cyclobenzaprine"
    assert "dose-above-max" not in codes(result)


def test_combination_product_checks_acetaminophen_daily_total(kb):
    result = check("Norco 10/325 2 tabs q4h", ADULT, kb=kb)  # 650 mg x 6 = 3,900 mg: within 4 g
    assert "daily-dose-above-max" not in codes(result)
    result = check("Percocet 10/650 2 tabs q4h", ADULT, kb=kb)  # 1,300 mg x 6 = 7,800 mg
    f = next(f for f in result.findings if f.code == "daily-dose-above-max")
    assert "acetaminophen" in f.title.lower() and f.severity == "warning"


def test_tizanidine_with_antihypertensive_warns(kb):
    result = check("tizanidine 2 mg q8h prn x 5 days", {**ADULT, "medications": ["lisinopril 10 mg daily"]}, kb=kb)
    f = next(f for f in result.findings if f.code == "drug-interaction")
    assert "hypotension" in f.detail and f.severity == "warning"
    assert result.verdict == "caution"


@pytest.mark.parametrize("med", ["amlodipine", "losartan", "metoprolol succinate", "HCTZ", "clonidine", "verapamil"])
def test_antihypertensive_members(kb, med):
    result = check("tizanidine 2 mg q8h prn x 5 days", {**ADULT, "medications": [med]}, kb=kb)
    assert "drug-interaction" in codes(result), med


@pytest.mark.parametrize(("weeks", "severity"), [(12, None), (22, "warning"), (32, "critical")])
def test_nsaid_in_pregnancy_by_gestational_age(kb, weeks, severity):
    case = {"age": 30, "sex": "female", "pregnant": True, "gestational_weeks": weeks}
    result = check("ibuprofen 400 mg q8h x 3 days", case, kb=kb)
    found = [f for f in result.findings if f.code == "pregnancy" and "NSAID" in f.detail]
    if severity is None:
        assert not found
    else:
        assert found and found[0].severity == severity


def test_nsaid_pregnant_without_weeks_asks_for_them(kb):
    result = check("naproxen 500 mg bid", {"age": 30, "sex": "female", "pregnant": True}, kb=kb)
    f = next(f for f in result.findings if f.code == "missing-data" and "Gestational" in f.title)
    assert f.severity == "warning"


def test_baclofen_in_ckd4(kb):
    result = check("baclofen 5 mg tid x 7 days", {**ADULT, "conditions": ["CKD 4"]}, kb=kb)
    renal = [f for f in result.findings if f.code == "renal-impairment"]
    assert len(renal) == 1  # merged: one finding per problem
    assert "neurotoxicity" in renal[0].detail


# ----- parser properties ----------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from clinguide.clinical.sig import SigParseError, parse_sig  # noqa: E402

_numbers = st.one_of(st.integers(-50, 2000).map(str), st.floats(-5, 50, allow_nan=False).map(lambda x: f"{x:.2f}"))
_tail = st.sampled_from(["tid", "bid prn", "q6h", "qid x 5 days", "#30", "tid and hs", "1-2 tabs q8h", "", "daily"])
_units = st.sampled_from(["mg", "", " mg", "g", "mcg", " tabs"])


@settings(max_examples=300, deadline=None)
@given(n=_numbers, unit=_units, tail=_tail, drug=st.sampled_from(["diazepam", "flexeril", "Norco 5/325", "baclofen"]))
def test_sig_numbers_are_never_silently_changed(n, unit, tail, drug):
    sig = f"{drug} {n}{unit} {tail}".strip()
    try:
        parsed = parse_sig(sig)
    except SigParseError:
        return
    if parsed.dose is not None and parsed.dose.kind == "mass" and not parsed.units_per_dose:
        value = float(n)
        assert value > 0, sig  # a negative or zero number is an error, never its absolute value
        if unit.strip() in ("mg", ""):
            assert parsed.dose.low_mg == pytest.approx(value), sig
    if parsed.frequency is not None:
        assert parsed.frequency.doses_per_day > 0


def test_gestational_weeks_with_pregnant_false_is_bad_input(kb):
    from clinguide.checks.engine import InputError

    with pytest.raises(InputError) as err:
        check("ibuprofen 400 mg tid", {"pregnant": False, "gestational_weeks": 22}, kb=kb)
    assert "gestational_weeks" in str(err.value)
    with pytest.raises(InputError):
        check("ibuprofen 400 mg tid", {"gestational_weeks": -3}, kb=kb)
