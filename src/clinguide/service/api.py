"""The JSON API: POST /api/check, /api/assess, /api/ask — the CLI's contracts over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from clinguide.answers.compose import ask as run_ask
from clinguide.checks.engine import check as run_check
from clinguide.contracts import Article, Audience, Case, CheckResult, Order, Plan
from clinguide.plans.assess import assess as run_assess


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


@router.post("/check", response_model=CheckResult, summary="Check a prescription")
def check(body: CheckRequest) -> CheckResult:
    return run_check(body.order, body.case)


@router.post("/assess", response_model=Plan, summary="Patient-specific care plan")
def assess(body: AssessRequest) -> Plan:
    return run_assess(body.case)


@router.post("/ask", response_model=Article, summary="A cited answer to a question")
def ask(body: AskRequest) -> Article:
    return run_ask(body.question, body.audience)
