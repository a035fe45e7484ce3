"""REST endpoints of the editorial workflow under /api/editorial (bearer tokens, role-checked).

Mount with ``app.include_router(router)``. The store is $CLINGUIDE_DATABASE_URL validated
against $CLINGUIDE_PACK_DIR (or the shipped pack); tests may override ``get_store`` through
``app.dependency_overrides``. Errors are JSON: ``{"detail": {"code", "message", "problems"}}``;
401 without or with a bad token, 403 for a role that may not act, 404, 409 for an illegal
transition or a lost race, 422 for content that does not validate.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from clinguide.editorial.workflow import Actor, EditorialError, EditorialStore, Unauthorized

router = APIRouter(prefix="/api/editorial", tags=["editorial"])
_bearer = HTTPBearer(auto_error=False)
_stores: dict[tuple[str, str], EditorialStore] = {}
_lock = threading.Lock()


# ----- models ----------------------------------------------------------------------
class ErrorDetail(BaseModel):
    code: str
    message: str
    problems: list[str] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: str | None = Field(default=None, description="A short title (the full service adds it)")
    detail: ErrorDetail


class Me(BaseModel):
    id: int | None
    name: str
    role: str


class ProposeRequest(BaseModel):
    kind: str = Field(max_length=20, description="statement, drug, agent, plan, … (the loader's editable kinds)")
    yaml: str = Field(
        max_length=200_000, description="The full proposed item as YAML (the item mapping, or `statements: [item]`)"
    )
    rationale: str = Field(min_length=1, max_length=4000)
    sources: list[Annotated[str, Field(max_length=20)]] = Field(
        default_factory=list, max_length=100, description="Source ids the change rests on"
    )
    submit: bool = Field(default=True, description="Submit for review at once (false keeps a draft)")


class ActionRequest(BaseModel):
    comment: str = Field(default="", max_length=4000)
    expected_version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="Refuse with 409 unless the proposal is still at this version"
    )


class RetireRequest(BaseModel):
    comment: str = Field(default="", max_length=4000)


class ReviewOut(BaseModel):
    reviewer: str
    decision: str
    comment: str
    at: str | None


class ProposalOut(BaseModel):
    id: int
    kind: str
    item_id: str
    state: str
    version: int
    author: str | None
    rationale: str
    sources: list[str]
    yaml: str
    base_version_id: int | None
    approvals: int
    approvals_required: int
    created_at: str | None
    updated_at: str | None
    reviews: list[ReviewOut] = Field(default_factory=list)
    live_yaml: str | None = None
    diff: str | None = Field(default=None, description="Unified diff of the live version against the proposal")


class RetireOut(BaseModel):
    kind: str
    item_id: str
    retired: bool
    proposal_id: int | None


class AuditOut(BaseModel):
    id: int
    at: str | None
    actor: str
    action: str
    proposal_id: int | None
    kind: str | None
    item_id: str | None
    from_state: str | None
    to_state: str | None
    detail: str


MAX_ID = 2**31 - 1  # the database's integer range: larger numbers are refused as invalid, not looked up
ProposalId = Annotated[int, Path(ge=1, le=MAX_ID, description="The proposal's number")]
Kind = Annotated[str, Path(min_length=1, max_length=20, description="statement, drug, agent, plan, …")]
ItemId = Annotated[str, Path(min_length=1, max_length=120, description="The item's id in the pack")]


# ----- dependencies ----------------------------------------------------------------
def get_store() -> EditorialStore:
    """The store of the current settings (one per database URL and pack)."""
    from clinguide.editorial.db import StoreUnavailable
    from clinguide.editorial.overlay import pack_dir
    from clinguide.settings import get_settings

    url, pack = get_settings().database_url, pack_dir()
    with _lock:
        store = _stores.get((url, str(pack)))
        if store is None:
            try:
                store = EditorialStore(url, pack)
            except StoreUnavailable as exc:
                raise HTTPException(
                    status.HTTP_503_SERVICE_UNAVAILABLE,
                    detail={"code": "store-unavailable", "message": "the editorial store is not reachable"},
                ) from exc
            _stores[(url, str(pack))] = store
        return store


def _error(exc: EditorialError) -> HTTPException:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return HTTPException(
        exc.status, detail={"code": exc.code, "message": exc.message, "problems": exc.problems}, headers=headers
    )


StoreDep = Annotated[EditorialStore, Depends(get_store)]


def current_actor(
    store: StoreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    try:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
        return store.authenticate(credentials.credentials)
    except EditorialError as exc:
        raise _error(exc) from None


ActorDep = Annotated[Actor, Depends(current_actor)]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 422, 503)
}


def _run(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except EditorialError as exc:
        raise _error(exc) from None


# ----- endpoints -------------------------------------------------------------------
@router.get("/me", response_model=Me, responses=ERRORS)
def me(actor: ActorDep) -> Me:
    """Who the token belongs to."""
    return Me(id=actor.id, name=actor.name, role=actor.role)


@router.post("/proposals", response_model=ProposalOut, status_code=201, responses=ERRORS)
def propose(body: ProposeRequest, actor: ActorDep, store: StoreDep) -> Any:
    """Propose a new version of an item (authors and up)."""
    return _run(store.propose, actor, body.kind, body.yaml, body.rationale, body.sources, submit=body.submit)


@router.get("/queue", response_model=list[ProposalOut], responses=ERRORS)
def queue(
    actor: ActorDep,
    store: StoreDep,
    state: Annotated[list[str] | None, Query(description="Filter by state; default submitted and under-review")] = None,
) -> Any:
    """Proposals waiting for review."""
    return _run(store.queue, tuple(state)) if state else _run(store.queue)


@router.get("/proposals/{proposal_id}", response_model=ProposalOut, responses=ERRORS)
def get_proposal(proposal_id: ProposalId, actor: ActorDep, store: StoreDep) -> Any:
    """A proposal with its reviews and a unified diff against the live version."""
    return _run(store.get, proposal_id, with_diff=True)


@router.post("/proposals/{proposal_id}/submit", response_model=ProposalOut, responses=ERRORS)
def submit(proposal_id: ProposalId, actor: ActorDep, store: StoreDep, body: ActionRequest | None = None) -> Any:
    body = body or ActionRequest()
    return _run(store.submit, actor, proposal_id, expected_version=body.expected_version)


@router.post("/proposals/{proposal_id}/start-review", response_model=ProposalOut, responses=ERRORS)
def start_review(proposal_id: ProposalId, actor: ActorDep, store: StoreDep, body: ActionRequest | None = None) -> Any:
    body = body or ActionRequest()
    return _run(store.start_review, actor, proposal_id, expected_version=body.expected_version)


@router.post("/proposals/{proposal_id}/approve", response_model=ProposalOut, responses=ERRORS)
def approve(proposal_id: ProposalId, actor: ActorDep, store: StoreDep, body: ActionRequest | None = None) -> Any:
    """Approve (reviewers and editors; never the author). Goes live once enough reviewers approved."""
    body = body or ActionRequest()
    return _run(store.approve, actor, proposal_id, body.comment, expected_version=body.expected_version)


@router.post("/proposals/{proposal_id}/reject", response_model=ProposalOut, responses=ERRORS)
def reject(proposal_id: ProposalId, actor: ActorDep, store: StoreDep, body: ActionRequest | None = None) -> Any:
    body = body or ActionRequest()
    return _run(store.reject, actor, proposal_id, body.comment, expected_version=body.expected_version)


@router.post("/items/{kind}/{item_id}/retire", response_model=RetireOut, responses=ERRORS)
def retire(kind: Kind, item_id: ItemId, actor: ActorDep, store: StoreDep, body: RetireRequest | None = None) -> Any:
    """Stop serving an item (editors only)."""
    return _run(store.retire, actor, kind, item_id, (body or RetireRequest()).comment)


@router.get("/history", response_model=list[AuditOut], responses=ERRORS)
def history(
    actor: ActorDep,
    store: StoreDep,
    proposal_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    item_id: Annotated[str | None, Query(max_length=120)] = None,
) -> Any:
    """The audit log: of one proposal, of one item (kind and item_id), or all."""
    if (kind is None) != (item_id is None):
        raise _error(EditorialError("give both kind and item_id, or neither"))
    return _run(store.history, proposal_id=proposal_id, kind=kind, item_id=item_id)
