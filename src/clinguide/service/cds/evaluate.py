"""Run a hook: FHIR in (context + prefetch or FHIR server), the check engine, cards out.

* order-select / order-sign: each focused draft MedicationRequest becomes one Order per ingredient;
  the rest of the patient (every other draft and the record) becomes the Case. In-scope ingredients
  (benzodiazepines, muscle relaxants, the pack's monographs) get every warning/critical finding; any
  other ingredient (e.g. an opioid) gets the interaction findings that involve an in-scope drug —
  found by checking the order itself and by checking each in-scope drug with the new order as
  co-medication (roles swapped).
* patient-view: each active in-scope prescription is checked against the rest of the record.

Never silent: a medication nobody can identify gets a card naming it (a warning for an order being
placed, one info card for the record), and so does a dose, interval or duration that cannot be read.
Drafts and record orders are told apart by where they come from (context vs prefetch/server); a
record order is taken for the draft itself only when it has the draft's id *and* medication.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from clinguide.contracts import Case, CheckResult, Finding, Order
from clinguide.errors import InputError
from clinguide.fhir.dosage import OrderProblem
from clinguide.fhir.mapping import MappedMedication, build_patient, medication_request_to_order
from clinguide.fhir.medications import MedicationIndex, medication_index, medication_reference
from clinguide.fhir.resources import FhirInputError, iter_entries, iter_resources, label
from clinguide.service.cds import cards as c
from clinguide.service.cds.allowlist import permitted
from clinguide.service.cds.fetch import fetch, fetch_medications
from clinguide.service.cds.services import KEY_TYPES, REQUIRED_TYPES, SERVICES

log = logging.getLogger("clinguide.cds")

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


def load_check() -> CheckFn:
    """The check engine (imported here, not at module level, to keep the CDS modules light to import)."""
    from clinguide.checks.engine import check

    return check


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


@dataclass
class Record:
    """What is known of the patient besides the drafts: resources by type, Medications by reference,
    and info cards about data that could not be had."""

    resources: dict[str, list[dict[str, Any]]]
    medications: MedicationIndex
    notes: list[dict[str, Any]] = field(default_factory=list)
    read_server: bool = False  # the EHR's FHIR server was asked for data (the answer may change with it)


def classify(
    prefetch: dict[str, Any] | None,
) -> tuple[dict[str, list[dict[str, Any]]], set[str], list[str], list[tuple[dict[str, Any], str | None]]]:
    """Resources by type, the types the prefetch covers, OperationOutcome keys, and (Medication, fullUrl)s."""
    resources: dict[str, list[dict[str, Any]]] = {}
    covered: set[str] = set()
    outcomes: list[str] = []
    medications: list[tuple[dict[str, Any], str | None]] = []
    prefetch = prefetch or {}
    for key, value in prefetch.items():
        if key in KEY_TYPES:
            covered.add(KEY_TYPES[key])
        in_bundle = isinstance(value, dict) and value.get("resourceType") == "Bundle"
        for resource, full_url in iter_entries(value, f"prefetch.{key}"):
            rtype = resource["resourceType"]
            if rtype == "OperationOutcome" and in_bundle and not _failed(resource):
                continue  # a searchset's warning ("results limited"): the data are there
            if rtype == "OperationOutcome":
                covered.discard(KEY_TYPES.get(key, ""))
                outcomes.append(key)
                continue
            if rtype == "Medication":
                medications.append((resource, full_url))
                continue
            resources.setdefault(rtype, []).append(resource)
            covered.add(rtype)
    foreign = any(k not in KEY_TYPES for k in prefetch)
    if foreign and resources.get("Patient"):
        # the client used its own prefetch keys (positional item1…item9): trust it as complete
        covered.update(KEY_TYPES.values())
    return resources, covered, outcomes, medications


def _failed(outcome: dict[str, Any]) -> bool:
    """An OperationOutcome reporting an error (not only information or warnings)."""
    issues = outcome.get("issue") or []
    return not issues or any(i.get("severity") in ("error", "fatal") for i in issues if isinstance(i, dict))


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or "the named server"
    except ValueError:
        return "the named server"


def _references(resources: list[dict[str, Any]], index: MedicationIndex, known: list[str]) -> list[str]:
    """medicationReferences that point outside the resource and are not in ``index`` (nor in ``known``)."""
    out = list(known)
    for resource in resources:
        ref = medication_reference(resource)
        if ref and not ref.startswith("#") and ref not in index and ref not in out:
            out.append(ref)
    return out


def _not_allowed_card(server: str, missing: list[str]) -> dict[str, Any]:
    what = ", ".join(TYPE_WORDS[t] for t in missing) or "referenced medications"
    return c.info_card(
        f"Could not read the record: {_host(server)} is not an allowed FHIR server; checks may be incomplete",
        f"The request asked clinguide to read {what} from `{server[:200]}`, but that FHIR server is not on this "
        "service's allow-list for the calling EHR, so no request was made and the access token was not sent "
        "anywhere. Findings below (if any) were made without these data; the absence of other cards does not "
        "mean the order is safe. An administrator can add the server to `CLINGUIDE_CDS_FHIR_SERVERS` (see "
        "docs/cds-hooks.md).",
    )


async def _read_server(
    request: dict[str, Any], pid: str, missing: list[str], wanted: list[str], resources: dict[str, list[Any]],
    med_entries: list[tuple[dict[str, Any], str | None]], transport: httpx.AsyncBaseTransport | None,
) -> tuple[MedicationIndex, dict[str, Any] | None]:
    """Read the missing types, then the Medications referenced, from the (allow-listed) server.

    Returns the Medication index and an info card when some data could not be read."""
    server = str(request["fhirServer"])
    token = (request.get("fhirAuthorization") or {}).get("access_token")
    fetched, errors = await fetch(server, pid, missing, token, transport) if missing else ({}, {})
    for rtype, value in fetched.items():
        try:
            for resource, full_url in iter_entries(value, f"{server} {rtype}"):
                if resource["resourceType"] == rtype:
                    resources.setdefault(rtype, []).append(resource)
                elif resource["resourceType"] == "Medication":
                    med_entries.append((resource, full_url))
        except FhirInputError as exc:
            errors[rtype] = f"the server's answer did not validate ({exc})"
    index = medication_index(med_entries, server)
    wanted = _references(resources.get("MedicationRequest", []), index, [r for r in wanted if r not in index])
    if wanted:
        found, med_errors = await fetch_medications(server, wanted, token, transport)
        for ref, med in found.items():
            try:
                index[ref] = next(iter_resources(med, f"{server} {ref}"))
            except (FhirInputError, StopIteration):
                med_errors[ref] = "the server's answer did not validate"
        if med_errors:  # the medications stay unresolved and are named on their own card
            log.info("could not read %d referenced Medication(s)", len(med_errors))
    if not errors:
        return index, None
    what = ", ".join(TYPE_WORDS[t] for t in errors)
    return index, c.info_card(
        f"Could not read {what} from the EHR; checks may be incomplete",
        "clinguide asked the EHR's FHIR server for data the request did not include, and the server did not "
        "answer usefully:\n\n" + "\n".join(f"- {TYPE_WORDS[t]}: {e}" for t, e in errors.items())
        + "\n\nFindings below (if any) were made without these data.",
    )


async def gather(
    request: dict[str, Any],
    pid: str,
    transport: httpx.AsyncBaseTransport | None,
    issuer: str | None = None,
    drafts: list[dict[str, Any]] | None = None,
    draft_medications: list[tuple[dict[str, Any], str | None]] | None = None,
) -> Record:
    """Prefetch, then the allow-listed FHIR server for what is missing; info cards for what could not be had."""
    resources, covered, outcomes, med_entries = classify(request.get("prefetch"))
    med_entries += draft_medications or []
    notes: list[dict[str, Any]] = []
    missing = [t for t in KEY_TYPES.values() if t not in covered]
    server = request.get("fhirServer")
    allowed = permitted(server, issuer)
    index = medication_index(med_entries, server if allowed else None)
    current = [*(drafts or []), *resources.get("MedicationRequest", []), *resources.get("MedicationStatement", [])]
    wanted = _references(current, index, [])
    lacking: list[str] = []
    read_server = False
    if server and (missing or wanted):
        if allowed:
            read_server = True
            index, card = await _read_server(request, pid, missing, wanted, resources, med_entries, transport)
            notes += [card] if card else []
        else:
            log.warning("fhirServer %s is not on the allow-list for this caller; nothing fetched", _host(str(server)))
            notes.append(_not_allowed_card(str(server), missing))
    elif not server:
        lacking = [t for t in missing if t in REQUIRED_TYPES]
    if lacking or outcomes:
        what = ", ".join(TYPE_WORDS[t] for t in lacking) or "some prefetched data"
        notes.append(c.info_card(
            f"clinguide did not receive {what}; checks are incomplete",
            "The request carried neither these data (prefetch) nor a FHIR server to read them from"
            + (f"; prefetch keys {', '.join(outcomes)} held an OperationOutcome" if outcomes else "")
            + ". Interactions with current medicines, age-related limits and other checks that need them "
            "could not be run, so the absence of other cards does not mean the order is safe.",
        ))
    return Record(resources, index, notes, read_server)


def in_scope(drug_id: str | None, kb: Any) -> bool:
    if drug_id is None or drug_id not in kb.drugs:
        return False
    drug = kb.drugs[drug_id]
    return getattr(drug, "role", None) == "monograph" or bool(
        kb.drug_classes(drug_id) & set(kb.policy.cds_scope_classes))


def _run(check: CheckFn, order: Order, case: Case, kb: Any) -> CheckResult | None:
    try:
        return check(order, case, kb=kb)
    except InputError as exc:
        log.info("check rejected a mapped order: %s", type(exc).__name__)
        return None


def _worth_a_card(f: Finding, kb: Any) -> bool:
    return f.severity in ("warning", "critical") or f.code in kb.policy.finding_groups.cds_info_shown


def draft_orders(
    context: dict[str, Any], hook: str, entries: list[tuple[dict[str, Any], str | None]] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(focused drafts, other drafts) among the context's MedicationRequests (``entries``: the draftOrders
    Bundle already read by :func:`draft_entries`)."""
    if entries is None:
        entries = draft_entries(context)
    meds = [r for r, _ in entries if r["resourceType"] == "MedicationRequest" and r.get("status") in DRAFT_STATUSES]
    if hook != "order-select":
        return meds, []
    wanted = {s.split("/", 1)[-1] for s in context.get("selections", []) if isinstance(s, str)}
    focused = [m for m in meds if m.get("id") in wanted]
    if not focused:  # selections that name no MedicationRequest here: check them all rather than none
        return meds, []
    return focused, [m for m in meds if m.get("id") not in wanted]


def draft_entries(context: dict[str, Any]) -> list[tuple[dict[str, Any], str | None]]:
    """The draftOrders Bundle's resources with their fullUrls, validated once."""
    return list(iter_entries(context.get("draftOrders"), "context.draftOrders"))


# ----- findings the service itself makes ------------------------------------------------


def problem_finding(problem: OrderProblem) -> Finding:
    if problem.code == "implausible-dose":
        title = f"Implausible {problem.field} in the order — probably an entry error"
    else:
        title = f"Order could not be understood ({problem.field})"
    return Finding(code=problem.code, severity="critical", title=title, detail=problem.message,
                   suggestion="Correct the order's structured dosage or dispense fields, then check it again.",
                   sources=[])


def _not_yet(f: Finding, mapped: MappedMedication, hook: str) -> Finding:
    """A dose that is simply absent — at order-select (details may come later, CDS Hooks) or on a prescription
    already in the record (patient-view) — is said plainly as info, not raised as a critical alarm."""
    absent = (f.code == "unparseable-order" and "dose" in f.title.lower() and mapped.order.dose is None
              and mapped.order.sig is None and not mapped.problems)
    if not absent or hook not in ("order-select", "patient-view"):
        return f
    if hook == "order-select":
        title, detail = "Dose not entered yet", (
            "The selected order has no dose yet, so dose and daily-dose limits were not checked; they are checked "
            "when the order is signed. Interaction and other checks ran.")
    else:
        title, detail = "Dose not recorded", (
            "The prescription in the record carries no dose, so its dose and daily-dose limits were not checked. "
            "Interaction and other checks ran.")
    return f.model_copy(update={"severity": "info", "title": title, "detail": detail, "suggestion": None})


def _superseded(f: Finding, problems: list[OrderProblem]) -> bool:
    """An engine finding that only repeats, vaguely, a number the mapping already reported."""
    return f.code == "unparseable-order" and any(p.field in f.title.lower() for p in problems)


def _how_unknown(med: MappedMedication) -> str:
    concept = med.resource.get("medicationCodeableConcept")
    named = isinstance(concept, dict) and (concept.get("text") or any(
        isinstance(x, dict) and x.get("display") for x in concept.get("coding", [])))
    if med.unfollowed:
        return f"its medication reference `{med.unfollowed[:100]}` could not be followed"
    if med.code and med.name.startswith("RxNorm "):
        return f"RxNorm code {med.code} is not in clinguide's knowledge pack and the order carries no name"
    if med.code:
        return f"neither RxNorm code {med.code} nor the name '{med.name[:100]}' is in clinguide's knowledge pack"
    if med.name == "unnamed medication":
        return "the order carries neither a code nor a name"
    if not named and not med.unfollowed:
        return f"it is coded only as {med.name}, and clinguide identifies drugs by RxNorm code or by name"
    return f"the name '{med.name[:100]}' matches no drug in clinguide's knowledge pack"


def unknown_draft_card(med: MappedMedication) -> dict[str, Any]:
    return c.info_card(
        f"Not recognised: {med.describe()} — this order was not checked",
        f"clinguide could not identify the medication of {med.ref}: {_how_unknown(med)}. It was therefore not "
        "checked for dose, duration, older-adult limits, conditions, allergies, or interactions with opioids, "
        "benzodiazepines, muscle relaxants and other sedating drugs. The absence of other cards does not mean "
        "this order is safe.",
        code="unknown-drug", indicator="warning",
    )


def unknown_record_card(meds: list[MappedMedication]) -> dict[str, Any]:
    names = []
    for med in meds:
        if med.describe() not in names:
            names.append(med.describe())
    lines = "\n".join(f"- {m.describe()} ({m.ref}): {_how_unknown(m)}" for m in meds[:50])
    listed = ", ".join(names) if len(names) <= 3 else f"{len(names)} medications ({', '.join(names[:2])}, …)"
    return c.info_card(
        f"Not recognised: {listed} — not checked for interactions",
        "clinguide could not identify these medications, so their interactions with the orders it checks "
        "(added sedation and breathing risk with opioids, benzodiazepines and muscle relaxants, and the "
        "other rules of its knowledge pack) were not checked:\n\n" + lines,
        code="unknown-medication",
    )


# ----- order hooks -----------------------------------------------------------------------


def _entries(meds: list[MappedMedication]) -> list[Any]:
    return [e for m in meds for e in m.entries][:50]


def evaluate_orders(
    drafts: tuple[list[dict[str, Any]], list[dict[str, Any]]], record: Record | dict[str, list[dict[str, Any]]],
    kb: Any, check: CheckFn, now: dt.datetime, hook: str = "order-sign",
) -> Outcome:
    if not isinstance(record, Record):
        record = Record(record, {})
    out = Outcome()
    focused_raw, others_raw = drafts
    focused = [medication_request_to_order(r, kb, record.medications) for r in focused_raw]
    others = [medication_request_to_order(r, kb, record.medications) for r in others_raw]
    every_draft = focused + others
    patient = build_patient(record.resources, kb, now, drafts=every_draft, medications=record.medications)
    unresolved = list(patient.unresolved) + [m for m in others if not m.resolved]
    for draft, mapped in zip(focused_raw, focused, strict=True):
        co_drafts = [m for m in every_draft if m is not mapped and m.resolved]
        # an in-scope focused draft reports its interactions itself; others must not repeat them
        quiet = [m for m in co_drafts if m in focused and any(in_scope(d, kb) for d in m.drug_ids)]
        full_case = patient.case.model_copy(update={"medications": _entries(patient.medications + co_drafts)})
        partners = patient.medications + [m for m in co_drafts if m not in quiet]
        partner_case = patient.case.model_copy(update={"medications": _entries(partners)})
        if not mapped.resolved:
            out.cards.append(unknown_draft_card(mapped))
        found: dict[tuple[str, str], tuple[Finding, CheckResult | None]] = {}
        for problem in mapped.problems:
            f = problem_finding(problem)
            found.setdefault((f.code, f.title), (f, None))
        # each ingredient is checked against the rest of the patient, not against its own co-ingredients
        for i, (drug_id, order) in enumerate(mapped.orders):
            if in_scope(drug_id, kb):
                result = _run(check, order, full_case, kb)
                out.checks_run += 1
                pairs = [] if result is None else [
                    (_not_yet(f, mapped, hook), result) for f in result.findings
                    if _worth_a_card(f, kb) and not _superseded(f, mapped.problems)]
            else:
                entry = mapped.entries[i] if i < len(mapped.entries) else mapped.entry()
                pairs = _interactions_of(order, entry, partners, partner_case, kb, check, out)
            for f, result in pairs:
                found.setdefault((f.code, f.title), (f, result))
        single = mapped.drug_ids[0] if len(mapped.drug_ids) == 1 else None
        for finding, result in found.values():
            out.cards.append(c.finding_card(
                finding, drug_label=mapped.name, kb=kb, draft=draft, drug_id=single,
                notes=mapped.notes + patient.notes,
                calculation=(result.order.calculation or None) if result else None,
                knowledge_version=result.knowledge_version if result else None,
            ))
    if unresolved:
        record.notes.insert(0, unknown_record_card(unresolved))
    return out


def _interactions_of(
    order: Order, entry: Any, current: list[MappedMedication], case: Case, kb: Any, check: CheckFn, out: Outcome
) -> list[tuple[Finding, CheckResult]]:
    """Interaction findings for a non-scope order: direct, then with each in-scope drug as the order."""
    found: dict[str, tuple[Finding, CheckResult]] = {}
    result = _run(check, order, case, kb)
    out.checks_run += 1
    if result is not None:
        for f in result.findings:
            if f.code in kb.policy.finding_groups.cds_interaction and f.severity != "info":
                found.setdefault(f.code, (f, result))
    swapped_case = case.model_copy(update={"medications": [entry]})
    for med in current:
        for drug_id, med_order in med.orders:
            if not in_scope(drug_id, kb):
                continue
            result = _run(check, med_order, swapped_case, kb)
            out.checks_run += 1
            if result is None:
                continue
            for f in result.findings:
                if f.code in kb.policy.finding_groups.cds_interaction and f.severity != "info":
                    found.setdefault(f.code, (f, result))
    return list(found.values())


def evaluate_patient_view(
    record: Record | dict[str, list[dict[str, Any]]], kb: Any, check: CheckFn, now: dt.datetime
) -> Outcome:
    if not isinstance(record, Record):
        record = Record(record, {})
    out = Outcome()
    patient = build_patient(record.resources, kb, now, medications=record.medications)
    seen: set[tuple[str, str]] = set()
    for med in patient.medications:
        scoped = [(d, o) for d, o in med.orders if in_scope(d, kb)]
        if not scoped:
            continue
        rest = _entries([m for m in patient.medications if m is not med])
        case = patient.case.model_copy(update={"medications": rest})
        pairs: list[tuple[Finding, CheckResult | None, str]] = [
            (problem_finding(p), None, scoped[0][0]) for p in med.problems]
        for drug_id, order in scoped:
            result = _run(check, order, case, kb)
            out.checks_run += 1
            if result is not None:
                pairs += [(_not_yet(f, med, "patient-view"), result, drug_id) for f in result.findings
                          if _worth_a_card(f, kb) and not _superseded(f, med.problems)]
        interaction_codes = kb.policy.finding_groups.cds_interaction
        for f, result, drug_id in pairs:
            key = (f.code, "" if f.code in interaction_codes else f"{med.ref}|{drug_id}|{f.title}")
            if key in seen:
                continue
            seen.add(key)
            out.cards.append(c.finding_card(
                f, drug_label=f"Active {med.name}", kb=kb, notes=med.notes + patient.notes,
                calculation=(result.order.calculation or None) if result else None,
                knowledge_version=result.knowledge_version if result else None,
            ))
    if patient.unresolved:
        record.notes.insert(0, unknown_record_card(patient.unresolved))
    return out


_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass
class HookAnswer:
    result: dict[str, Any]
    read_server: bool  # whether the EHR's FHIR server was read (the answer is then not the request's alone)


async def run_hook(
    service_id: str,
    request: dict[str, Any],
    kb: Any,
    check: CheckFn,
    now: dt.datetime,
    transport: httpx.AsyncBaseTransport | None = None,
    issuer: str | None = None,
) -> dict[str, Any]:
    """Answer one hook call. ``issuer`` is the verified JWT ``iss`` (None for an unsigned development call);
    it selects which FHIR servers may be read."""
    return (await answer_hook(service_id, request, kb, check, now, transport, issuer)).result


async def answer_hook(
    service_id: str,
    request: dict[str, Any],
    kb: Any,
    check: CheckFn,
    now: dt.datetime,
    transport: httpx.AsyncBaseTransport | None = None,
    issuer: str | None = None,
) -> HookAnswer:
    """:func:`run_hook`, saying also whether the FHIR server was read."""
    hook = request["hook"]
    context = request["context"]
    check_context(service_id, hook, context)
    pid = strip_patient(context.get("patientId"))
    entries = draft_entries(context) if hook != "patient-view" else []  # validated before any fetch
    drafts = draft_orders(context, hook, entries) if hook != "patient-view" else ([], [])
    meds = [(r, u) for r, u in entries if r["resourceType"] == "Medication"]
    record = await gather(request, pid, transport, issuer, drafts=drafts[0] + drafts[1], draft_medications=meds)
    if hook == "patient-view":
        outcome = evaluate_patient_view(record, kb, check, now)
    else:
        outcome = evaluate_orders(drafts, record, kb, check, now, hook)
    cards = sorted(outcome.cards, key=lambda card: _ORDER[card["indicator"]])
    return HookAnswer({"cards": cards + record.notes}, record.read_server)


__all__ = ["HookAnswer", "HookError", "answer_hook", "label", "load_check", "parse_now", "run_hook"]
