"""FHIR R4 → clinguide's Case and Order contracts.

Reads validated resources as plain dicts:

* Patient → ``age`` (from birthDate, relative to a ``now`` callers can pin) and ``sex``.
* MedicationRequest → an :class:`Order`: the drug by RxNorm code (``kb.drugs_by_rxnorm``), else by
  text/display (``kb.resolve_drug``, then a word-window search of the display); dose from
  ``doseAndRate.doseQuantity`` (a tablet/capsule count is multiplied by the single strength in the
  display); frequency from ``timing.repeat`` or ``timing.code``; ``asNeededBoolean``; days from
  ``dispenseRequest.expectedSupplyDuration`` × (1 + ``numberOfRepeatsAllowed``), else ``validityPeriod``.
* Condition, AllergyIntolerance → names the pack knows; Procedure (spinal fusion) → setting and hours.

Clinical facts stay in the pack: nothing here knows which drug is risky.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from clinguide.contracts import Case, MedicationEntry, Order

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"

CURRENT_MED_STATUSES = frozenset({"active", "on-hold"})
INACTIVE_CLINICAL = frozenset({"inactive", "resolved", "remission"})
REFUTED = frozenset({"refuted", "entered-in-error"})

_STRENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*(MG|MCG|G)\b(?!\s*/)", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z-]*")
_MASS_UNITS = {"mg": "mg", "milligram": "mg", "milligrams": "mg", "g": "g", "gram": "g", "mcg": "mcg", "ug": "mcg",
               "µg": "mcg", "microgram": "mcg"}
_UNIT_DOSE = re.compile(r"^\{?(tab|tablet|tablets|cap|capsule|capsules)\}?$", re.IGNORECASE)
_PERIOD_HOURS = {"s": 1 / 3600, "min": 1 / 60, "h": 1.0, "d": 24.0, "wk": 168.0, "mo": 730.0, "a": 8766.0}
_DURATION_DAYS = {"d": 1.0, "day": 1.0, "days": 1.0, "wk": 7.0, "week": 7.0, "weeks": 7.0, "mo": 30.0,
                  "month": 30.0, "months": 30.0, "h": 1 / 24, "hour": 1 / 24, "hours": 1 / 24, "a": 365.0}
_TIMING_CODES = {"QD": "once daily", "BID": "BID", "TID": "TID", "QID": "QID", "AM": "once daily",
                 "PM": "once daily", "QOD": "every 48 hours", "Q4H": "q4h", "Q6H": "q6h", "Q8H": "q8h",
                 "HS": "at bedtime"}


class KnowledgeLike(Protocol):
    """What the mapping needs from clinguide.kb.knowledge.KnowledgeBase (tests pass a small fake)."""

    drugs: dict[str, Any]

    def drugs_by_rxnorm(self, code: str) -> tuple[str, ...]: ...
    def resolve_drug(self, text: str, fuzzy: bool = True) -> Any: ...
    def resolve_condition(self, text: str, fuzzy: bool = True) -> Any: ...


@dataclass
class MappedMedication:
    """One MedicationRequest read as an Order, with what was understood and how."""

    resource: dict[str, Any]
    order: Order
    drug_id: str | None
    name: str
    code: str | None
    notes: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        rid = self.resource.get("id")
        return f"MedicationRequest/{rid}" if rid else "MedicationRequest"

    def entry(self) -> MedicationEntry:
        return MedicationEntry(name=self.name[:200], dose=self.order.dose, code=self.code)


@dataclass
class PatientData:
    case: Case
    medications: list[MappedMedication]
    notes: list[str] = field(default_factory=list)


# ----- helpers -----------------------------------------------------------------


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _fmt(number: float) -> str:
    return f"{number:g}"


def _texts(concept: dict[str, Any] | None) -> list[str]:
    """A CodeableConcept's text and codings' displays, in that order."""
    if not concept:
        return []
    out = [concept["text"]] if concept.get("text") else []
    out += [c["display"] for c in concept.get("coding", []) if c.get("display")]
    return out


def _parse_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        if len(value) == 4:
            return dt.datetime(int(value), 7, 1, tzinfo=dt.UTC)
        if len(value) == 7:
            return dt.datetime(int(value[:4]), int(value[5:7]), 15, tzinfo=dt.UTC)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def age_on(birth_date: str, now: dt.datetime) -> float | None:
    born = _parse_date(birth_date)
    if born is None:
        return None
    years = now.year - born.year - ((now.month, now.day) < (born.month, born.day))
    return float(years) if 0 <= years <= 130 else None


def drug_from_concept(concept: dict[str, Any] | None, kb: KnowledgeLike) -> tuple[str | None, str | None, str]:
    """(drug id, RxNorm code, display name) for a medicationCodeableConcept."""
    concept = concept or {}
    code = None
    for coding in concept.get("coding", []):
        if coding.get("system") == RXNORM and coding.get("code"):
            code = code or str(coding["code"])
            ids = kb.drugs_by_rxnorm(str(coding["code"]))
            if ids:
                return ids[0], str(coding["code"]), _texts(concept)[0] if _texts(concept) else kb.drugs[ids[0]].name
    texts = _texts(concept)
    name = texts[0] if texts else (f"RxNorm {code}" if code else "unnamed medication")
    for text in texts:
        match = kb.resolve_drug(text)
        if match is not None:
            return match.id, code, name
    for text in texts:  # "12 HR Oxycodone Hydrochloride 10 MG Extended Release Oral Tablet [Brand]"
        found = _search_words(text, kb)
        if found:
            return found, code, name
    return None, code, name


def _search_words(text: str, kb: KnowledgeLike) -> str | None:
    words = _WORD.findall(text)
    for size in (3, 2, 1):
        for start in range(len(words) - size + 1):
            phrase = " ".join(words[start : start + size])
            if len(phrase) < 4:
                continue
            match = kb.resolve_drug(phrase, fuzzy=False)
            if match is not None:
                return str(match.id)
    return None


def _dose(dosage: dict[str, Any], names: list[str], notes: list[str]) -> str | None:
    for dar in dosage.get("doseAndRate", []):
        qty = dar.get("doseQuantity")
        rng = dar.get("doseRange")
        if qty and _num(qty.get("value")) is not None:
            value = _num(qty["value"])
            assert value is not None
            unit = str(qty.get("code") or qty.get("unit") or "").strip()
            mass = _MASS_UNITS.get(unit.lower()) or _MASS_UNITS.get(str(qty.get("unit", "")).lower())
            if mass:
                return f"{_fmt(value)} {mass}"
            if _UNIT_DOSE.match(unit) or _UNIT_DOSE.match(str(qty.get("unit", ""))):
                strengths = {(float(m.group(1)), m.group(2).lower()) for n in names for m in _STRENGTH.finditer(n)}
                if len(strengths) == 1:
                    strength, sunit = strengths.pop()
                    notes.append(f"Dose read as {_fmt(value)} × {_fmt(strength)} {sunit} (strength from the product).")
                    return f"{_fmt(value * strength)} {sunit}"
            return f"{_fmt(value)} {qty.get('unit') or unit}".strip()
        if rng and rng.get("low") and rng.get("high"):
            low, high = _num(rng["low"].get("value")), _num(rng["high"].get("value"))
            unit = rng["high"].get("unit") or rng["high"].get("code") or ""
            if low is not None and high is not None:
                return f"{_fmt(low)}-{_fmt(high)} {unit}".strip()
    return None


def _frequency(dosage: dict[str, Any]) -> str | None:
    timing = dosage.get("timing") or {}
    repeat = timing.get("repeat") or {}
    freq = _num(repeat.get("frequencyMax") or repeat.get("frequency"))
    period = _num(repeat.get("period"))
    unit = repeat.get("periodUnit")
    if period and unit in _PERIOD_HOURS:
        freq = freq or 1.0
        hours = period * _PERIOD_HOURS[unit] / freq
        per_day = 24.0 / hours
        if hours <= 24 and abs(per_day - round(per_day)) < 1e-6:
            n = round(per_day)
            return "once daily" if n == 1 else f"{n} times daily"
        return f"every {_fmt(round(hours, 2))} hours"
    if repeat.get("when") and set(repeat["when"]) <= {"HS"}:
        return "at bedtime"
    code = (timing.get("code") or {}).get("coding", [])
    for coding in code:
        mapped = _TIMING_CODES.get(str(coding.get("code", "")).upper())
        if mapped:
            return mapped
    return (timing.get("code") or {}).get("text")


def _days(resource: dict[str, Any], notes: list[str]) -> int | None:
    dispense = resource.get("dispenseRequest") or {}
    supply = dispense.get("expectedSupplyDuration") or {}
    value = _num(supply.get("value"))
    per = _DURATION_DAYS.get(str(supply.get("code") or supply.get("unit") or "d").lower())
    if value and per:
        days = value * per
        repeats = int(_num(dispense.get("numberOfRepeatsAllowed")) or 0)
        if repeats > 0:
            notes.append(f"Course read as a {_fmt(days)}-day supply × (1 + {repeats} refills) = "
                         f"{_fmt(days * (1 + repeats))} days.")
            days *= 1 + repeats
        return max(1, min(3650, math.ceil(days)))
    period = dispense.get("validityPeriod") or {}
    start, end = _parse_date(period.get("start")), _parse_date(period.get("end"))
    if start and end and end > start:
        days = math.ceil((end - start).total_seconds() / 86400)
        notes.append(f"No expected supply duration; course read from the validity period ({days} days).")
        return max(1, min(3650, days))
    return None


def _route(dosage: dict[str, Any]) -> str:
    texts = [t.lower() for t in _texts(dosage.get("route"))]
    if not texts or any("oral" in t or "mouth" in t for t in texts):
        return "oral"
    return texts[0][:40]


def medication_request_to_order(resource: dict[str, Any], kb: KnowledgeLike) -> MappedMedication:
    """Read one (validated) MedicationRequest as an Order."""
    notes: list[str] = []
    concept = resource.get("medicationCodeableConcept")
    if concept is None and resource.get("medicationReference"):
        concept = {"text": resource["medicationReference"].get("display", "")}
    drug_id, code, name = drug_from_concept(concept, kb)
    drug_text = kb.drugs[drug_id].name if drug_id and drug_id in kb.drugs else name
    dosages = resource.get("dosageInstruction") or []
    dosage = dosages[0] if dosages else {}
    names = _texts(concept)
    dose = _dose(dosage, names, notes)
    frequency = _frequency(dosage)
    prn = bool(dosage.get("asNeededBoolean") or dosage.get("asNeededCodeableConcept"))
    days = _days(resource, notes)
    route = _route(dosage)
    sig = None
    if (dose is None or frequency is None) and dosage.get("text"):
        sig = f"{drug_text} {dosage['text']}"[:500]
        notes.append("Dose or timing read from the free-text instructions.")
    order = Order(
        drug=drug_text[:200],
        dose=dose[:100] if dose else None,
        frequency=frequency[:100] if frequency else None,
        days=days,
        route=route,
        prn=prn,
        sig=sig,
        code=code,
    )
    return MappedMedication(resource=resource, order=order, drug_id=drug_id, name=drug_text, code=code, notes=notes)


def _is_current(resource: dict[str, Any]) -> bool:
    clinical = _codes(resource.get("clinicalStatus"))
    verification = _codes(resource.get("verificationStatus"))
    return not (clinical & INACTIVE_CLINICAL) and not (verification & REFUTED)


def _codes(concept: dict[str, Any] | None) -> set[str]:
    return {str(c.get("code")) for c in (concept or {}).get("coding", []) if c.get("code")}


def _condition_name(resource: dict[str, Any], kb: KnowledgeLike) -> str | None:
    for text in _texts(resource.get("code")):
        match = kb.resolve_condition(text)
        if match is not None:
            return str(match.id)
    return None


def _allergy_name(resource: dict[str, Any], kb: KnowledgeLike) -> str | None:
    texts = _texts(resource.get("code"))
    for reaction in resource.get("reaction", []):
        texts += _texts(reaction.get("substance"))
    for text in texts:
        match = kb.resolve_drug(text)
        if match is not None:
            return str(match.id)
    return texts[0][:200] if texts else None


_FUSION = re.compile(r"fusion|arthrodesis", re.IGNORECASE)
_SPINE = re.compile(r"spin|lumbar|cervical|thoracic|vertebra|lumbosacral|arthrodesis", re.IGNORECASE)


def _surgery(procedures: list[dict[str, Any]], now: dt.datetime) -> tuple[dt.datetime | None, bool]:
    """The latest spinal fusion's end time (None if unknown), and whether there was one."""
    latest: dt.datetime | None = None
    found = False
    for proc in procedures:
        if proc.get("status") in {"not-done", "entered-in-error"}:
            continue
        text = " ".join(_texts(proc.get("code")))
        if not (_FUSION.search(text) and _SPINE.search(text)):
            continue
        found = True
        when = _parse_date(proc.get("performedDateTime") or (proc.get("performedPeriod") or {}).get("end")
                           or (proc.get("performedPeriod") or {}).get("start"))
        if when and when <= now and (latest is None or when > latest):
            latest = when
    return latest, found


def build_patient(
    resources: dict[str, list[dict[str, Any]]],
    kb: KnowledgeLike,
    now: dt.datetime,
    exclude: set[str] | frozenset[str] = frozenset(),
    extra_medications: list[MappedMedication] | None = None,
) -> PatientData:
    """Build the Case from classified resources; ``exclude`` drops MedicationRequest ids (the draft itself)."""
    notes: list[str] = []
    fields: dict[str, Any] = {}
    patients = resources.get("Patient", [])
    if patients:
        patient = patients[0]
        if patient.get("birthDate"):
            fields["age"] = age_on(patient["birthDate"], now)
        if patient.get("gender"):
            fields["sex"] = patient["gender"]
    meds: list[MappedMedication] = []
    for resource in resources.get("MedicationRequest", []):
        if resource.get("id") in exclude or resource.get("status") not in CURRENT_MED_STATUSES:
            continue
        meds.append(medication_request_to_order(resource, kb))
    meds += extra_medications or []
    conditions: list[str] = []
    unrecognised = 0
    for resource in resources.get("Condition", []):
        if not _is_current(resource):
            continue
        name = _condition_name(resource, kb)
        if name:
            conditions.append(name)
        else:
            unrecognised += 1
    if unrecognised:
        notes.append(f"{unrecognised} recorded condition(s) are outside the knowledge pack and were not considered.")
    allergies = [a for r in resources.get("AllergyIntolerance", []) if _is_current(r) and (a := _allergy_name(r, kb))]
    when, fusion = _surgery(resources.get("Procedure", []), now)
    if fusion:
        fields["setting"] = "post-spinal-fusion"
        fields["surgery_phase"] = "post-op"
        if when is not None:
            fields["hours_since_surgery"] = round((now - when).total_seconds() / 3600, 1)
    case = Case(
        **{k: v for k, v in fields.items() if v is not None},
        conditions=sorted(set(conditions))[:50],
        medications=[m.entry() for m in meds][:50],
        allergies=sorted(set(allergies))[:50],
    )
    return PatientData(case=case, medications=meds, notes=notes)
