"""Run a hook: FHIR in (context + prefetch or FHIR server), the check engine, cards out.

* order-select / order-sign: each focused draft MedicationRequest becomes an Order; the rest of the
  patient (other drafts included) becomes the Case. Benzodiazepine and muscle-relaxant orders get
  every warning/critical finding; any other order (e.g. an opioid) gets the interaction findings
  that involve an active benzodiazepine or muscle relaxant — found by checking the order itself and
  by checking each active in-scope drug with the new order as co-medication (roles swapped).
* patient-view: each active in-scope prescription is checked against the rest of the record.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from clinguide.contracts import Case, CheckResult, Finding, Order
from clinguide.errors import InputError
from clinguide.fhir.mapping import MappedMedication, build_patient, medication_request_to_order
from clinguide.fhir.resources import FhirInputError, iter_resources, label
from clinguide.service.cds import cards as c
from clinguide.service.cds.fetch import fetch
from clinguide.service.cds.services import KEY_TYPES, REQUIRED_TYPES, SCOPE_CLASSES, SERVICES

log = logging.getLogger("clinguide.cds")

# findings an out-of-scope order (an opioid) is shown: those about its combination with our drugs
INTERACTION_CODES = frozenset(
    {"opioid-benzodiazepine", "cns-depressant-combination", "contraindicated-drug", "serotonergic-combination",
     "duplicate-therapy"}
)
# info findings still worth a card: the order could not be read
INFO_CODES = frozenset({"unparseable-order", "implausible-dose"})
TYPE_WORDS = {
    "Patient": "the patient's age and sex",
    "MedicationRequest": "the active medication list",
    "Condition": "the problem list",
    "AllergyIntolerance": "the allergy list",
    "Procedure": "recent procedures (spinal fusion)",
}
DRAFT_STATUSES = frozenset({"draft", "active", "on-hold", "unknown"})

CheckFn = Callable[..., CheckResult]


class HookError(InputError):
    """A request the hook cannot use (400); the message names the field."""


@dataclass
class Outcome:
    cards: list[dict[str, Any]] = field(default_factory=list)
    checks_run: int = 0


def load_check() -> CheckFn | None:
    try:
        from clinguide.checks.engine import check
    except ModuleNotFoundError as exc:
        if exc.name in ("clinguide.checks.engine", "clinguide.checks"):
            return None
        raise
    return check  # type: ignore[no-any-return]


def parse_now(value: str | None) -> dt.datetime:
    if not value:
        return dt.datetime.now(dt.UTC)
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def strip_patient(pid: Any) -> str:
    if not isinstance(pid, str) or not pid.strip():
        raise HookError("context.patientId is required: the FHIR id of the patient (a string)", "context.patientId")
    pid = pid.strip()
    return pid.split("/", 1)[1] if pid.startswith("Patient/") else pid


def check_context(service_id: str, hook: str, context: dict[str, Any]) -> None:
    service = SERVICES[service_id]
    if hook != service.hook:
        raise HookError(f"hook: '{hook}' does not match service '{service_id}', which answers '{service.hook}'",
                        "hook")
    for name in service.context_fields:
        if context.get(name) in (None, "", [], {}):
            raise HookError(f"context.{name} is required for the {hook} hook", f"context.{name}")
    strip_patient(context.get("patientId"))
    if "selections" in service.context_fields and not (
        isinstance(context["selections"], list) and all(isinstance(s, str) for s in context["selections"])
    ):
        raise HookError("context.selections must be a list of references such as 'MedicationRequest/123'",
                        "context.selections")
    if "draftOrders" in service.context_fields:
        bundle = context["draftOrders"]
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise HookError("context.draftOrders must be a FHIR Bundle of the draft orders", "context.draftOrders")


def classify(prefetch: dict[str, Any] | None) -> tuple[dict[str, list[dict[str, Any]]], set[str], list[str]]:
    """Resources by type, the types the prefetch covers, and OperationOutcome messages."""
    resources: dict[str, list[dict[str, Any]]] = {}
    covered: set[str] = set()
    outcomes: list[str] = []
    prefetch = prefetch or {}
    for key, value in prefetch.items():
        if key in KEY_TYPES:
            covered.add(KEY_TYPES[key])
        for resource in iter_resources(value, f"prefetch.{key}"):
            rtype = resource["resourceType"]
            if rtype == "OperationOutcome":
                covered.discard(KEY_TYPES.get(key, ""))
                outcomes.append(key)
                continue
            resources.setdefault(rtype, []).append(resource)
            covered.add(rtype)
    foreign = any(k not in KEY_TYPES for k in prefetch)
    if foreign and resources.get("Patient"):
        # the client used its own prefetch keys (positional item1…item9): trust it as complete
        covered.update(KEY_TYPES.values())
    return resources, covered, outcomes


async def gather(
    request: dict[str, Any], pid: str, transport: httpx.AsyncBaseTransport | None
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Prefetch, then the FHIR server for what is missing; info cards for what could not be had."""
    resources, covered, outcomes = classify(request.get("prefetch"))
    notes: list[dict[str, Any]] = []
    missing = [t for t in KEY_TYPES.values() if t not in covered]
    server = request.get("fhirServer")
    if missing and server:
        token = (request.get("fhirAuthorization") or {}).get("access_token")
        fetched, errors = await fetch(server, pid, missing, token, transport)
        for rtype, value in fetched.items():
            try:
                for resource in iter_resources(value, f"{server} {rtype}"):
                    if resource["resourceType"] == rtype:
                        resources.setdefault(rtype, []).append(resource)
            except FhirInputError as exc:
                errors[rtype] = f"the server's answer did not validate ({exc})"
        if errors:
            what = ", ".join(TYPE_WORDS[t] for t in errors)
            notes.append(c.info_card(
                f"Could not read {what} from the EHR; checks may be incomplete",
                "clinguide asked the EHR's FHIR server for data the request did not include, and the server "
                "did not answer usefully:\n\n" + "\n".join(f"- {TYPE_WORDS[t]}: {e}" for t, e in errors.items())
                + "\n\nFindings below (if any) were made without these data.",
            ))
        missing = [t for t in missing if t in errors]
    lacking = [t for t in missing if t in REQUIRED_TYPES] if not server else []
    if lacking or outcomes:
        what = ", ".join(TYPE_WORDS[t] for t in lacking) or "some prefetched data"
        notes.append(c.info_card(
            f"clinguide did not receive {what}; checks are incomplete",
            "The request carried neither these data (prefetch) nor a FHIR server to read them from"
            + (f"; prefetch keys {', '.join(outcomes)} held an OperationOutcome" if outcomes else "")
            + ". Interactions with current medicines, age-related limits and other checks that need them "
            "could not be run, so the absence of other cards does not mean the order is safe.",
        ))
    return resources, notes


def in_scope(drug_id: str | None, kb: Any) -> bool:
    if drug_id is None or drug_id not in kb.drugs:
        return False
    drug = kb.drugs[drug_id]
    return getattr(drug, "role", None) == "monograph" or bool(kb.drug_classes(drug_id) & SCOPE_CLASSES)


def _run(check: CheckFn, order: Order, case: Case, kb: Any) -> CheckResult | None:
    try:
        return check(order, case, kb=kb)
    except InputError as exc:
        log.info("check rejected a mapped order: %s", type(exc).__name__)
        return None


def _worth_a_card(f: Finding) -> bool:
    return f.severity in ("warning", "critical") or f.code in INFO_CODES


def draft_orders(context: dict[str, Any], hook: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(focused drafts, other drafts) among the context's MedicationRequests."""
    meds = [
        r for r in iter_resources(context.get("draftOrders"), "context.draftOrders")
        if r["resourceType"] == "MedicationRequest" and r.get("status") in DRAFT_STATUSES
    ]
    if hook != "order-select":
        return meds, []
    wanted = {s.split("/", 1)[-1] for s in context.get("selections", []) if isinstance(s, str)}
    focused = [m for m in meds if m.get("id") in wanted]
    if not focused:  # selections that name no MedicationRequest here: check them all rather than none
        return meds, []
    return focused, [m for m in meds if m.get("id") not in wanted]


def evaluate_orders(
    drafts: tuple[list[dict[str, Any]], list[dict[str, Any]]], resources: dict[str, list[dict[str, Any]]], kb: Any,
    check: CheckFn, now: dt.datetime,
) -> Outcome:
    out = Outcome()
    focused, others = drafts
    other_mapped = [medication_request_to_order(r, kb) for r in others]
    for draft in focused:
        mapped = medication_request_to_order(draft, kb)
        exclude = {r.get("id") for r in focused if r.get("id")}
        patient = build_patient(resources, kb, now, exclude=exclude, extra_medications=other_mapped)
        findings: list[tuple[Finding, CheckResult]] = []
        if in_scope(mapped.drug_id, kb):
            result = _run(check, mapped.order, patient.case, kb)
            out.checks_run += 1
            if result is not None:
                findings = [(f, result) for f in result.findings if _worth_a_card(f)]
        elif mapped.drug_id is not None:
            findings = _interactions_of(mapped, patient.medications, patient.case, kb, check, out)
        for finding, result in findings:
            out.cards.append(c.finding_card(
                finding, drug_label=mapped.name, kb=kb, draft=draft, drug_id=mapped.drug_id,
                notes=mapped.notes + patient.notes, calculation=result.order.calculation or None,
                knowledge_version=result.knowledge_version,
            ))
    return out


def _interactions_of(
    mapped: MappedMedication, current: list[MappedMedication], case: Case, kb: Any, check: CheckFn, out: Outcome
) -> list[tuple[Finding, CheckResult]]:
    """Interaction findings for a non-scope order: direct, then with each active in-scope drug as the order."""
    found: dict[str, tuple[Finding, CheckResult]] = {}
    result = _run(check, mapped.order, case, kb)
    out.checks_run += 1
    if result is not None:
        for f in result.findings:
            if f.code in INTERACTION_CODES and f.severity != "info":
                found.setdefault(f.code, (f, result))
    for med in current:
        if not in_scope(med.drug_id, kb):
            continue
        swapped_case = case.model_copy(update={"medications": [mapped.entry()]})
        result = _run(check, med.order, swapped_case, kb)
        out.checks_run += 1
        if result is None:
            continue
        for f in result.findings:
            if f.code in INTERACTION_CODES and f.severity != "info":
                found.setdefault(f.code, (f, result))
    return list(found.values())


def evaluate_patient_view(
    resources: dict[str, list[dict[str, Any]]], kb: Any, check: CheckFn, now: dt.datetime
) -> Outcome:
    out = Outcome()
    patient = build_patient(resources, kb, now)
    seen: set[tuple[str, str]] = set()
    for med in patient.medications:
        if not in_scope(med.drug_id, kb):
            continue
        rest = [m.entry() for m in patient.medications if m is not med]
        result = _run(check, med.order, patient.case.model_copy(update={"medications": rest}), kb)
        out.checks_run += 1
        if result is None:
            continue
        for f in result.findings:
            if not _worth_a_card(f):
                continue
            key = (f.code, "" if f.code in INTERACTION_CODES else str(med.drug_id))
            if key in seen:
                continue
            seen.add(key)
            out.cards.append(c.finding_card(
                f, drug_label=f"Active {med.name}", kb=kb, notes=med.notes + patient.notes,
                calculation=result.order.calculation or None, knowledge_version=result.knowledge_version,
            ))
    return out


_ORDER = {"critical": 0, "warning": 1, "info": 2}


async def run_hook(
    service_id: str,
    request: dict[str, Any],
    kb: Any,
    check: CheckFn | None,
    now: dt.datetime,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    hook = request["hook"]
    context = request["context"]
    check_context(service_id, hook, context)
    pid = strip_patient(context.get("patientId"))
    drafts = draft_orders(context, hook) if hook != "patient-view" else ([], [])  # validated before any fetch
    resources, notes = await gather(request, pid, transport)
    if check is None:
        return {"cards": [c.info_card(
            "clinguide's safety-check engine is not installed; no checks were run",
            "This clinguide server answers CDS Hooks but its check engine is missing, so nothing was checked.",
        )]}
    if hook == "patient-view":
        outcome = evaluate_patient_view(resources, kb, check, now)
    else:
        outcome = evaluate_orders(drafts, resources, kb, check, now)
    cards = sorted(outcome.cards, key=lambda card: _ORDER[card["indicator"]])
    return {"cards": cards + notes}


__all__ = ["HookError", "label", "load_check", "parse_now", "run_hook"]
