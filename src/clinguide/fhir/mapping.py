"""FHIR R4 → clinguide's Case and Order contracts.

Reads validated resources as plain dicts:

* Patient → ``age`` (from birthDate, relative to a ``now`` callers can pin) and ``sex``.
* MedicationRequest (and a current MedicationStatement) → one :class:`Order` per ingredient: which drugs
  it is comes from ``fhir.medications`` (every ingredient of a RxNorm code; texts; medicationReference
  followed), dose/frequency/days/route from ``fhir.dosage``.
* Condition, AllergyIntolerance → names the pack knows; Procedure (spinal fusion) → setting and hours.

Clinical facts stay in the pack: nothing here knows which drug is risky.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from clinguide.contracts import Case, MedicationEntry, Order
from clinguide.fhir.dosage import (
    OrderProblem,
    ingredient_dose,
    read_days,
    read_dose,
    read_frequency,
    read_route,
    text_count_dose,
)
from clinguide.fhir.medications import (
    KnowledgeLike,
    MedicationIndex,
    drug_from_concept,
    ingredient_parts,
    medication_index,
    medication_of,
    medication_reference,
)
from clinguide.fhir.values import concept_texts, parse_date

__all__ = ["MappedMedication", "OrderProblem", "PatientData", "age_on", "build_patient",
           "drug_from_concept", "medication_index", "medication_reference", "medication_request_to_order",
           "same_medication"]

UCUM = "http://unitsofmeasure.org"

CURRENT_MED_STATUSES = frozenset({"active", "on-hold"})
# MedicationStatement (what the patient takes, e.g. home medicines) that counts as current
CURRENT_STATEMENT_STATUSES = frozenset({"active", "intended", "on-hold"})
INACTIVE_CLINICAL = frozenset({"inactive", "resolved", "remission"})
REFUTED = frozenset({"refuted", "entered-in-error"})



@dataclass(eq=False)  # identity: two identical orders are still two orders
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
        rtype = str(self.resource.get("_recordedAs") or "MedicationRequest")
        rid = self.resource.get("id")
        return f"{rtype}/{rid}" if rid else rtype

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


def as_request(statement: dict[str, Any]) -> dict[str, Any]:
    """A current MedicationStatement read like an active MedicationRequest (its ``dosage`` as the instructions)."""
    shim: dict[str, Any] = {k: statement[k] for k in ("id", "contained", "medicationCodeableConcept",
                                                      "medicationReference") if k in statement}
    shim.update(resourceType="MedicationRequest", status="active", _recordedAs="MedicationStatement",
                dosageInstruction=statement.get("dosage") or [])
    return shim


def same_medication(a: MappedMedication, b: MappedMedication) -> bool:
    """The same drug(s), or — when neither resolves — the same code and text."""
    if a.drug_ids or b.drug_ids:
        return a.drug_ids == b.drug_ids
    return (a.code, a.name.strip().lower()) == (b.code, b.name.strip().lower())


# ----- helpers -----------------------------------------------------------------


def age_on(birth_date: str, now: dt.datetime) -> float | None:
    born = parse_date(birth_date)
    if born is None:
        return None
    years = now.year - born.year - ((now.month, now.day) < (born.month, born.day))
    return float(years) if 0 <= years <= 130 else None


def medication_request_to_order(
    resource: dict[str, Any], kb: KnowledgeLike, medications: MedicationIndex | None = None
) -> MappedMedication:
    """Read one (validated) MedicationRequest as Orders: one per ingredient the pack knows."""
    notes: list[str] = []
    problems: list[OrderProblem] = []
    concept, parts, unfollowed = medication_of(resource, medications or {})
    ids, code, name = drug_from_concept(concept, kb)
    if not ids and parts:
        found: list[str] = []
        for part in parts:
            part_ids, part_code, _ = drug_from_concept(part, kb)
            found += [d for d in part_ids if d not in found]
            code = code or part_code
        ids = tuple(found)
        if name == "unnamed medication" and ids:
            name = " / ".join(t for p in parts for t in concept_texts(p)[:1]) or name
    if unfollowed:
        notes.append(f"The medication reference {unfollowed[:100]} could not be followed (not contained, not in "
                     "the prefetch, not readable from the FHIR server).")
        if name == "unnamed medication":
            name = f"medication {unfollowed[:100]}"
    if len(ids) > 1:
        notes.append("A combination product: each ingredient was checked (" + ", ".join(
            kb.drugs[d].name if d in kb.drugs else d for d in ids) + ").")
    texts = concept_texts(concept) + [t for p in parts for t in concept_texts(p)]
    single = len(ids) == 1
    drug_text = kb.drugs[ids[0]].name if single and ids[0] in kb.drugs else name
    dosages = resource.get("dosageInstruction") or []
    dosage = dosages[0] if dosages and isinstance(dosages[0], dict) else {}
    if len(dosages) > 1:
        notes.append(f"The order has {len(dosages)} dosage instructions (e.g. a taper); only the first was "
                     "checked — review the others.")
    dose = read_dose(dosage, texts, notes, problems)
    frequency = read_frequency(dosage, problems)
    prn = bool(dosage.get("asNeededBoolean") or dosage.get("asNeededCodeableConcept"))
    days = read_days(resource, notes, problems)
    route = read_route(dosage)
    bad = {p.field for p in problems}
    text = str(dosage.get("text") or "")
    if dose is None and single and "dose" not in bad:
        dose = text_count_dose(text, texts, notes)
    use_text = (dose is None or frequency is None) and bool(text) and not bad & {"dose", "frequency"}
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
        part_dose = ingredient_dose(dosage, text, ingredient_parts(drug_id, kb, texts), bool(dose), "dose" in bad)
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
    for text in concept_texts(resource.get("code")):
        match = kb.resolve_condition(text)
        if match is not None:
            return str(match.id)
    return None


def _allergy_name(resource: dict[str, Any], kb: KnowledgeLike) -> str | None:
    texts = concept_texts(resource.get("code"))
    for reaction in resource.get("reaction", []):
        texts += concept_texts(reaction.get("substance"))
    for text in texts:
        match = kb.resolve_drug(text)
        if match is not None:
            return str(match.id)
    return texts[0][:200] if texts else None


def _surgery(procedures: list[dict[str, Any]], now: dt.datetime,
             known: list[Any]) -> tuple[dt.datetime | None, str | None]:
    """The latest known procedure's end time (None if unknown), and the setting it puts the case in.

    ``known`` are the pack's procedure term lists (``policy.procedures``); the first one a
    procedure's coded text matches gives the setting.
    """
    latest: dt.datetime | None = None
    found: str | None = None
    for proc in procedures:
        if proc.get("status") in {"not-done", "entered-in-error"}:
            continue
        text = " ".join(concept_texts(proc.get("code")))
        match = next((p for p in known if p.matches(text)), None)
        if match is None:
            continue
        found = found or match.setting
        when = parse_date(proc.get("performedDateTime") or (proc.get("performedPeriod") or {}).get("end")
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
    statements = [as_request(r) for r in resources.get("MedicationStatement", [])
                  if r.get("status") in CURRENT_STATEMENT_STATUSES]
    for resource in resources.get("MedicationRequest", []) + statements:
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
    when, setting = _surgery(resources.get("Procedure", []), now, kb.policy.procedures)
    if setting:
        fields["setting"] = setting
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
