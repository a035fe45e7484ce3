"""Every unit conversion clinguide does, one table per quantity: mass to mg, time to days or hours.

No units library: the conversions are fixed factors (g, mcg to mg; weeks, months to days;
UCUM period codes to hours), and pint's import plus registry build cost seconds on a cold
start against a 0.3 s budget for a whole ``clinguide check`` process. A unit that is not a
mass (mL, tablets, drops) is never converted: the dose check reports it.
"""

from __future__ import annotations

from functools import lru_cache

# mass unit as written in a sig -> its canonical name
MASS_WORDS = {
    "mg": "milligram", "mgs": "milligram", "milligram": "milligram", "milligrams": "milligram",
    "g": "gram", "gm": "gram", "gms": "gram", "gram": "gram", "grams": "gram", "gr": "gram",
    "mcg": "microgram", "mcgs": "microgram", "µg": "microgram", "μg": "microgram", "ug": "microgram",
    "microgram": "microgram", "micrograms": "microgram",
    "kg": "kilogram", "ng": "nanogram",
}  # fmt: skip
# canonical mass unit -> (multiply, divide) to get mg; kept as integers so 250 mcg is exactly 0.25 mg
_MG = {"milligram": (1, 1), "gram": (1000, 1), "kilogram": (1_000_000, 1), "microgram": (1, 1000),
       "nanogram": (1, 1_000_000)}

# duration words of a sig ("x 2 wk", "for 10 days") -> days
SIG_DAYS = {"d": 1, "day": 1, "days": 1, "dy": 1, "dys": 1, "w": 7, "wk": 7, "wks": 7, "week": 7, "weeks": 7,
            "mo": 30, "mos": 30, "month": 30, "months": 30}
# UCUM period codes of a FHIR Timing.repeat.periodUnit -> hours
UCUM_HOURS = {"s": 1 / 3600, "min": 1 / 60, "h": 1.0, "d": 24.0, "wk": 168.0, "mo": 730.0, "a": 8766.0}
# UCUM codes and words of a FHIR duration (expectedSupplyDuration, boundsDuration) -> days
UCUM_DAYS = {"d": 1.0, "day": 1.0, "days": 1.0, "wk": 7.0, "week": 7.0, "weeks": 7.0, "mo": 30.0,
             "month": 30.0, "months": 30.0, "h": 1 / 24, "hour": 1 / 24, "hours": 1 / 24, "a": 365.0}


def is_mass(unit: str) -> bool:
    return unit.lower() in MASS_WORDS


@lru_cache(maxsize=256)
def to_mg(value: float, unit: str) -> float:
    """A mass in ``unit`` (as written: 'g', 'mcg', 'µg' …) in mg. KeyError for a unit that is not a mass."""
    multiply, divide = _MG[MASS_WORDS[unit.lower()]]
    if multiply == divide:
        return value
    return value * multiply / divide


def sig_days(n: float, unit: str) -> float:
    """``n`` of a sig duration unit in days (an unknown word counts as days, as the sig grammar only
    matches the words of ``SIG_DAYS``)."""
    return n * SIG_DAYS.get(unit, SIG_DAYS.get(unit.rstrip("s"), 1))
