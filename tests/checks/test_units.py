"""clinical/units.py: the one place units are converted (no units library)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinguide.clinical.units import MASS_WORDS, SIG_DAYS, UCUM_DAYS, UCUM_HOURS, sig_days, to_mg

amounts = st.floats(min_value=0.001, max_value=10_000, allow_nan=False, allow_infinity=False)


@given(amounts)
def test_grams_and_micrograms_scale_by_a_thousand(value):
    assert to_mg(value, "g") == pytest.approx(value * 1000)
    assert to_mg(value, "mcg") == pytest.approx(value / 1000)
    assert to_mg(value, "µg") == to_mg(value, "ug") == to_mg(value, "mcg")
    assert to_mg(value, "mg") == value


def test_exact_for_common_doses():
    assert to_mg(250, "mcg") == 0.25 and to_mg(0.5, "g") == 500


def test_a_non_mass_unit_is_never_converted():
    with pytest.raises(KeyError):
        to_mg(5, "ml")
    assert "tab" not in MASS_WORDS


def test_time_tables_agree():
    assert sig_days(2, "wk") == 14 and sig_days(1, "month") == 30
    assert UCUM_DAYS["wk"] == SIG_DAYS["wk"] and UCUM_HOURS["d"] == 24 * UCUM_DAYS["d"]
