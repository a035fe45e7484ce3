"""The sig parser: a table of real-world sigs and hypothesis properties."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinguide.clinical.sig import SigParseError, parse_dose, parse_frequency, parse_sig

# sig, drug text, dose mg (checked), doses/day, prn, days, route
SIGS = [
    ("Valium 10 mg PO QID x 28 days", "Valium", 10, 4, False, 28, "oral"),
    ("valium 2mg po bid prn x5 days", "valium", 2, 2, True, 5, "oral"),
    ("cyclobenzaprine 5-10 mg TID prn", "cyclobenzaprine", 10, 3, True, None, None),
    ("tizanidine 4 mg every 6 to 8 hours", "tizanidine", 4, 4, False, None, None),
    ("baclofen 5 mg three times daily", "baclofen", 5, 3, False, None, None),
    ("diazepam 5 mg PO at bedtime", "diazepam", 5, 1, False, None, "oral"),
    ("diazepam 5 mg po q6h", "diazepam", 5, 4, False, None, "oral"),
    ("diazepam 5 mg every 8 hours", "diazepam", 5, 3, False, None, None),
    ("baclofen 10 mg twice a day", "baclofen", 10, 2, False, None, None),
    ("diazepam 5 mg PO q8h prn x 7 days", "diazepam", 5, 3, True, 7, "oral"),
    ("methocarbamol 1.5 g PO QID x 3 days", "methocarbamol", 1500, 4, False, 3, "oral"),
    ("methocarbamol 1500 mg qid", "methocarbamol", 1500, 4, False, None, None),
    ("diazepam 500 mcg qhs x5d", "diazepam", 0.5, 1, False, 5, None),
    ("diazepam 2000 µg bid", "diazepam", 2, 2, False, None, None),
    ("diazepam 2000 ug bid", "diazepam", 2, 2, False, None, None),
    ("cyclobenzaprine 10 mg HS", "cyclobenzaprine", 10, 1, False, None, None),
    ("cyclobenzaprine 5 mg po tid x 2 weeks", "cyclobenzaprine", 5, 3, False, 14, "oral"),
    ("cyclobenzaprine 5 mg by mouth three times a day for 2 weeks", "cyclobenzaprine", 5, 3, False, 14, "oral"),
    ("tizanidine 2 mg q6-8h prn spasm", "tizanidine", 2, 4, True, None, None),
    ("tizanidine 4mg q8h PRN", "tizanidine", 4, 3, True, None, None),
    ("tizanidine 2 mg up to 3 times a day", "tizanidine", 2, 3, True, None, None),
    ("baclofen 5 mg TID x 3 days then reassess", "baclofen", 5, 3, False, 3, None),
    ("Take diazepam 2 mg orally twice daily as needed", "diazepam", 2, 2, True, None, "oral"),
    ("Rx: diazepam 5 mg PO daily", "diazepam", 5, 1, False, None, "oral"),
    ("diazepam 5 mg once daily", "diazepam", 5, 1, False, None, None),
    ("diazepam 5 mg qd x 1 week", "diazepam", 5, 1, False, 7, None),
    ("diazepam 5mg QAM", "diazepam", 5, 1, False, None, None),
    ("metaxalone 800 mg 3-4 times daily", "metaxalone", 800, 4, False, None, None),
    ("metaxalone 800 mg PO 4 times a day", "metaxalone", 800, 4, False, None, "oral"),
    ("orphenadrine ER 100 mg BID", "orphenadrine", 100, 2, False, None, None),
    ("carisoprodol 350 mg TID and at bedtime", "carisoprodol", 350, 4, False, None, None),
    ("carisoprodol 250-350 mg po tid x 2-3 weeks", "carisoprodol", 350, 3, False, 21, "oral"),
    ("diazepam 10 mg PO every 6 hours", "diazepam", 10, 4, False, None, "oral"),
    ("diazepam 10mg q 6 hrs", "diazepam", 10, 4, False, None, None),
    ("diazepam 2 mg twice a day for one week", "diazepam", 2, 2, False, 7, None),
    ("diazepam 2 mg bid for a week", "diazepam", 2, 2, False, 7, None),
    ("diazepam 2 mg 2x/day x 10 days", "diazepam", 2, 2, False, 10, None),
    ("diazepam 2 mg nightly x 14 days", "diazepam", 2, 1, False, 14, None),
    ("DIAZEPAM 5 MG TAB 1 TAB PO TID", "DIAZEPAM", 5, 3, False, None, "oral"),
    ("diazepam tablets 5 mg po tid", "diazepam", 5, 3, False, None, "oral"),
    ("diazapam 5 mg tid", "diazapam", 5, 3, False, None, None),
    ("Flexeril 10 mg PO TID PRN muscle spasm x 7 days", "Flexeril", 10, 3, True, 7, "oral"),
    ("Zanaflex 4 mg q6h prn", "Zanaflex", 4, 4, True, None, None),
    ("Robaxin 750 mg every 4 hours", "Robaxin", 750, 6, False, None, None),
    ("Soma 350 mg four times daily x 2 wk", "Soma", 350, 4, False, 14, None),
    ("diazepam 5 mg IM once", "diazepam", 5, 1, False, None, "intramuscular"),
    ("diazepam 0.5 g tid", "diazepam", 500, 3, False, None, None),
    ("baclofen 5 mg po tid x 1 month", "baclofen", 5, 3, False, 30, "oral"),
    ("Norco 5/325 mg 1 tab q6h prn", "Norco 5/325 mg", None, 4, True, None, None),
]


@pytest.mark.parametrize(("sig", "drug", "mg", "per_day", "prn", "days", "route"), SIGS, ids=[s[0] for s in SIGS])
def test_sig_table(sig, drug, mg, per_day, prn, days, route):
    p = parse_sig(sig)
    assert p.drug_text == drug
    assert (p.dose.mg if p.dose else None) == (pytest.approx(mg) if mg is not None else None)
    assert p.frequency is not None and p.frequency.doses_per_day == pytest.approx(per_day)
    assert p.prn is prn
    assert p.days == days
    assert p.route == route


def test_table_is_large_enough():
    assert len(SIGS) >= 40


@pytest.mark.parametrize("sig", ["", "   ", "5 mg tid", "diazepam tid", "diazepam -5 tid", "q6h"])
def test_unparseable(sig):
    with pytest.raises(SigParseError):
        parse_sig(sig)


def test_non_mass_unit_kept():
    dose = parse_dose("5 mL")
    assert dose is not None and dose.kind == "non-mass" and dose.mg is None
    assert parse_dose("2 tablets").kind == "non-mass"  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "n"), [("QID", 4), ("q4h", 6), ("every 12 hours", 2), ("qod", 0.5),
                                         ("twice a day", 2), ("at bedtime", 1), ("up to 4 times a day", 4)])
def test_frequency_words(text, n):
    f = parse_frequency(text)
    assert f is not None and f.doses_per_day == pytest.approx(n)


def test_zero_interval_is_a_parse_error():
    with pytest.raises(SigParseError):
        parse_frequency("q0h")


_TOKENS = ["mg", "mcg", "g", "ml", "tid", "q", "h", "x", "days", "weeks", "prn", "every", "to", "times", "daily",
           "po", "diazepam", "valium", "tab", "bid", " ", "1e999", "0", "99999999999999999999999999999"]
_alphabet = st.sampled_from([*list("abcdeghimnopqrstuxyz0123456789 .-/µ×–,()"), *_TOKENS])


@settings(max_examples=400, deadline=None)
@given(st.lists(_alphabet, max_size=25).map("".join))
def test_parser_raises_only_sigparseerror(text):
    with contextlib.suppress(SigParseError):
        parse_sig(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_parser_raises_only_sigparseerror_any_text(text):
    with contextlib.suppress(SigParseError):
        parse_sig(text)
