"""The JSON API: POST /api/check, /api/assess, /api/ask — the CLI's contracts over HTTP."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from clinguide.contracts import Article, Audience, Case, CheckResult, Order, Plan
from clinguide.service.errors import ApiError


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


def _engine(module: str, name: str) -> Callable[..., Any]:
    try:
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            raise ApiError(503, "engine not available", f"{module} is not installed on this server") from None
        raise


@router.post("/check", response_model=CheckResult, summary="Check a prescription")
def check(body: CheckRequest) -> CheckResult:
    run = _engine("clinguide.checks.engine", "check")
    return run(body.order, body.case)  # type: ignore[no-any-return]


@router.post("/assess", response_model=Plan, summary="Patient-specific care plan")
def assess(body: AssessRequest) -> Plan:
    run = _engine("clinguide.plans.assess", "assess")
    return run(body.case)  # type: ignore[no-any-return]


@router.post("/ask", response_model=Article, summary="A cited answer to a question")
def ask(body: AskRequest) -> Article:
    run = _engine("clinguide.answers.compose", "ask")
    return run(body.question, body.audience)  # type: ignore[no-any-return]
