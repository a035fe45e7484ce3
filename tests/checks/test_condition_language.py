"""Conditions in plain words: the ConText-style resolver against the shipped pack's vocabulary."""

from __future__ import annotations

import pytest

from clinguide.checks.engine import check
from clinguide.clinical.conditions import gestation_conditions, resolve_condition_text
from clinguide.kb import shipped_kb


@pytest.fixture(scope="module")
def kb():
    return shipped_kb()


SUD = "substance-use-disorder"
OUD = "opioid-use-disorder"
AUD = "alcohol-use-disorder"
RENAL = "renal-impairment"
SEVERE_RENAL = "severe-renal-impairment"
LIVER = "hepatic-impairment"

# phrase -> condition ids that must be found (the resolver may add implied ones only through the kb)
PHRASES: list[tuple[str, set[str]]] = [
    ("history of substance use disorder", {SUD}),
    ("past drug addiction", {SUD}),
    ("former IV drug user", {SUD}),
    ("Hx IVDU", {SUD}),
    ("in recovery from alcoholism", {AUD}),
    ("recovering alcoholic", {AUD}),
    ("AUD in remission", {AUD}),
    ("h/o OUD on suboxone", {OUD}),
    ("OUD on methadone", {OUD}),
    ("past heroin use", {OUD}),
    ("SUD", {SUD}),
    ("OSA on CPAP", {"sleep-apnea"}),
    ("possible sleep apnea", {"sleep-apnea"}),
    ("sleep apnea not ruled out", {"sleep-apnea"}),
    ("obstructive sleep apnoea", {"sleep-apnea"}),
    ("COPD", {"copd"}),
    ("severe COPD on home oxygen", {"severe-respiratory-insufficiency"}),
    ("COPD and OSA", {"copd", "sleep-apnea"}),
    ("pmh: copd, osa, ckd 4", {"copd", "sleep-apnea", SEVERE_RENAL}),
    ("hepatitis C cirrhosis", {LIVER}),
    ("HCV", {LIVER}),
    ("alcoholic cirrhosis", {AUD, LIVER}),
    ("Child-Pugh C cirrhosis", {"severe-hepatic-impairment"}),
    ("CKD 4", {SEVERE_RENAL}),
    ("CKD stage IV", {SEVERE_RENAL}),
    ("stage 3b CKD", {RENAL}),
    ("CKD 3a", {RENAL}),
    ("ESRD", {SEVERE_RENAL}),
    ("ESRD on HD", {SEVERE_RENAL}),
    ("eGFR 25", {SEVERE_RENAL}),
    ("eGFR of 42 mL/min/1.73m2", {RENAL}),
    ("GFR < 15", {SEVERE_RENAL}),
    ("CrCl 20 mL/min", {SEVERE_RENAL}),
    ("creatinine clearance 50", {RENAL}),
    ("myasthenia gravis (ocular)", {"myasthenia-gravis"}),
    ("narrow-angle glaucoma", {"narrow-angle-glaucoma"}),
    ("HTN", {"hypertension"}),
    ("history of falls", {"falls-history"}),
    ("CHF", {"heart-failure"}),
    ("known seizure disorder", {"seizure-disorder"}),
    ("COPD but no OSA", {"copd"}),
    ("hx of opioid abuse, clean 5 yrs", {OUD}),
    ("COPD on 2L home O2", {"copd", "severe-respiratory-insufficiency"}),
    ("OSA noncompliant with CPAP", {"sleep-apnea"}),
    ("pregnant 24 weeks", {"pregnancy", "pregnancy-20-weeks"}),
    ("G2P1 at 31 weeks", {"pregnancy-30-weeks"}),
    ("IUP at 22w", {"pregnancy-20-weeks"}),
]

# phrases that must NOT give the condition (negations) -> ids that must be absent
NEGATED: list[tuple[str, set[str]]] = [
    ("no history of OSA", {"sleep-apnea"}),
    ("denies alcohol or drug use", {AUD, SUD}),
    ("no known liver disease", {LIVER}),
    ("negative for hepatitis C", {LIVER}),
    ("OSA ruled out", {"sleep-apnea"}),
    ("liver disease - ruled out", {LIVER}),
    ("never diagnosed with COPD", {"copd"}),
    ("no hx of substance abuse", {SUD}),
    ("without myasthenia gravis", {"myasthenia-gravis"}),
    ("COPD but no OSA", {"sleep-apnea"}),
    ("none", set()),
    ("NKDA", set()),
    ("not pregnant", {"pregnancy"}),
]


@pytest.mark.parametrize(("text", "expected"), PHRASES, ids=[p[0] for p in PHRASES])
def test_phrase_resolves(kb, text, expected):
    res = resolve_condition_text(text, kb)
    found = kb.expand_conditions(res.ids)
    assert expected <= found, res
    assert not res.unknown, res


@pytest.mark.parametrize(("text", "absent"), NEGATED, ids=[p[0] for p in NEGATED])
def test_negation_does_not_match(kb, text, absent):
    res = resolve_condition_text(text, kb)
    found = kb.expand_conditions(res.ids)
    assert not (absent & found), res
    assert res.negated, res
    assert not res.unknown, res


def test_table_is_large_enough():
    assert len(PHRASES) + len(NEGATED) >= 40


@pytest.mark.parametrize("text", ["kidney stones", "osteoarthritis", "former smoker", "zorbitis of the spleen"])
def test_unrecognised_is_reported_not_dropped(kb, text):
    res = resolve_condition_text(text, kb)
    assert res.unknown and not res.negated


def test_leftover_words_are_reported(kb):
    res = resolve_condition_text("COPD with pulmonary fibrosis", kb)
    assert "copd" in res.ids
    assert res.unknown and "fibrosis" in res.unknown[0]


@pytest.mark.parametrize(("value", "stage", "ids"), [
    ("eGFR 95", "G1", set()), ("eGFR 60", "G2", set()), ("eGFR 59", "G3a", {RENAL}), ("eGFR 30", "G3b", {RENAL}),
    ("eGFR 29", "G4", {SEVERE_RENAL}), ("eGFR 14", "G5", {SEVERE_RENAL}), ("eGFR <30", "G4", {SEVERE_RENAL}),
    ("eGFR > 60", "G2", set()),
])
def test_kdigo_categories(kb, value, stage, ids):
    res = resolve_condition_text(value, kb)
    assert set(res.ids) == ids
    assert any(f"KDIGO {stage} " in n for n in res.notes), res.notes
    assert not res.unknown


def test_crcl_note_says_it_is_not_egfr(kb):
    res = resolve_condition_text("CrCl 22", kb)
    assert any("not the same measure" in n for n in res.notes)


def test_gestation_conditions(kb):
    assert gestation_conditions(12, kb) == []
    assert gestation_conditions(20, kb) == ["pregnancy-20-weeks"]
    assert set(gestation_conditions(31, kb)) == {"pregnancy-20-weeks", "pregnancy-30-weeks"}


# ----- end to end through check ------------------------------------------------------------------

def _codes(result):
    return {f.code for f in result.findings}


def test_egfr_number_fires_renal_rule_for_baclofen(kb):
    result = check("baclofen 5 mg tid x 5 days", {"age": 50, "conditions": ["eGFR 25"]}, kb=kb)
    assert "renal-impairment" in _codes(result)
    assert "unknown-condition" not in _codes(result)


def test_history_of_sud_fires_substance_rule_for_diazepam(kb):
    result = check("diazepam 2 mg tid x 5 days", {"age": 40, "conditions": ["in recovery from alcoholism"]}, kb=kb)
    assert "substance-use-history" in _codes(result)


def test_negated_condition_gives_no_finding(kb):
    result = check("diazepam 2 mg tid x 5 days", {"age": 40, "sex": "male", "conditions": ["no history of OSA"]},
                   kb=kb)
    assert not any("sleep apnea" in f.title.lower() for f in result.findings)
    assert "unknown-condition" not in _codes(result)


def test_none_in_medications_and_allergies_is_not_unknown(kb):
    result = check("diazepam 2 mg tid x 5 days", {"medications": ["none"], "allergies": ["NKDA"]}, kb=kb)
    assert not {"unknown-medication"} & _codes(result)


def test_gestational_age_in_a_problem_counts_like_the_case_field(kb):
    res = resolve_condition_text("pregnant 12 weeks", kb)
    assert res.gestational_weeks == 12 and "pregnancy-20-weeks" not in res.ids
    result = check("naproxen 500 mg bid x 3 days", {"age": 33, "sex": "female", "conditions": ["G2P1 at 31 weeks"]},
                   kb=kb)
    f = next(f for f in result.findings if f.code == "pregnancy")
    assert f.severity == "critical" and result.verdict == "do-not-prescribe"
    assert not any("Gestational age not given" in f.title for f in result.findings)


@pytest.mark.parametrize(("text", "not_id"),
                         [("diabetic foot ulcer", "peptic-ulcer"), ("venous ulcer", "peptic-ulcer")])
def test_a_name_modified_by_an_unknown_word_is_another_thing(kb, text, not_id):
    res = resolve_condition_text(text, kb)
    assert not_id not in res.ids and res.unknown


# ----- a spinal-fusion procedure written as a condition -------------------------------------

FUSION_PHRASES = ["s/p L4-5 fusion", "status post lumbar fusion", "s/p PLIF", "spinal fusion 2 weeks ago"]


@pytest.mark.parametrize("text", FUSION_PHRASES)
def test_fusion_procedure_is_read_not_unknown(kb, text):
    resolution = resolve_condition_text(text, kb)
    assert resolution.unknown == ()
    assert [p for _, p in resolution.procedures] == ["spinal-fusion"]
    result = check("diazepam 2 mg bid x 5 days",
                   {"age": 50, "setting": "post-spinal-fusion", "conditions": [text]}, kb=kb)
    codes = {f.code for f in result.findings}
    assert "unknown-condition" not in codes
    read = [f for f in result.findings if f.code == "condition-interpreted"]
    assert read and read[0].severity == "info" and "spinal fusion" in read[0].detail
    # the setting's own rule still speaks: diazepam is not recommended after fusion
    assert "not-recommended-setting" in codes


@pytest.mark.parametrize("text", FUSION_PHRASES)
def test_fusion_procedure_in_another_setting_is_not_permissive(kb, text):
    result = check("diazepam 2 mg bid x 5 days", {"age": 50, "setting": "back-spasm", "conditions": [text]}, kb=kb)
    warned = [f for f in result.findings if f.code == "unknown-condition"]
    assert warned and "post-spinal-fusion" in warned[0].detail
    assert result.verdict != "ok"


def test_fusion_with_unknown_words_stays_partly_unknown(kb):
    resolution = resolve_condition_text("s/p L4-5 fusion with wound dehiscence", kb)
    assert resolution.unknown and "dehiscence" in resolution.unknown[0]
    assert resolve_condition_text("blood transfusion", kb).procedures == ()


def test_assess_reads_fusion_procedure(kb):
    from clinguide.plans.assess import assess

    plan = assess({"age": 50, "setting": "post-spinal-fusion", "conditions": ["s/p L4-5 fusion"]}, kb=kb)
    assert "unknown-condition" not in {f.code for f in plan.findings}


# ----- a stopped medicine in the medications list -------------------------------------------

STOPPED = [("no longer taking oxycodone", "oxycodone"), ("oxycodone (discontinued)", "oxycodone"),
           ("stopped lorazepam last month", "lorazepam")]


@pytest.mark.parametrize(("text", "drug_id"), STOPPED)
def test_stopped_medicine_is_read_as_stopped_not_current_not_unknown(kb, text, drug_id):
    result = check("diazepam 2 mg bid x 5 days", {"age": 50, "medications": [text]}, kb=kb)
    codes = {f.code for f in result.findings}
    assert "unknown-medication" not in codes
    # not a current medicine: no opioid-benzodiazepine or duplicate-therapy finding
    assert not codes & {"opioid-benzodiazepine", "duplicate-therapy", "cns-depressant-combination"}
    read = [f for f in result.findings if f.code == "medication-stopped"]
    assert len(read) == 1 and read[0].severity == "info"
    assert kb.drugs[drug_id].name in read[0].title and "stopped" in read[0].detail
    assert "not checked" in read[0].detail


def test_current_medicine_still_fires(kb):
    result = check("diazepam 2 mg bid x 5 days", {"age": 50, "medications": ["oxycodone"]}, kb=kb)
    assert "opioid-benzodiazepine" in {f.code for f in result.findings}


@pytest.mark.parametrize("text", ["stopped phenelzine 2 weeks ago", "stopped phenelzine last week"])
def test_stopped_within_a_rules_window_applies_the_rule_until_the_date_is_known(kb, text):
    """The stop date is not read, so a rule that holds for N days after stopping (an MAOI with
    cyclobenzaprine) is applied at its own code and severity, saying the date was not checked."""
    rule = next(r for r in kb.interactions if r.within_days)
    result = check("cyclobenzaprine 5 mg tid x 5 days", {"age": 50, "medications": [text]}, kb=kb)
    warned = [f for f in result.findings if "date not checked" in f.title]
    assert warned and warned[0].code == rule.code and warned[0].severity == rule.severity
    assert f"{rule.within_days} days" in warned[0].detail and "NOT checked" in warned[0].detail
    assert result.verdict == "do-not-prescribe" if rule.severity == "critical" else result.verdict != "ok"


@pytest.mark.parametrize("text", ["stopped blah", "stopped oxycodone because of nausea", "no longer taking xyzzy"])
def test_stopped_with_unknown_words_stays_unknown(kb, text):
    result = check("diazepam 2 mg bid x 5 days", {"age": 50, "medications": [text]}, kb=kb)
    assert "unknown-medication" in {f.code for f in result.findings}
    assert result.verdict != "ok"
