"""FHIR R4 → clinguide's Case and Order contracts.

Reads validated resources as plain dicts:

* Patient → ``age`` (from birthDate, relative to a ``now`` callers can pin) and ``sex``.
* MedicationRequest → an :class:`Order`: the drug by RxNorm code (``kb.drugs_by_rxnorm``, every
  ingredient of a combination product or kit), else by text/display (``kb.resolve_drug``, then a
  word-window search of each " / " part of the display); a ``medicationReference`` is followed to a
  contained Medication or one the caller supplies (prefetch, FHIR server); dose from
  ``doseAndRate.doseQuantity`` (a tablet/capsule count is multiplied by the single strength in the
  display); frequency from ``timing.repeat`` or ``timing.code``; ``asNeededBoolean``; days from
  ``dispenseRequest.expectedSupplyDuration`` × (1 + ``numberOfRepeatsAllowed``), else ``validityPeriod``.
* Condition, AllergyIntolerance → names the pack knows; Procedure (spinal fusion) → setting and hours.

Numbers are never repaired: a zero, negative or absurd dose, interval or supply duration becomes an
:class:`OrderProblem` (and the Order field is left empty), never its absolute value or a clamp.

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


@dataclass(frozen=True)
class OrderProblem:
    """A number in the FHIR order that cannot be used as written (zero, negative, absurd)."""

    code: str  # unparseable-order | implausible-dose
    field: str  # dose | frequency | days
    path: str  # where in the MedicationRequest
    message: str


@dataclass
class MappedMedication:
    """One MedicationRequest read as Orders (one per ingredient the pack knows), with what was understood and how."""

    resource: dict[str, Any]
    order: Order
    drug_ids: tuple[str, ...]
    name: str
    code: str | None
    notes: list[str] = field(default_factory=list)
    problems: list[OrderProblem] = field(default_factory=list)
    # (drug id, Order) per ingredient: the order as the checks should see it for that drug
    orders: list[tuple[str, Order]] = field(default_factory=list)
    # MedicationEntry per ingredient, for the Case of another order
    entries: list[MedicationEntry] = field(default_factory=list)
    # a medicationReference that could not be followed (its reference), if any
    unfollowed: str | None = None

    @property
    def drug_id(self) -> str | None:
        """The single drug (or the first ingredient); see ``drug_ids`` for all of them."""
        return self.drug_ids[0] if self.drug_ids else None

    @property
    def resolved(self) -> bool:
        return bool(self.drug_ids)

    @property
    def ref(self) -> str:
        rid = self.resource.get("id")
        return f"MedicationRequest/{rid}" if rid else "MedicationRequest"

    def entry(self) -> MedicationEntry:
        """The first entry (kept for callers that want one); ``entries`` has every ingredient."""
        return self.entries[0] if self.entries else MedicationEntry(name=self.name[:200], dose=self.order.dose,
                                                                    code=self.code)

    def describe(self) -> str:
        """How a person would name it: the text, else the code, else the reference."""
        if self.name and self.name != "unnamed medication":
            return self.name
        if self.code:
            return f"RxNorm {self.code}"
        return self.unfollowed or "an unnamed medication"


@dataclass
class PatientData:
    case: Case
    medications: list[MappedMedication]
    notes: list[str] = field(default_factory=list)
    unresolved: list[MappedMedication] = field(default_factory=list)


def same_medication(a: MappedMedication, b: MappedMedication) -> bool:
    """The same drug(s), or — when neither resolves — the same code and text."""
    if a.drug_ids or b.drug_ids:
        return a.drug_ids == b.drug_ids
    return (a.code, a.name.strip().lower()) == (b.code, b.name.strip().lower())


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


def drug_from_concept(
    concept: dict[str, Any] | None, kb: KnowledgeLike
) -> tuple[tuple[str, ...], str | None, str]:
    """(drug ids, RxNorm code, display name) for a medicationCodeableConcept.

    Every ingredient counts: a combination product's or kit's code gives all of its ingredients the
    pack knows (in the code list's order), across all RxNorm codings. Without a known code, the text and
    displays are read, each " / " part of a multi-ingredient display on its own.
    """
    concept = concept or {}
    codes = [str(c["code"]) for c in concept.get("coding", [])
             if isinstance(c, dict) and c.get("system") == RXNORM and c.get("code")]
    ids: list[str] = []
    known: list[str] = []
    for rx in codes:
        found = kb.drugs_by_rxnorm(rx)
        if found:
            known.append(rx)
        ids += [d for d in found if d not in ids]
    code = known[0] if known else (codes[0] if codes else None)
    texts = _texts(concept)
    if ids:
        ids_t = tuple(ids)
        name = texts[0] if texts else " / ".join(kb.drugs[d].name for d in ids_t if d in kb.drugs)
        return ids_t, code, name
    name = texts[0] if texts else (f"RxNorm {code}" if code else "unnamed medication")
    for text in texts:
        match = kb.resolve_drug(text)
        if match is not None:
            return (str(match.id),), code, name
    for text in texts:  # "12 HR Oxycodone Hydrochloride 10 MG Extended Release Oral Tablet [Brand]"
        found_ids: list[str] = []
        for part in _parts(text):
            hit = _search_words(part, kb)
            if hit and hit not in found_ids:
                found_ids.append(hit)
        if found_ids:
            return tuple(found_ids), code, name
    return (), code, name


def _parts(text: str) -> list[str]:
    """The ingredient parts of an RxNorm-style display ("a 325 MG / b 5 MG Oral Tablet"), or the text."""
    parts = [p for p in re.split(r"\s/\s|\{|\}|\(|\)", text) if p.strip()]
    return parts or [text]


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


def _dose(dosage: dict[str, Any], names: list[str], notes: list[str], problems: list[OrderProblem],
          where: str = "dosageInstruction[0]") -> str | None:
    for i, dar in enumerate(dosage.get("doseAndRate") or []):
        if not isinstance(dar, dict):
            continue
        qty = dar.get("doseQuantity")
        rng = dar.get("doseRange")
        if qty and _num(qty.get("value")) is not None:
            value = _num(qty["value"])
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
                    notes.append(f"Dose read as {_show(value)} × {_fmt(strength)} {sunit} (strength from the product).")
                    return f"{_plain(value * strength)} {sunit}"
            return f"{_plain(value)} {qty.get('unit') or unit}".strip()
        if rng and rng.get("low") and rng.get("high"):
            low, high = _num(rng["low"].get("value")), _num(rng["high"].get("value"))
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


def _frequency(dosage: dict[str, Any], problems: list[OrderProblem],
               where: str = "dosageInstruction[0]") -> str | None:
    timing = dosage.get("timing") or {}
    repeat = timing.get("repeat") or {}
    for key, what in (("frequency", "a number of doses"), ("frequencyMax", "a number of doses"),
                      ("period", "an interval"), ("periodMax", "an interval")):
        value = _num(repeat.get(key))
        if key in repeat and value is not None and not _usable(
            value, f"{where}.timing.repeat.{key}", "frequency", what, problems
        ):
            return None
    freq = _num(repeat.get("frequencyMax")) or _num(repeat.get("frequency"))
    period = _num(repeat.get("period"))
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


def _days(resource: dict[str, Any], notes: list[str], problems: list[OrderProblem]) -> int | None:
    dispense = resource.get("dispenseRequest") or {}
    supply = dispense.get("expectedSupplyDuration") or {}
    value = _num(supply.get("value"))
    per = _DURATION_DAYS.get(str(supply.get("code") or supply.get("unit") or "d").lower())
    where = "dispenseRequest"
    repeats = _num(dispense.get("numberOfRepeatsAllowed"))
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
                         f"{_fmt(days * (1 + n))} days.")
            days *= 1 + n
        if days > MAX_COURSE_DAYS:
            problems.append(OrderProblem(
                "implausible-dose", "days", f"{where}.expectedSupplyDuration",
                f"{where}.expectedSupplyDuration gives a course of {_show(days)} days is beyond {MAX_COURSE_DAYS} days — probably an entry "
                "error. It was not used."))
            return None
        return max(1, math.ceil(days))
    period = dispense.get("validityPeriod") or {}
    start, end = _parse_date(period.get("start")), _parse_date(period.get("end"))
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
    return None


def _route(dosage: dict[str, Any]) -> str:
    texts = [t.lower() for t in _texts(dosage.get("route"))]
    if not texts or any("oral" in t or "mouth" in t for t in texts):
        return "oral"
    return texts[0][:40]


MedicationIndex = dict[str, dict[str, Any]]


def medication_index(
    medications: list[tuple[dict[str, Any], str | None]], base: str | None = None
) -> MedicationIndex:
    """Medication resources by every way a reference may name them: ``Medication/id``, the FHIR server's
    absolute URL for it, and the Bundle entry's ``fullUrl`` (e.g. ``urn:uuid:…``)."""
    index: MedicationIndex = {}
    for med, full_url in medications:
        rid = med.get("id")
        if isinstance(rid, str) and rid:
            index.setdefault(f"Medication/{rid}", med)
            if base:
                index.setdefault(f"{base.rstrip('/')}/Medication/{rid}", med)
        if full_url:
            index.setdefault(full_url, med)
    return index


def medication_reference(resource: dict[str, Any]) -> str | None:
    ref = resource.get("medicationReference")
    if isinstance(ref, dict) and isinstance(ref.get("reference"), str) and ref["reference"].strip():
        return str(ref["reference"]).strip()
    return None


def _contained(resource: dict[str, Any], ref: str) -> dict[str, Any] | None:
    wanted = ref[1:]
    for item in resource.get("contained") or []:
        if isinstance(item, dict) and item.get("resourceType") == "Medication" and item.get("id") == wanted:
            return item
    return None


def _medication_of(
    resource: dict[str, Any], index: MedicationIndex
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], str | None]:
    """(medication concept, ingredient concepts, reference not followed) of a MedicationRequest."""
    concept = resource.get("medicationCodeableConcept")
    if isinstance(concept, dict):
        return concept, [], None
    ref_obj = resource.get("medicationReference") or {}
    display = ref_obj.get("display") if isinstance(ref_obj, dict) else None
    fallback = {"text": display} if display else None
    ref = medication_reference(resource)
    if ref is None:
        return fallback, [], None
    med = _contained(resource, ref) if ref.startswith("#") else index.get(ref)
    if med is None:
        return fallback, [], ref
    code = med.get("code") if isinstance(med.get("code"), dict) else None
    if code is None and display:
        code = {"text": display}
    parts: list[dict[str, Any]] = []
    for ingredient in med.get("ingredient") or []:
        if not isinstance(ingredient, dict):
            continue
        if isinstance(ingredient.get("itemCodeableConcept"), dict):
            parts.append(ingredient["itemCodeableConcept"])
        elif isinstance(ingredient.get("itemReference"), dict):
            item_ref = str(ingredient["itemReference"].get("reference") or "")
            inner = (_contained(resource, item_ref) or _contained(med, item_ref)) if item_ref.startswith("#") \
                else index.get(item_ref)
            if inner is not None and isinstance(inner.get("code"), dict):
                parts.append(inner["code"])
            elif ingredient["itemReference"].get("display"):
                parts.append({"text": ingredient["itemReference"]["display"]})
    return code, parts, None


def _naming(drug_id: str, kb: KnowledgeLike, texts: list[str]) -> list[str]:
    """The " / " parts of the product's texts that name this ingredient (for its strength)."""
    drug = kb.drugs.get(drug_id)
    words = {drug_id.lower(), str(getattr(drug, "name", drug_id)).lower()}
    return [part for text in texts for part in text.split(" / ") if any(w in part.lower() for w in words)]


def _mass_dose(dosage: dict[str, Any]) -> bool:
    for dar in dosage.get("doseAndRate") or []:
        qty = (dar or {}).get("doseQuantity") or {}
        if qty:
            return any(str(qty.get(k, "")).strip().lower() in _MASS_UNITS for k in ("code", "unit"))
    return False


def medication_request_to_order(
    resource: dict[str, Any], kb: KnowledgeLike, medications: MedicationIndex | None = None
) -> MappedMedication:
    """Read one (validated) MedicationRequest as Orders: one per ingredient the pack knows."""
    notes: list[str] = []
    problems: list[OrderProblem] = []
    concept, parts, unfollowed = _medication_of(resource, medications or {})
    ids, code, name = drug_from_concept(concept, kb)
    if not ids and parts:
        found: list[str] = []
        for part in parts:
            part_ids, part_code, _ = drug_from_concept(part, kb)
            found += [d for d in part_ids if d not in found]
            code = code or part_code
        ids = tuple(found)
        if name == "unnamed medication" and ids:
            name = " / ".join(t for p in parts for t in _texts(p)[:1]) or name
    if unfollowed:
        notes.append(f"The medication reference {unfollowed[:100]} could not be followed (not contained, not in "
                     "the prefetch, not readable from the FHIR server).")
        if name == "unnamed medication":
            name = f"medication {unfollowed[:100]}"
    if len(ids) > 1:
        notes.append("A combination product: each ingredient was checked (" + ", ".join(
            kb.drugs[d].name if d in kb.drugs else d for d in ids) + ").")
    texts = _texts(concept) + [t for p in parts for t in _texts(p)]
    single = len(ids) == 1
    drug_text = kb.drugs[ids[0]].name if single and ids[0] in kb.drugs else name
    dosages = resource.get("dosageInstruction") or []
    dosage = dosages[0] if dosages and isinstance(dosages[0], dict) else {}
    dose = _dose(dosage, texts, notes, problems)
    frequency = _frequency(dosage, problems)
    prn = bool(dosage.get("asNeededBoolean") or dosage.get("asNeededCodeableConcept"))
    days = _days(resource, notes, problems)
    route = _route(dosage)
    bad = {p.field for p in problems}
    use_text = (dose is None or frequency is None) and bool(dosage.get("text")) and not bad & {"dose", "frequency"}
    if use_text:
        notes.append("Dose or timing read from the free-text instructions.")
    order_code = code if code and single and tuple(kb.drugs_by_rxnorm(code)) == ids else None
    order = Order(
        drug=drug_text[:200],
        dose=dose[:100] if dose else None,
        frequency=frequency[:100] if frequency else None,
        days=days,
        route=route,
        prn=prn,
        sig=f"{drug_text} {dosage['text']}"[:500] if use_text else None,
        code=order_code,
    )
    orders: list[tuple[str, Order]] = []
    entries: list[MedicationEntry] = []
    if single:
        orders.append((ids[0], order))
        written = name if order_code else drug_text
        entries.append(MedicationEntry(name=written[:200], dose=order.dose, code=order_code))
    for drug_id in ids if not single else ():
        part_name = kb.drugs[drug_id].name if drug_id in kb.drugs else drug_id
        # a tablet count takes this ingredient's strength; a mass dose of the whole product is ambiguous
        part_dose = _dose(dosage, _naming(drug_id, kb, texts), [], []) if dose and not _mass_dose(dosage) else None
        orders.append((drug_id, Order(
            drug=part_name[:200], dose=part_dose, frequency=order.frequency, days=days, route=route, prn=prn,
            sig=f"{part_name} {dosage['text']}"[:500] if use_text else None,
        )))
        entries.append(MedicationEntry(name=part_name[:200], dose=part_dose))
    return MappedMedication(resource=resource, order=order, drug_ids=ids, name=drug_text, code=code, notes=notes,
                            problems=problems, orders=orders, entries=entries, unfollowed=unfollowed)


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
    drafts: list[MappedMedication] | None = None,
    medications: MedicationIndex | None = None,
) -> PatientData:
    """Build the Case from classified resources.

    ``exclude`` drops MedicationRequest ids outright. ``drafts`` are the orders being placed: a record
    MedicationRequest is dropped as "the draft itself" only when it shares a draft's id *and* is the same
    medication — an EHR reusing an id for a different drug must not hide that drug. Medications nobody
    could resolve are kept aside in ``unresolved`` (the caller names them), not passed to the checks.
    """
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
        mapped = medication_request_to_order(resource, kb, medications)
        if any(resource.get("id") and d.resource.get("id") == resource.get("id") and same_medication(d, mapped)
               for d in drafts or []):
            continue
        meds.append(mapped)
    meds += extra_medications or []
    unresolved = [m for m in meds if not m.resolved]
    meds = [m for m in meds if m.resolved]
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
        medications=[e for m in meds for e in m.entries][:50],
        allergies=sorted(set(allergies))[:50],
    )
    return PatientData(case=case, medications=meds, notes=notes, unresolved=unresolved)
