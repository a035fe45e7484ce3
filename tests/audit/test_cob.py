"""Each COB rule on hand-built patients (measurement year 2025), including the edges the issue lists."""

from __future__ import annotations

from pathlib import Path

from .audit_helpers import (
    ALPRAZOLAM,
    DIAZEPAM,
    HYDROCODONE_APAP,
    OXYCODONE,
    TRAMADOL,
    UNKNOWN,
    audit,
    condition,
    dispense,
    patient,
    write,
)


def _numerator_patient(pid: str) -> list[dict]:
    """Two opioid and two benzodiazepine dates, 60 days of overlap (1–30 March, 1–30 April)."""
    return [
        patient(pid),
        dispense(pid, OXYCODONE, "2025-03-01", 30), dispense(pid, OXYCODONE, "2025-04-01", 30),
        dispense(pid, DIAZEPAM, "2025-03-01", 30), dispense(pid, DIAZEPAM, "2025-04-01", 31),
    ]


def test_a_patient_with_overlap_is_in_the_numerator(tmp_path: Path) -> None:
    summary, cob, _ = audit(write(tmp_path, [*_numerator_patient("a"), patient("b")]))
    assert cob["a"]["in_numerator"] == 1 and cob["a"]["overlap_days"] == 60
    assert cob["b"]["in_denominator"] == 0
    assert (summary["eligible"], summary["denominator"], summary["numerator"], summary["rate"]) == (2, 1, 1, 1.0)
    assert summary["measure"] == "COB" and summary["year"] == 2025


def test_same_date_dispenses_count_once(tmp_path: Path) -> None:
    res = [patient("a"), dispense("a", OXYCODONE, "2025-03-01", 30), dispense("a", TRAMADOL, "2025-03-01", 30),
           patient("b"), dispense("b", OXYCODONE, "2025-03-01", 10), dispense("b", OXYCODONE, "2025-03-01", 10),
           dispense("b", OXYCODONE, "2025-05-01", 4)]
    _, cob, _ = audit(write(tmp_path, res))
    assert cob["a"]["opioid_dates"] == 1 and cob["a"]["in_denominator"] == 0
    # b: two dates; the same-date pair gives its longest supply once (10 + 4 = 14 < 15)
    assert cob["b"]["opioid_dates"] == 2 and cob["b"]["opioid_supply_days"] == 14
    assert cob["b"]["in_denominator"] == 0
    assert "fewer than 15 days" in cob["b"]["reason"]


def test_exactly_15_days_supply_is_enough_and_14_is_not(tmp_path: Path) -> None:
    res = [patient("fifteen"), dispense("fifteen", OXYCODONE, "2025-03-01", 7),
           dispense("fifteen", OXYCODONE, "2025-03-20", 8),
           patient("fourteen"), dispense("fourteen", OXYCODONE, "2025-03-01", 7),
           dispense("fourteen", OXYCODONE, "2025-03-20", 7)]
    _, cob, _ = audit(write(tmp_path, res))
    assert cob["fifteen"]["opioid_supply_days"] == 15 and cob["fifteen"]["in_denominator"] == 1
    assert cob["fourteen"]["opioid_supply_days"] == 14 and cob["fourteen"]["in_denominator"] == 0


def test_exactly_30_overlap_days_is_enough_and_29_is_not(tmp_path: Path) -> None:
    def person(pid: str, second_benzo_days: int) -> list[dict]:
        return [patient(pid), dispense(pid, OXYCODONE, "2025-03-01", 30), dispense(pid, OXYCODONE, "2025-05-01", 30),
                dispense(pid, ALPRAZOLAM, "2025-03-01", 20), dispense(pid, ALPRAZOLAM, "2025-05-01", second_benzo_days)]

    _, cob, _ = audit(write(tmp_path, person("thirty", 10) + person("twentynine", 9)))
    assert cob["thirty"]["overlap_days"] == 30 and cob["thirty"]["in_numerator"] == 1
    assert cob["twentynine"]["overlap_days"] == 29 and cob["twentynine"]["in_numerator"] == 0
    assert "fewer than 30 days of overlap" in cob["twentynine"]["reason"]


def test_a_dispense_in_late_december_of_the_year_before_is_ignored(tmp_path: Path) -> None:
    res = [patient("a"), dispense("a", OXYCODONE, "2024-12-28", 30), dispense("a", OXYCODONE, "2025-02-01", 30),
           patient("b"), dispense("b", OXYCODONE, "2025-01-01", 30), dispense("b", OXYCODONE, "2025-02-01", 30),
           dispense("b", DIAZEPAM, "2024-12-28", 30), dispense("b", DIAZEPAM, "2025-02-01", 30)]
    _, cob, _ = audit(write(tmp_path, res))
    assert cob["a"]["opioid_dates"] == 1 and cob["a"]["in_denominator"] == 0
    # b's December benzodiazepine neither counts as a date nor covers January
    assert cob["b"]["benzodiazepine_dates"] == 1 and cob["b"]["overlap_days"] == 30
    assert cob["b"]["in_numerator"] == 0


def test_coverage_is_united_not_shifted_and_clipped_to_the_year(tmp_path: Path) -> None:
    res = [patient("a"), dispense("a", OXYCODONE, "2025-03-01", 30), dispense("a", OXYCODONE, "2025-03-10", 30),
           dispense("a", DIAZEPAM, "2025-02-01", 90), dispense("a", DIAZEPAM, "2025-02-02", 90),
           patient("b"), dispense("b", OXYCODONE, "2025-12-10", 30), dispense("b", OXYCODONE, "2025-12-20", 30),
           dispense("b", DIAZEPAM, "2025-12-10", 30), dispense("b", DIAZEPAM, "2025-12-11", 30)]
    _, cob, _ = audit(write(tmp_path, res))
    assert cob["a"]["overlap_days"] == 39  # 1 March – 8 April, not 60 (a shifted second fill would give 60)
    assert cob["b"]["opioid_supply_days"] == 22 + 12  # each fill clipped at 31 December
    assert cob["b"]["overlap_days"] == 22


def test_age_exactly_18_on_1_january_is_eligible(tmp_path: Path) -> None:
    res = [*(_numerator_patient("eighteen")[1:]), patient("eighteen", birth="2007-01-01"),
           *(_numerator_patient("seventeen")[1:]), patient("seventeen", birth="2007-01-02"),
           *(_numerator_patient("nobirth")[1:]), patient("nobirth", birth=None)]
    summary, cob, _ = audit(write(tmp_path, res))
    assert cob["eighteen"]["eligible"] == 1 and cob["eighteen"]["in_numerator"] == 1
    assert cob["seventeen"]["eligible"] == 0 and cob["seventeen"]["in_numerator"] == 0
    assert cob["nobirth"]["eligible"] == 0 and cob["nobirth"]["reason"] == "not eligible: no birth date"
    assert summary["eligible"] == 1


def test_cancelled_and_entered_in_error_dispenses_do_not_count(tmp_path: Path) -> None:
    res = [patient("a"), dispense("a", OXYCODONE, "2025-03-01", 30),
           dispense("a", OXYCODONE, "2025-04-01", 30, status="cancelled"),
           dispense("a", OXYCODONE, "2025-05-01", 30, status="entered-in-error"),
           *_numerator_patient("b")[1:3], dispense("b", DIAZEPAM, "2025-03-01", 30),
           dispense("b", DIAZEPAM, "2025-04-01", 30, status="entered-in-error")]
    res.insert(4, patient("b"))
    summary, cob, _ = audit(write(tmp_path, res))
    assert cob["a"]["opioid_dates"] == 1 and cob["a"]["in_denominator"] == 0
    assert cob["b"]["in_denominator"] == 1 and cob["b"]["benzodiazepine_dates"] == 1 and cob["b"]["in_numerator"] == 0
    statuses = {r["status"]: r["dispenses"] for r in summary["dispenses"]["by_status"]}
    assert statuses["cancelled"] == 1 and statuses["entered-in-error"] == 2


def test_exclusion_codes_remove_patients_from_the_denominator(tmp_path: Path) -> None:
    res = []
    cases = {"cancer": ("C34.90", None, None), "sickle": ("D57.1", None, None), "palliative": ("Z51.5", None, None),
             "merkel": ("C4A.9", None, None), "error": ("C34.90", "entered-in-error", None),
             "resolved": ("C34.90", None, "2024-06-01"), "benign": ("D12.6", None, None)}
    for pid, (icd, verification, abatement) in cases.items():
        res += _numerator_patient(pid)
        res.append(condition(pid, icd, "2024-01-15", verification, abatement))
    summary, cob, _ = audit(write(tmp_path, res))
    for pid in ("cancer", "sickle", "palliative", "merkel"):
        assert cob[pid]["excluded"] == 1 and cob[pid]["in_numerator"] == 0, pid
    for pid in ("error", "resolved", "benign"):
        assert cob[pid]["excluded"] == 0 and cob[pid]["in_numerator"] == 1, pid
    assert summary["excluded"] == 4 and summary["denominator"] == 3 and summary["denominator_before_exclusions"] == 7
    assert summary["rate"] == 1.0


def test_a_combination_product_counts_for_every_ingredient(tmp_path: Path) -> None:
    res = [patient("a"), dispense("a", HYDROCODONE_APAP, "2025-03-01", 30),
           dispense("a", HYDROCODONE_APAP, "2025-04-01", 30),
           dispense("a", DIAZEPAM, "2025-03-01", 30), dispense("a", DIAZEPAM, "2025-04-01", 30)]
    summary, cob, findings = audit(write(tmp_path, res))
    assert cob["a"]["in_numerator"] == 1
    drugs = {r["drug"] for r in summary["findings"]["top_drugs"]}
    assert {"acetaminophen", "hydrocodone", "diazepam"} <= drugs
    assert summary["dispenses"]["checked"] == 4 and summary["dispenses"]["checked_drug_rows"] == 6
    # the hydrocodone in the product is seen by the diazepam check
    assert any(f["drug_id"] == "diazepam" and f["code"] == "opioid-benzodiazepine" for f in findings)


def test_an_unknown_code_is_counted_and_reported_never_dropped(tmp_path: Path) -> None:
    res = [patient("a"), dispense("a", UNKNOWN, "2025-03-01", 30), dispense("a", UNKNOWN, "2025-04-01", 30),
           dispense("a", ("", "mystery tablets"), "2025-04-01", 30)]
    summary, cob, findings = audit(write(tmp_path, res))
    assert cob["a"]["opioid_dates"] == 0
    assert summary["unknown_codes"]["dispenses"] == 3 and summary["unknown_codes"]["codes"] == 2
    top = {(r["code"], r["display"]): r["dispenses"] for r in summary["unknown_codes"]["top"]}
    assert top[UNKNOWN] == 2 and top[("", "mystery tablets")] == 1
    assert findings == []


def test_a_code_outside_the_index_resolves_by_its_exact_product_name(tmp_path: Path) -> None:
    res = [patient("a"), dispense("a", ("0000000", "diazepam 5 MG Oral Tablet"), "2025-03-01", 5)]
    summary, _, findings = audit(write(tmp_path, res))
    assert summary["dispenses"]["resolved_by_name"] == 1 and summary["unknown_codes"]["dispenses"] == 0
    assert {f["drug_id"] for f in findings} == {"diazepam"}
