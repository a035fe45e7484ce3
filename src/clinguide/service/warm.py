"""Per-worker caches built at start-up, so the first request on a worker costs what the others do.

Each worker process loads the knowledge base, builds the ask index of its knowledge version, builds
the FHIR models clinguide validates with, compiles the page templates, and runs each engine once
(an answer, a check, an order-sign hook) so every lazily built table and pydantic schema exists
before the first request. The sample inputs are made from the pack itself (its first monograph
drug and one of its statements), so no clinical text lives here. A failure is logged by type and
the worker serves anyway: the same error would then reach the request that needs it, as a JSON error.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

log = logging.getLogger("clinguide.service")
_WARMED: set[str] = set()


def _sample_drug(kb: Any) -> str:
    monographs = [d for d in kb.drugs.values() if getattr(d, "role", None) == "monograph"]
    drugs = monographs or list(kb.drugs.values())
    if not drugs:  # a pack without drugs (a test fixture): the engines run on a name nobody knows
        return "unknown"
    return str(getattr(drugs[0], "name", None) or drugs[0].id)


def _hook_request(drug: str) -> dict[str, Any]:
    """A minimal order-sign call: a patient and one draft order of ``drug`` by name (no dose: the hook
    says so on a card, which exercises the card path too)."""
    draft = {"resourceType": "MedicationRequest", "id": "warm-up-draft", "status": "draft", "intent": "order",
             "subject": {"reference": "Patient/warm-up"}, "medicationCodeableConcept": {"text": drug}}
    return {
        "hook": "order-sign",
        "hookInstance": "00000000-0000-4000-8000-000000000000",
        "context": {"userId": "Practitioner/warm-up", "patientId": "warm-up",
                    "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]}},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "warm-up", "birthDate": "1970-01-01", "gender": "unknown"},
            "medications": {"resourceType": "Bundle", "type": "searchset", "entry": []},
            "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": []},
        },
    }


def _step(name: str, steps: list[str], fn: Any, *args: Any) -> None:
    started = time.perf_counter()
    try:
        fn(*args)
    except Exception as exc:  # never stop the worker: the request that needs it gets the error
        log.warning("warm-up %s failed: %s", name, type(exc).__name__)
        return
    steps.append(f"{name} {1000 * (time.perf_counter() - started):.0f} ms")


def warm_up() -> list[str]:
    """Build this worker's caches; returns what was done with its time (for the log)."""
    from clinguide.answers import compose, retrieve
    from clinguide.checks.engine import check
    from clinguide.contracts import Order
    from clinguide.fhir.resources import warm_models
    from clinguide.kb import get_kb
    from clinguide.service.cds import evaluate

    steps: list[str] = []
    try:
        kb = get_kb()
    except Exception as exc:  # the request that needs the pack gets the JSON error (503)
        log.warning("warm-up: the knowledge pack did not load: %s", type(exc).__name__)
        return []
    if kb.version in _WARMED:  # this process already warmed up for this knowledge version (tests, reloads)
        return ["already warm"]
    _WARMED.add(kb.version)
    drug = _sample_drug(kb)
    _step("knowledge indexes", steps, _kb_indexes, kb)
    _step("ask index", steps, retrieve.index_for, kb)
    _step("FHIR models", steps, warm_models)
    statement = next(iter(kb.statements.values()), None)
    question = str(getattr(statement, "title", None) or drug)
    for audience in compose.AUDIENCES:
        _step(f"ask ({audience})", steps, compose.ask, question, audience, kb)
    _step("check", steps, check, Order(sig=f"{drug} daily"), None)

    def hook() -> None:
        asyncio.run(evaluate.run_hook("clinguide-order-sign", _hook_request(drug), kb, evaluate.load_check(),
                                      dt.datetime.now(dt.UTC)))

    _step("order-sign", steps, hook)
    _step("templates", steps, _templates)
    return steps


def _kb_indexes(kb: Any) -> None:
    """Every lookup table the knowledge base builds on first use (its cached properties)."""
    import functools

    for name, attr in vars(type(kb)).items():
        if isinstance(attr, functools.cached_property):
            getattr(kb, name)


def _templates() -> None:
    from clinguide.service.web.common import templates

    env = templates.env
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
