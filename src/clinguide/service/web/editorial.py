"""The editorial review desk (``/editorial``): sign-in and web sessions, CSRF, the queue, proposals, history.

The browser holds only an opaque session id (a cookie scoped to ``/editorial``); the bearer token is
typed once at sign-in and never stored in the browser. Every form post carries a per-session CSRF token.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clinguide.editorial.workflow import Actor, EditorialError, EditorialStore, Unauthorized
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.service.editorial_api import get_store
from clinguide.service.web.common import OptionalKb, PageError, ensure_overlay, first, page_router, read_form, render
from clinguide.service.web.proposal_view import citation, diff_lines, readable_changes
from clinguide.settings import get_settings

log = logging.getLogger("clinguide.web")

COOKIE_SESSION = "clinguide_session"  # an opaque web-session id; the bearer token never goes in a cookie
COOKIE_LEGACY_TOKEN = "clinguide_editor"  # the raw-token cookie of earlier versions: cleared on sight
DONE_NOTICES = {"approve": "approved", "reject": "rejected", "start-review": "review started"}

router = page_router("editorial")


# ----- dependencies ----------------------------------------------------------------------
def page_store() -> EditorialStore:
    """Dependency: the editorial store the REST API uses (one per database URL and pack); a 503 page without it."""
    try:
        store = get_store()
    except HTTPException as exc:
        raise PageError(503, "Editorial store unavailable", "The editorial database could not be opened.") from exc
    ensure_overlay()
    return store


StoreDep = Annotated[EditorialStore, Depends(page_store)]


@dataclass(frozen=True)
class Editor:
    """The browser's editorial standing: the store, the signed-in actor (None when not signed in), the session."""

    store: EditorialStore
    actor: Actor | None
    session_id: str | None

    @property
    def csrf(self) -> str:
        return csrf_token(self.session_id or "")


def signed_in_editor(request: Request, store: StoreDep) -> Editor:
    """Dependency: who is signed in, from the session cookie (an ended or unknown session is nobody)."""
    session_id = request.cookies.get(COOKIE_SESSION)
    if not session_id:
        return Editor(store, None, None)
    try:
        return Editor(store, store.session_actor(session_id), session_id)
    except Unauthorized:
        return Editor(store, None, None)
    except Exception as exc:
        raise editorial_error(exc) from exc


EditorDep = Annotated[Editor, Depends(signed_in_editor)]


# ----- helpers -----------------------------------------------------------------------------
def csrf_token(session_id: str) -> str:
    """A per-session form token: an HMAC keyed by the (secret, opaque) session id."""
    return hmac.new(session_id.encode("utf-8"), b"clinguide-web-form", hashlib.sha256).hexdigest()[:32]


def _is_https(request: Request) -> bool:
    """Served over https (directly, or behind a proxy whose X-Forwarded-Proto uvicorn trusts)."""
    return request.url.scheme == "https"


def editorial_error(exc: Exception) -> PageError:
    """A refused editorial operation as the page shows it; anything unexpected is logged and shown as a 500."""
    if isinstance(exc, PageError):
        return exc
    if isinstance(exc, EditorialError):
        message = exc.message + ("" if not exc.problems else " — " + "; ".join(exc.problems[:5]))
        return PageError(exc.status, "Not done", message)
    log.exception("editorial action failed")
    return PageError(500, "Something went wrong", "The action could not be completed. It has been logged.")


def _signin(request: Request, message: str | None = None, status: int = 200) -> HTMLResponse:
    context: dict[str, Any] = {"nav": "editorial", "title": "Editorial sign in", "error": None}
    context["idle_minutes"] = get_settings().editorial_session_idle_minutes
    if message:
        context["error"] = {"title": "Not signed in", "message": message}
    response = render(request, "editorial_signin.html", context, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _editorial_page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    context.setdefault("nav", "editorial")
    response = render(request, template, context, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _proposal_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 12:
        raise PageError(404, "Proposal not found", f"'{raw[:40]}' is not a proposal number.")
    return int(raw)


def _proposal_context(store: EditorialStore, pid: int, kb: KnowledgeBase | None) -> dict[str, Any]:
    proposal = store.get(pid, with_diff=True)
    return {
        "proposal": proposal,
        "changes": readable_changes(proposal, kb),
        "cited": [citation(kb, i) for i in proposal.get("sources") or []],
        "diff": diff_lines(proposal.get("diff") or ""),
        "history": store.history(proposal_id=pid),
        "title": f"Proposal {pid}",
    }


# ----- sign-in and sessions ------------------------------------------------------------------
@router.get("/editorial", response_class=HTMLResponse, name="editorial")
def editorial_home(request: Request, editor: EditorDep) -> HTMLResponse:
    if editor.actor is None:
        ended = "Your session has ended; sign in again." if request.cookies.get(COOKIE_SESSION) else None
        return _signin(request, ended)
    try:
        queue = editor.store.queue()
        recent = editor.store.queue(("approved", "rejected"))[-10:][::-1]
    except Exception as exc:
        raise editorial_error(exc) from exc
    return _editorial_page(
        request,
        "editorial_queue.html",
        {"title": "Review queue", "actor": editor.actor, "csrf": editor.csrf, "queue": queue, "recent": recent},
    )


@router.post("/editorial/signin", response_class=HTMLResponse)
async def editorial_signin(request: Request, store: StoreDep) -> Response:
    form = await read_form(request)
    token = first(form, "token")
    if not token:
        return _signin(request, "Enter your editorial token.", 422)
    if len(token) > 500:
        return _signin(request, "That token is too long to be valid.", 401)
    try:
        _actor_signed_in, session_id = store.start_session(token)
    except Unauthorized:
        return _signin(request, "That token is not valid: unknown, expired or revoked, or its user is inactive.", 401)
    except Exception as exc:
        raise editorial_error(exc) from exc
    response = RedirectResponse("/editorial", status_code=303)
    response.set_cookie(
        COOKIE_SESSION, session_id, httponly=True, samesite="strict", secure=_is_https(request), path="/editorial"
    )
    response.delete_cookie(COOKIE_LEGACY_TOKEN, path="/editorial")
    return response


@router.post("/editorial/signout")
async def editorial_signout(request: Request) -> Response:
    """End the server-side session (so a copied cookie is dead too), then clear the cookie."""
    session_id = request.cookies.get(COOKIE_SESSION)
    if session_id:
        with contextlib.suppress(Exception):  # signing out must always clear the browser's cookie
            page_store().end_session(session_id)
    response = RedirectResponse("/editorial", status_code=303)
    response.delete_cookie(COOKIE_SESSION, path="/editorial", secure=_is_https(request), httponly=True,
                           samesite="strict")
    response.delete_cookie(COOKIE_LEGACY_TOKEN, path="/editorial")
    return response


# ----- proposals and history -------------------------------------------------------------------
@router.get("/editorial/proposals/{raw_id}", response_class=HTMLResponse, name="proposal")
def editorial_proposal(request: Request, raw_id: str, editor: EditorDep, kb: OptionalKb) -> HTMLResponse:
    if editor.actor is None:
        return _signin(request, "Sign in to see proposals.", 401)
    pid = _proposal_id(raw_id)
    try:
        context = _proposal_context(editor.store, pid, kb)
    except Exception as exc:
        raise editorial_error(exc) from exc
    # only known outcomes are shown: the query string is not a place to put words on this page
    notice = DONE_NOTICES.get(request.query_params.get("done", ""))
    context.update(actor=editor.actor, csrf=editor.csrf, notice=notice)
    return _editorial_page(request, "editorial_proposal.html", context)


@router.post("/editorial/proposals/{raw_id}", response_class=HTMLResponse)
async def editorial_decide(request: Request, raw_id: str, editor: EditorDep, kb: OptionalKb) -> Response:
    if editor.actor is None:
        return _signin(request, "Your session has ended; sign in again.", 401)
    pid = _proposal_id(raw_id)
    form = await read_form(request)
    if not hmac.compare_digest(first(form, "csrf"), editor.csrf):
        raise PageError(403, "Form expired", "Reload the page and try again.")
    decision = first(form, "decision")
    comment = first(form, "comment")[:2000]
    version = first(form, "version")
    expected = int(version) if version.isdigit() else None
    store, actor = editor.store, editor.actor
    try:
        if decision not in ("approve", "reject", "start-review"):
            raise PageError(422, "Please check the form", "decision: choose approve or reject.")
        if decision == "reject" and not comment:
            raise PageError(422, "Please check the form", "comment: say why the proposal is rejected.")
        proposal = store.get(pid)
        if proposal["state"] == "submitted" and decision in ("approve", "reject", "start-review"):
            store.start_review(actor, pid, expected_version=expected)
            expected = None
        if decision == "approve":
            store.approve(actor, pid, comment=comment, expected_version=expected)
        elif decision == "reject":
            store.reject(actor, pid, comment=comment, expected_version=expected)
    except Exception as exc:
        return _decision_error(request, editor, pid, editorial_error(exc), kb)
    return RedirectResponse(f"/editorial/proposals/{pid}?done={decision}", status_code=303)


def _decision_error(request: Request, editor: Editor, pid: int, err: PageError, kb: KnowledgeBase | None) -> Response:
    """The proposal page again, with the reason the decision was not taken."""
    try:
        context = _proposal_context(editor.store, pid, kb)
    except Exception:
        raise err from None
    context.update(actor=editor.actor, csrf=editor.csrf, error={"title": err.title, "message": err.message})
    return _editorial_page(request, "editorial_proposal.html", context, err.status)


@router.get("/editorial/history", response_class=HTMLResponse, name="history")
def editorial_history(request: Request, editor: EditorDep) -> HTMLResponse:
    if editor.actor is None:
        return _signin(request, "Sign in to see the history.", 401)
    try:
        entries = editor.store.history()[::-1][:200]
    except Exception as exc:
        raise editorial_error(exc) from exc
    context = {"title": "History", "actor": editor.actor, "csrf": editor.csrf, "entries": entries}
    return _editorial_page(request, "editorial_history.html", context)
