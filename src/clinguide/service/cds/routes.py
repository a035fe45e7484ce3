"""CDS Hooks 2.0 endpoints: discovery, service calls and feedback."""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from clinguide.service import memo
from clinguide.service.cds import evaluate
from clinguide.service.cds.allowlist import permitted
from clinguide.service.cds.models import (
    CardsResponse,
    DiscoveryResponse,
    FeedbackRequest,
    FeedbackResponse,
    HookRequest,
)
from clinguide.service.cds.security import authenticate
from clinguide.service.cds.services import SERVICES, discovery
from clinguide.service.errors import ApiError
from clinguide.settings import get_settings

log = logging.getLogger("clinguide.cds")

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The request cannot be used; the JSON body names the field."},
    401: {"description": "The CDS client's JWT is missing or not accepted."},
    404: {"description": "No such CDS service."},
    413: {"description": "The body is larger than the configured limit."},
}


class FeedbackStore:
    """Card outcomes, in memory (bounded); counts by service and outcome for monitoring."""

    def __init__(self, size: int = 10_000) -> None:
        self.items: deque[dict[str, Any]] = deque(maxlen=size)
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def record(self, service_id: str, items: list[dict[str, Any]]) -> int:
        with self._lock:
            for item in items:
                self.items.append({"service": service_id, **item})
                self.counts[(service_id, item["outcome"])] += 1
        return len(items)


FEEDBACK = FeedbackStore()

router = APIRouter(prefix="/cds-services", tags=["CDS Hooks"], dependencies=[Depends(authenticate)],
                   responses=_ERRORS)


def _service(service_id: str) -> None:
    if service_id not in SERVICES:
        raise ApiError(404, "unknown CDS service",
                       f"'{service_id}' is not a CDS service here; known: {', '.join(SERVICES)}", field="id")


@router.get("", response_model=DiscoveryResponse, summary="CDS Hooks discovery")
async def list_services() -> dict[str, Any]:
    return discovery()


def _payload(body: HookRequest) -> dict[str, Any]:
    """The request as plain JSON data — what ``model_dump(mode="json", exclude_none=True)`` gives, without
    walking the context and prefetch again (they were parsed from JSON and are JSON data already)."""
    out: dict[str, Any] = {"hook": body.hook, "hookInstance": body.hookInstance}
    if body.fhirServer is not None:
        out["fhirServer"] = body.fhirServer
    if body.fhirAuthorization is not None:
        out["fhirAuthorization"] = body.fhirAuthorization.model_dump(mode="json", exclude_none=True)
    out["context"] = body.context
    if body.prefetch is not None:
        out["prefetch"] = body.prefetch
    for name, value in (body.model_extra or {}).items():
        if value is not None:
            out[name] = value
    return out


@router.post("/{service_id}", response_model=CardsResponse, response_model_exclude_none=True,
             summary="Call a CDS service")
async def call_service(
    service_id: str, body: HookRequest, request: Request,
    claims: dict[str, Any] | None = Depends(authenticate),  # cached: the router runs it too
) -> Response:
    _service(service_id)
    payload = _payload(body)
    evaluate.check_context(service_id, payload["hook"], payload["context"])  # 400s before loading anything
    from clinguide.kb import get_kb

    kb = get_kb()
    state = request.app.state
    now = getattr(state, "cds_now", None) or evaluate.parse_now(get_settings().cds_now)
    issuer = str(claims["iss"]) if claims and claims.get("iss") else None
    # the answer is built (or found in this worker's memo) once per clinical input; the card ids are
    # made for this call from its hookInstance (see service/memo.py)
    server = payload.get("fhirServer")
    key = memo.hook_key(service_id, payload, str(kb.version), issuer, now,
                        permitted(server, issuer) if server else None)
    results: memo.Memo[memo.CardsAnswer] | None = getattr(state, "hook_memo", None)
    answer = results.get(key) if results is not None else None
    if answer is None:
        hook = await evaluate.answer_hook(
            service_id, payload, kb, evaluate.load_check(), now,
            transport=getattr(state, "fhir_transport", None), issuer=issuer,
        )
        answer = memo.CardsAnswer.of(hook.result)
        if results is not None and not hook.read_server:  # an answer that read the EHR is not the input's alone
            results.put(key, answer)
    log.info("cds %s: %d card(s)", service_id, answer.cards)
    return Response(answer.render(body.hookInstance, key), media_type="application/json")


@router.post("/{service_id}/feedback", response_model=FeedbackResponse, summary="Card outcomes")
def feedback(service_id: str, body: FeedbackRequest) -> FeedbackResponse:
    _service(service_id)
    items = [item.model_dump(mode="json", exclude_none=True) for item in body.feedback]
    return FeedbackResponse(recorded=FEEDBACK.record(service_id, items))
