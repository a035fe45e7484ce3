"""What every web page shares: templates, the CSP, rendering, page errors, form reading and citations.

A page (or one of its dependencies) raises ``PageError``; the routers made by ``page_router``
turn it into the error page with the page area's navigation, so no traceback reaches a reader.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from clinguide.editorial import overlay
from clinguide.errors import InputError, describe_validation_error
from clinguide.kb import get_kb
from clinguide.kb.knowledge import KnowledgeBase

log = logging.getLogger("clinguide.web")

SERVICE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = SERVICE_DIR / "templates"
STATIC_DIR = SERVICE_DIR / "static"
HTMX_FILE = next(iter(sorted(STATIC_DIR.glob("htmx-*.min.js"))), None)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def cite_numbers(ids: Iterable[str], numbers: dict[str, int]) -> list[int]:
    """Sorted, distinct reference numbers of source ids (ids without a number are left out)."""
    return sorted({numbers[i] for i in ids if i in numbers})


templates.env.globals["cite_numbers"] = cite_numbers


# ----- page errors -------------------------------------------------------------------
class PageError(Exception):
    """A problem to show on the page: status code, title and a plain-language message."""

    def __init__(self, status: int, title: str, message: str):
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def page_router(nav: str) -> APIRouter:
    """A router of one page area: a PageError raised by a page or its dependencies becomes the error page."""

    class PageRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                try:
                    return await handler(request)
                except PageError as err:
                    return error_page(request, err, nav)

            return guarded

    return APIRouter(include_in_schema=False, route_class=PageRoute)


# ----- rendering ---------------------------------------------------------------------
def render(
    request: Request, template: str, context: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> HTMLResponse:
    context.setdefault("nav", "")
    context.setdefault("htmx_file", HTMX_FILE.name if HTMX_FILE else None)
    response = templates.TemplateResponse(request, template, context, status_code=status, headers=headers)
    secure(response)
    return response


def secure(response: Response) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")


def error_page(request: Request, err: PageError, nav: str = "") -> HTMLResponse:
    context = {"title": err.title, "message": err.message, "status": err.status, "nav": nav}
    return render(request, "error.html", context, err.status)


def is_htmx(request: Request) -> bool:
    """An htmx swap (the answer only), not a boosted navigation (the whole page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def nice_date(value: str | dt.date | None) -> str | None:
    if not value:
        return None
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{day.day} {day.strftime('%B %Y')}"


# ----- the knowledge base and the engines ------------------------------------------------
def ensure_overlay() -> None:
    """Serve approved editorial versions when a store exists (what the service start-up is meant to do)."""
    if not overlay.is_installed():
        try:
            overlay.install_if_configured()
        except Exception:
            log.exception("editorial overlay not installed")


def page_kb() -> KnowledgeBase:
    """Dependency: the knowledge base being served; a 503 page when the pack does not load."""
    ensure_overlay()
    try:
        return get_kb()
    except Exception as exc:  # the pack failed to load: say so instead of a traceback
        log.exception("knowledge pack unavailable")
        raise PageError(
            503, "Knowledge pack unavailable", "The knowledge pack could not be loaded; please try again later."
        ) from exc


def optional_kb() -> KnowledgeBase | None:
    """Dependency: the knowledge base, or None when it does not load (for pages that can do without)."""
    try:
        return page_kb()
    except PageError:
        return None


PageKb = Annotated[KnowledgeBase, Depends(page_kb)]
OptionalKb = Annotated[KnowledgeBase | None, Depends(optional_kb)]


def input_message(exc: BaseException, what: str) -> str:
    if isinstance(exc, ValidationError):
        return describe_validation_error(exc, what)
    return str(exc)


def run_engine(engine: Callable[..., Any], what: str, *args: Any, **kwargs: Any) -> Any:
    """Call an engine; input errors become a 422 page message, anything else a 500 page (logged)."""
    try:
        return engine(*args, **kwargs)
    except PageError:
        raise
    except (InputError, ValidationError) as exc:
        raise PageError(422, "Please check the form", input_message(exc, what)) from exc
    except Exception as exc:
        log.exception("%s failed", getattr(engine, "__name__", "engine"))
        raise PageError(500, "Something went wrong", "The request could not be completed. It has been logged.") from exc


# ----- forms ---------------------------------------------------------------------------
def split_list(value: str | None) -> list[str]:
    """Comma or newline separated text to a list."""
    return [part.strip() for part in re.split(r"[,\n;]", value or "") if part.strip()]


def first(form: Any, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


async def read_form(request: Request) -> Any:
    try:
        return await request.form()
    except Exception as exc:
        raise PageError(400, "Unreadable form", "The form could not be read; please submit it again.") from exc


# ----- references ----------------------------------------------------------------------
def source_numbering(ids: Iterable[str]) -> dict[str, int]:
    numbers: dict[str, int] = {}
    for source_id in ids:
        if source_id not in numbers:
            numbers[source_id] = len(numbers) + 1
    return numbers


def references(kb: KnowledgeBase | None, numbers: dict[str, int], given: Iterable[Any] = ()) -> list[dict[str, Any]]:
    """Numbered reference entries for source ids, using SourceRef objects when the engine provides them."""
    by_id = {ref.id: ref for ref in given}
    out = []
    for source_id, n in numbers.items():
        ref = by_id.get(source_id)
        source = kb.sources.get(source_id) if kb is not None else None
        citation = ref.citation if ref else (source.citation if source else source_id)
        url = (ref.url if ref else None) or (source.url if source else None)
        out.append({"n": n, "id": source_id, "citation": citation, "url": url})
    return out


def sorted_findings(findings: Iterable[Any]) -> list[Any]:
    return sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))
