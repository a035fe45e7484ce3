"""FHIR R4 dosage and dispense fields → the Order's dose, frequency, days and route.

Numbers are never repaired: a zero, negative or absurd dose, interval or supply duration becomes an
:class:`OrderProblem` (and the field is left empty), never its absolute value or a clamp.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from clinguide.clinical.units import UCUM_DAYS, UCUM_HOURS
from clinguide.fhir.values import as_number, concept_texts, fmt_number, parse_date

_STRENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*(MG|MCG|G)\b(?!\s*/)", re.IGNORECASE)
_CONCENTRATION = re.compile(r"(\d+(?:\.\d+)?)\s*(MG|MCG)\s*/\s*(\d+(?:\.\d+)?)?\s*ML\b", re.IGNORECASE)
_VOLUME_UNITS = frozenset({"ml", "milliliter", "millilitre", "milliliters", "millilitres"})
# "1 tablet by mouth …", "take 2 capsules …": a unit count at the start of the free-text instructions
_TEXT_COUNT = re.compile(r"^\s*(?:take\s+)?(\d+(?:\.\d+)?)\s*(tab|tabs|tablet|tablets|cap|caps|capsule|capsules)\b",
                         re.IGNORECASE)
_MASS_UNITS = {"mg": "mg", "milligram": "mg", "milligrams": "mg", "g": "g", "gram": "g", "mcg": "mcg", "ug": "mcg",
               "µg": "mcg", "microgram": "mcg"}
_UNIT_DOSE = re.compile(r"^\{?(tab|tablet|tablets|cap|capsule|capsules)\}?$", re.IGNORECASE)
_PERIOD_HOURS = UCUM_HOURS
_DURATION_DAYS = UCUM_DAYS
_TIMING_CODES = {"QD": "once daily", "BID": "BID", "TID": "TID", "QID": "QID", "AM": "once daily",
                 "PM": "once daily", "QOD": "every 48 hours", "Q4H": "q4h", "Q6H": "q6h", "Q8H": "q8h",
                 "HS": "at bedtime"}




@dataclass(frozen=True)
class OrderProblem:
    """A number in the FHIR order that cannot be used as written (zero, negative, absurd)."""

    code: str  # unparseable-order | implausible-dose
    field: str  # dose | frequency | days
    path: str  # where in the MedicationRequest
    message: str


# Bounds that no real order reaches in any unit: beyond them a number is an entry error. They are
# machinery (they catch typing slips such as a missing decimal point by orders of magnitude), not
# clinical limits; the pack's own limits (dose-above-max, implausible_dose_factor) apply below them.
ABSURD_AMOUNT = 1e7
TINY_AMOUNT = 1e-6
MAX_DOSES_PER_DAY = 1440  # more than one dose a minute
MAX_COURSE_DAYS = 3650


def _plain(number: float) -> str:
    """Digits without an exponent, so the order parser reads what was written."""
    text = f"{number:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def _show(number: float) -> str:
    """A number for a message: as written where that is readable, else in exponent form."""
    return _plain(number) if 1e-6 <= abs(number) < 1e15 else f"{number:g}"


def _usable(value: float, path: str, fld: str, what: str, problems: list[OrderProblem]) -> bool:
    """False (and a problem recorded) for a zero, negative or absurd number; never repaired."""
    if value <= 0:
        problems.append(OrderProblem(
            "unparseable-order", fld, path,
            f"{path} is {_show(value)}: {what} must be a positive number. It was not read (and never as "
            f"{_show(abs(value))}); the order could not be assessed as written."))
        return False
    if value >= ABSURD_AMOUNT or value < TINY_AMOUNT:
        problems.append(OrderProblem(
            "implausible-dose", fld, path,
            f"{path} is {_show(value)}: not a plausible {what} — probably an entry error. It was not used."))
        return False
    return True


def read_dose(dosage: dict[str, Any], names: list[str], notes: list[str], problems: list[OrderProblem],
          where: str = "dosageInstruction[0]") -> str | None:
    for i, dar in enumerate(dosage.get("doseAndRate") or []):
        if not isinstance(dar, dict):
            continue
        qty = dar.get("doseQuantity")
        rng = dar.get("doseRange")
        if qty and as_number(qty.get("value")) is not None:
            value = as_number(qty["value"])
            assert value is not None
            if not _usable(value, f"{where}.doseAndRate[{i}].doseQuantity.value", "dose", "a dose", problems):
                return None
            unit = str(qty.get("code") or qty.get("unit") or "").strip()
            mass = _MASS_UNITS.get(unit.lower()) or _MASS_UNITS.get(str(qty.get("unit", "")).lower())
            if mass:
                return f"{_plain(value)} {mass}"
            if _UNIT_DOSE.match(unit) or _UNIT_DOSE.match(str(qty.get("unit", ""))):
                strengths = {(float(m.group(1)), m.group(2).lower()) for n in names for m in _STRENGTH.finditer(n)}
                if len(strengths) == 1:
                    strength, sunit = strengths.pop()
                    notes.append(f"Dose read as {_show(value)} × {fmt_number(strength)} {sunit} "
                                 "(strength from the product).")
                    return f"{_plain(value * strength)} {sunit}"
            if unit.lower() in _VOLUME_UNITS or str(qty.get("unit", "")).lower() in _VOLUME_UNITS:
                found = {(float(m.group(1)), m.group(2).lower(), float(m.group(3) or 1))
                         for n in names for m in _CONCENTRATION.finditer(n)}
                if len(found) == 1:
                    amount, sunit, per_ml = found.pop()
                    notes.append(f"Dose read as {fmt_number(value)} mL × {fmt_number(amount)} {sunit}/"
                                 f"{fmt_number(per_ml)} mL (concentration from the product).")
                    return f"{_plain(value * amount / per_ml)} {sunit}"
            return f"{_plain(value)} {qty.get('unit') or unit}".strip()
        if rng and rng.get("low") and rng.get("high"):
            low, high = as_number(rng["low"].get("value")), as_number(rng["high"].get("value"))
            unit = rng["high"].get("unit") or rng["high"].get("code") or ""
            if low is not None and high is not None:
                path = f"{where}.doseAndRate[{i}].doseRange"
                if not (_usable(low, f"{path}.low.value", "dose", "a dose", problems)
                        and _usable(high, f"{path}.high.value", "dose", "a dose", problems)):
                    return None
                if low > high:
                    problems.append(OrderProblem(
                        "unparseable-order", "dose", path,
                        f"{path}: low ({_show(low)}) is above high ({_show(high)}); the dose could not be read."))
                    return None
                return f"{_plain(low)}-{_plain(high)} {unit}".strip()
    return None


def read_frequency(dosage: dict[str, Any], problems: list[OrderProblem],
               where: str = "dosageInstruction[0]") -> str | None:
    timing = dosage.get("timing") or {}
    repeat = timing.get("repeat") or {}
    for key, what in (("frequency", "a number of doses"), ("frequencyMax", "a number of doses"),
                      ("period", "an interval"), ("periodMax", "an interval")):
        value = as_number(repeat.get(key))
        if key in repeat and value is not None and not _usable(
            value, f"{where}.timing.repeat.{key}", "frequency", what, problems
        ):
            return None
    freq = as_number(repeat.get("frequencyMax")) or as_number(repeat.get("frequency"))
    period = as_number(repeat.get("period"))
    unit = repeat.get("periodUnit")
    if period and unit in _PERIOD_HOURS:
        freq = freq or 1.0
        hours = period * _PERIOD_HOURS[unit] / freq
        per_day = 24.0 / hours
        if per_day > MAX_DOSES_PER_DAY or hours > MAX_COURSE_DAYS * 24:
            problems.append(OrderProblem(
                "implausible-dose", "frequency", f"{where}.timing.repeat",
                f"{where}.timing.repeat gives a dose every {_show(hours)} hours: not a plausible dosing interval "
                "— probably an entry error. It was not used."))
            return None
        if hours <= 24 and abs(per_day - round(per_day)) < 1e-6:
            n = round(per_day)
            return "once daily" if n == 1 else f"{n} times daily"
        return f"every {_plain(round(hours, 2))} hours"
    if repeat.get("when") and set(repeat["when"]) <= {"HS"}:
        return "at bedtime"
    code = (timing.get("code") or {}).get("coding", [])
    for coding in code:
        mapped = _TIMING_CODES.get(str(coding.get("code", "")).upper())
        if mapped:
            return mapped
    return (timing.get("code") or {}).get("text")


def read_days(resource: dict[str, Any], notes: list[str], problems: list[OrderProblem]) -> int | None:
    dispense = resource.get("dispenseRequest") or {}
    supply = dispense.get("expectedSupplyDuration") or {}
    value = as_number(supply.get("value"))
    per = _DURATION_DAYS.get(str(supply.get("code") or supply.get("unit") or "d").lower())
    where = "dispenseRequest"
    repeats = as_number(dispense.get("numberOfRepeatsAllowed"))
    if repeats is not None and repeats < 0:
        problems.append(OrderProblem(
            "unparseable-order", "days", f"{where}.numberOfRepeatsAllowed",
            f"{where}.numberOfRepeatsAllowed is {_show(repeats)}: refills cannot be negative; the course length "
            "could not be read."))
        return None
    if value is not None and per:
        if not _usable(value, f"{where}.expectedSupplyDuration.value", "days", "a supply duration", problems):
            return None
        days = value * per
        n = int(repeats or 0)
        if n > 0:
            notes.append(f"Course read as a {_show(days)}-day supply × (1 + {n} refills) = "
                         f"{fmt_number(days * (1 + n))} days.")
            days *= 1 + n
        if days > MAX_COURSE_DAYS:
            problems.append(OrderProblem(
                "implausible-dose", "days", f"{where}.expectedSupplyDuration",
                f"{where}.expectedSupplyDuration (with refills) gives a course of {_show(days)} days, beyond "
                f"{MAX_COURSE_DAYS} days — probably an entry error. It was not used."))
            return None
        return max(1, math.ceil(days))
    period = dispense.get("validityPeriod") or {}
    start, end = parse_date(period.get("start")), parse_date(period.get("end"))
    if start and end:
        if end <= start:
            problems.append(OrderProblem(
                "unparseable-order", "days", f"{where}.validityPeriod",
                f"{where}.validityPeriod ends ({period.get('end')}) before it starts ({period.get('start')}); the "
                "course length could not be read."))
            return None
        days = math.ceil((end - start).total_seconds() / 86400)
        if days > MAX_COURSE_DAYS:
            notes.append(f"The validity period ({days} days) is longer than {MAX_COURSE_DAYS} days; not used as "
                         "the course length.")
            return None
        notes.append(f"No expected supply duration; course read from the validity period ({days} days).")
        return max(1, days)
    return _bounds_days(resource, notes, problems)


def _bounds_days(resource: dict[str, Any], notes: list[str], problems: list[OrderProblem]) -> int | None:
    """Course length from the first dosage's ``timing.repeat.boundsDuration`` (inpatient orders often have no
    dispenseRequest)."""
    dosages = resource.get("dosageInstruction") or []
    repeat = ((dosages[0] if dosages and isinstance(dosages[0], dict) else {}).get("timing") or {}).get("repeat") or {}
    bounds = repeat.get("boundsDuration") or {}
    value = as_number(bounds.get("value"))
    per = _DURATION_DAYS.get(str(bounds.get("code") or bounds.get("unit") or "d").lower())
    if value is None or not per:
        return None
    where = "dosageInstruction[0].timing.repeat.boundsDuration.value"
    if not _usable(value, where, "days", "a duration", problems):
        return None
    days = value * per
    if days > MAX_COURSE_DAYS:
        problems.append(OrderProblem("implausible-dose", "days", where,
                                     f"{where} gives {_show(days)} days, beyond {MAX_COURSE_DAYS} days — probably an "
                                     "entry error. It was not used."))
        return None
    notes.append(f"No dispense duration; course read from the dosage's bounds ({_show(days)} days).")
    return max(1, math.ceil(days))


def read_route(dosage: dict[str, Any]) -> str:
    texts = [t.lower() for t in concept_texts(dosage.get("route"))]
    if not texts or any("oral" in t or "mouth" in t for t in texts):
        return "oral"
    return texts[0][:40]


def is_mass_dose(dosage: dict[str, Any]) -> bool:
    for dar in dosage.get("doseAndRate") or []:
        qty = (dar or {}).get("doseQuantity") or {}
        if qty:
            return any(str(qty.get(k, "")).strip().lower() in _MASS_UNITS for k in ("code", "unit"))
    return False


def text_count_dose(text: str, names: list[str], notes: list[str]) -> str | None:
    """A tablet count at the start of the free text times the product's single strength (as for doseQuantity)."""
    count = _TEXT_COUNT.match(text)
    if count is None:
        return None
    dose = read_dose({"doseAndRate": [{"doseQuantity": {"value": float(count.group(1)), "unit": "tablet"}}]},
                     names, notes, [])
    return dose if dose and dose.endswith(("mg", "mcg", "g")) else None


def ingredient_dose(dosage: dict[str, Any], text: str, naming: list[str], structured: bool, bad: bool) -> str | None:
    """One ingredient's dose in a combination product: a tablet count (structured or at the start of the text)
    times this ingredient's strength. A mass dose of the whole product is ambiguous, so it is not split."""
    if bad or is_mass_dose(dosage):
        return None
    dose = read_dose(dosage, naming, [], []) if structured else text_count_dose(text, naming, [])
    return dose if dose and dose.endswith(("mg", "mcg", "g")) else None
