"""Findings → CDS Hooks 2.0 cards, with suggestions carrying FHIR actions.

Rules of the spec honoured here: summary < 140 characters; indicator from severity; source with
label and topic; a uuid on every card and suggestion (so feedback can name them); suggestions imply
``selectionBehavior``; every override reason has a display; no null or empty members.
"""

from __future__ import annotations

import copy
import json
import marshal
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from clinguide.contracts import Finding, SuggestedOrder

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
TOPIC_SYSTEM = "urn:clinguide:finding-code"
EXTENSION_KEY = "org.clinguide.finding"
SOURCE_LABEL = "clinguide (offline, cited decision support)"
SUMMARY_MAX = 139


@cache
def override_reasons() -> list[dict[str, str]]:
    data = json.loads((Path(__file__).with_name("override_reasons.json")).read_text(encoding="utf-8"))
    return [{"system": data["system"], "code": c["code"], "display": c["display"]} for c in data["codes"]]


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


def clean(value: Any) -> Any:
    """Drop nulls and empty strings/lists/objects, recursively (CDS Hooks forbids them)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(item, dict | list):
                item = clean(item)
            if not _empty(item):
                out[key] = item
        return out
    if isinstance(value, list):
        return [item for item in (clean(v) if isinstance(v, dict | list) else v for v in value) if not _empty(item)]
    return value


def summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def _sources_markdown(ids: list[str], kb: Any) -> str:
    lines = []
    for sid in ids:
        source = getattr(kb, "sources", {}).get(sid) if kb is not None else None
        if source is None:
            lines.append(f"- {sid}")
            continue
        url = f" <{source.url}>" if getattr(source, "url", None) else ""
        lines.append(f"- **{sid}** {source.citation}{url}")
    return "\n".join(lines)


def finding_card(
    finding: Finding,
    *,
    drug_label: str | None,
    kb: Any = None,
    draft: dict[str, Any] | None = None,
    drug_id: str | None = None,
    notes: list[str] | None = None,
    calculation: str | None = None,
    knowledge_version: str | None = None,
) -> dict[str, Any]:
    """One card for one finding; ``draft`` (the draft MedicationRequest) enables FHIR-action suggestions."""
    parts = [finding.detail]
    if finding.suggestion:
        parts.append(f"**Suggestion:** {finding.suggestion}")
    if calculation:
        parts.append(f"**Order as read:** {calculation}")
    if notes:
        parts.append("**How the FHIR data were read:**\n" + "\n".join(f"- {n}" for n in notes))
    if finding.sources:
        parts.append("**Sources:**\n" + _sources_markdown(finding.sources, kb))
    bare = (drug_label or "").removeprefix("Active ")
    named = bare and bare.lower() in finding.title.lower()
    head = f"{drug_label}: {finding.title}" if drug_label and not named else finding.title
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": summary(head),
        "indicator": finding.severity,
        "detail": "\n\n".join(p for p in parts if p),
        "source": {
            "label": SOURCE_LABEL,
            "topic": {"system": TOPIC_SYSTEM, "code": finding.code, "display": finding.title[:200]},
        },
        "extension": {
            EXTENSION_KEY: {"code": finding.code, "sources": finding.sources, "knowledge_version": knowledge_version}
        },
    }
    suggestions = suggestions_for(finding, draft, drug_id, kb) if draft is not None else []
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    card = clean(card)
    if finding.severity != "info":  # a fixed list, clean already: copied, not walked
        card["overrideReasons"] = [dict(reason) for reason in override_reasons()]
    return card


def info_card(text: str, detail: str, code: str = "cds-data", indicator: str = "info") -> dict[str, Any]:
    """A card the service makes itself (data it could not read or identify), not from a finding."""
    return clean(
        {
            "uuid": str(uuid.uuid4()),
            "summary": summary(text),
            "indicator": indicator,
            "detail": detail,
            "source": {"label": SOURCE_LABEL, "topic": {"system": TOPIC_SYSTEM, "code": code, "display": text[:200]}},
        }
    )


# ----- suggestions -------------------------------------------------------------


def _copy(data: Any) -> Any:
    """A deep copy of JSON data (a resource as sent): ``marshal`` round trip, ~4x faster than
    ``copy.deepcopy``; anything marshal cannot write is deep-copied as before."""
    try:
        return marshal.loads(marshal.dumps(data))
    except (ValueError, TypeError):
        return copy.deepcopy(data)


def _ref(resource: dict[str, Any]) -> str | None:
    rid = resource.get("id")
    return f"MedicationRequest/{rid}" if rid else None


def _dosage(suggested: SuggestedOrder, old: dict[str, Any] | None) -> dict[str, Any]:
    dosage: dict[str, Any] = _copy(old) if old else {}
    dosage["text"] = suggested.text
    if suggested.doses_per_day:
        dosage["timing"] = {"repeat": {"frequency": int(suggested.doses_per_day), "period": 1, "periodUnit": "d"}}
    if suggested.dose_mg is not None:
        dosage["doseAndRate"] = [
            {"doseQuantity": {"value": suggested.dose_mg, "unit": "mg", "system": UCUM, "code": "mg"}}
        ]
    return dosage


def _apply(resource: dict[str, Any], suggested: SuggestedOrder) -> dict[str, Any]:
    dosages = resource.get("dosageInstruction") or [{}]
    resource["dosageInstruction"] = [_dosage(suggested, dosages[0])]
    if suggested.days:
        dispense = resource.setdefault("dispenseRequest", {})
        dispense["expectedSupplyDuration"] = {"value": suggested.days, "unit": "days", "system": UCUM, "code": "d"}
        dispense["numberOfRepeatsAllowed"] = 0
        dispense.pop("validityPeriod", None)
    return resource


def _concept(drug_id: str, kb: Any) -> dict[str, Any]:
    drug = getattr(kb, "drugs", {}).get(drug_id) if kb is not None else None
    name = drug.name if drug is not None else drug_id
    concept: dict[str, Any] = {"text": name}
    rx = getattr(drug, "rxnorm", None)
    if rx is not None and getattr(rx, "verified", False):
        concept["coding"] = [{"system": RXNORM, "code": rx.code, "display": name}]
    return concept


def suggestions_for(finding: Finding, draft: dict[str, Any], drug_id: str | None, kb: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    ref = _ref(draft)
    suggested = finding.suggested_order
    if suggested is not None:
        same = drug_id is not None and suggested.drug == drug_id
        if same:
            updated = _apply(_copy(draft), suggested)
            out.append(
                {
                    "label": summary(f"Change the order: {suggested.text}"),
                    "uuid": str(uuid.uuid4()),
                    "isRecommended": True,
                    "actions": [{"type": "update", "description": f"Update the draft order: {suggested.text}",
                                 "resource": updated}],
                }
            )
        elif ref:
            new = {
                "resourceType": "MedicationRequest",
                "id": f"clinguide-{uuid.uuid4().hex[:12]}",
                "status": "draft",
                "intent": draft.get("intent", "order"),
                "subject": draft.get("subject"),
                "encounter": draft.get("encounter"),
                "medicationCodeableConcept": _concept(suggested.drug, kb),
            }
            _apply(new, suggested)
            out.append(
                {
                    "label": summary(f"Replace with {suggested.text}"),
                    "uuid": str(uuid.uuid4()),
                    "isRecommended": True,
                    "actions": [
                        {"type": "delete", "description": "Remove the draft order", "resourceId": ref},
                        {"type": "create", "description": f"Order {suggested.text}", "resource": clean(new)},
                    ],
                }
            )
    if finding.severity == "critical" and ref:
        out.append(
            {
                "label": "Cancel this draft order",
                "uuid": str(uuid.uuid4()),
                "isRecommended": not out,
                "actions": [{"type": "delete", "description": "Remove the draft order", "resourceId": ref}],
            }
        )
    return out
