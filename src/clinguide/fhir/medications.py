"""Which drugs a FHIR medication is: RxNorm codes (every ingredient), texts and displays, and the
Medication resources a ``medicationReference`` points to (contained, supplied by the caller)."""

from __future__ import annotations

import re
from typing import Any, Protocol

from clinguide.fhir.values import concept_texts

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# how EHRs write RxNorm's system: the FHIR URI (sometimes with a trailing slash or https) and its HL7 OID
RXNORM_SYSTEMS = frozenset({RXNORM, RXNORM + "/", "https://www.nlm.nih.gov/research/umls/rxnorm",
                            "urn:oid:2.16.840.1.113883.6.88"})
_WORD = re.compile(r"[A-Za-z][A-Za-z-]*")


class KnowledgeLike(Protocol):
    """What the mapping needs from clinguide.kb.knowledge.KnowledgeBase (tests pass a small fake)."""

    drugs: dict[str, Any]
    policy: Any  # procedures: the pack's procedure term lists

    def drugs_by_rxnorm(self, code: str) -> tuple[str, ...]: ...
    def resolve_drug(self, text: str, fuzzy: bool = True) -> Any: ...
    def resolve_condition(self, text: str, fuzzy: bool = True) -> Any: ...


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
             if isinstance(c, dict) and c.get("system") in RXNORM_SYSTEMS and c.get("code")]
    ids: list[str] = []
    known: list[str] = []
    for rx in codes:
        found = kb.drugs_by_rxnorm(rx)
        if found:
            known.append(rx)
        ids += [d for d in found if d not in ids]
    code = known[0] if known else (codes[0] if codes else None)
    texts = concept_texts(concept)
    if ids:
        ids_t = tuple(ids)
        name = texts[0] if texts else " / ".join(kb.drugs[d].name for d in ids_t if d in kb.drugs)
        return ids_t, code, name
    name = texts[0] if texts else (f"RxNorm {code}" if code else _other_code(concept))
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
            return _without_covered_agents(found_ids, kb), code, name
    return (), code, name


def _without_covered_agents(ids: list[str], kb: KnowledgeLike) -> tuple[str, ...]:
    """Drop a combination agent (found by a brand in the display) whose components were found as parts."""
    found = set(ids)
    out = []
    for drug_id in ids:
        components = set(getattr(kb.drugs.get(drug_id), "components", None) or ())
        if components and components - {drug_id} and components <= found - {drug_id}:
            continue
        out.append(drug_id)
    return tuple(out)


def _other_code(concept: dict[str, Any]) -> str:
    """A name for a concept with neither text nor an RxNorm code: its first code, with its system."""
    for coding in concept.get("coding", []):
        if isinstance(coding, dict) and coding.get("code"):
            system = str(coding.get("system") or "")
            label = {"http://snomed.info/sct": "SNOMED CT", "http://hl7.org/fhir/sid/ndc": "NDC"}.get(system)
            if label:
                return f"{label} {str(coding['code'])[:40]}"
            return f"code {str(coding['code'])[:40]} ({system[:80] or 'no code system'})"
    return "unnamed medication"


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


def medication_of(
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


def ingredient_parts(drug_id: str, kb: KnowledgeLike, texts: list[str]) -> list[str]:
    """The " / " parts of the product's texts that name this ingredient (for its strength)."""
    drug = kb.drugs.get(drug_id)
    words = {drug_id.lower(), str(getattr(drug, "name", drug_id)).lower()}
    return [part for text in texts for part in text.split(" / ") if any(w in part.lower() for w in words)]
