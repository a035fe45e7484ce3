"""The JSON API: POST /api/check, /api/assess, /api/ask — the CLI's contracts over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from clinguide.answers import compose
from clinguide.checks.engine import check as run_check
from clinguide.contracts import Article, Audience, Case, CheckResult, Order, Plan
from clinguide.kb import get_kb
from clinguide.plans.assess import assess as run_assess
from clinguide.service.errors import dumps
from clinguide.service.memo import Memo, digest


class CheckRequest(BaseModel):
    """An order to check, for an optional case."""

    model_config = ConfigDict(extra="forbid")
    order: Order
    case: Case | None = None


class AssessRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case: Case


class AskRequest(BaseModel):
    # Limits apply to the text as sent (what the OpenAPI schema says); surrounding space is dropped after.
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=1000, pattern=r"\S", description="Not blank; up to 1000 characters")
    audience: Audience = "clinician"

    @field_validator("question")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"description": "The body is larger than the configured limit."},
    503: {"description": "The engine or the knowledge pack is not available."},
}

router = APIRouter(prefix="/api", tags=["API"], responses=_ERRORS)


# Rendered answers (JSON bytes) by (question, audience, knowledge version). ``ask`` is a pure function of
# those three, so a question asked again (patients ask the same few) is answered without composing it
# again; an approved editorial change makes a new knowledge version, so an answer is never served from an
# older pack.
ANSWERS: Memo[bytes] = Memo(512)


# The engine calls below are CPU work of well under a millisecond: they run on the event loop rather
# than paying a thread hand-off each; the result model is already validated, so it is dumped once
# here instead of being validated again against the response model (which stays for OpenAPI).


@router.post("/check", response_model=CheckResult, summary="Check a prescription")
async def check(body: CheckRequest, request: Request) -> Response:
    # a check is a pure function of the body and the knowledge version: this worker's memo keeps the
    # answer by their digest (only bodies that validated get here; see service/memo.py)
    kb = get_kb()
    results: Memo[bytes] | None = getattr(request.app.state, "check_memo", None)
    key = digest(str(kb.version), await request.body()) if results is not None and results.enabled else None
    raw = results.get(key) if results is not None and key is not None else None
    if raw is None:
        result: CheckResult = run_check(body.order, body.case, kb=kb)
        raw = dumps(result.to_json())
        if results is not None and key is not None:
            results.put(key, raw)
    return Response(raw, media_type="application/json")


@router.post("/assess", response_model=Plan, summary="Patient-specific care plan")
def assess(body: AssessRequest) -> Response:
    # the plan is already a validated model: dumped once here, not validated again against the response
    # model (which stays for OpenAPI); kept in the thread pool (a plan can take a few milliseconds)
    return Response(dumps(run_assess(body.case).to_json()), media_type="application/json")


@router.post("/ask", response_model=Article, summary="A cited answer to a question")
async def ask(body: AskRequest, request: Request) -> Response:
    kb = get_kb()
    key = (body.question, body.audience, kb.version)
    cached = getattr(request.app.state, "result_cache_size", 1) > 0  # CLINGUIDE_RESULT_CACHE_SIZE=0: off
    raw = ANSWERS.get(key) if cached else None
    if raw is None:  # composing takes milliseconds: off the event loop
        article: Article = await run_in_threadpool(compose.ask, body.question, body.audience, kb)
        raw = dumps(article.to_json())
        if cached:
            ANSWERS.put(key, raw)
    return Response(raw, media_type="application/json")
