"""Server-rendered web pages: ask, assess, check, drug monographs and the editorial review desk.

Plain HTML forms that work without JavaScript; htmx (vendored under ``static/``) only swaps the
answer in place and keeps the URL shareable. Every page is rendered by Jinja2 with autoescaping;
bad input becomes a message on the page with a 4xx status, never a traceback.

The router serves its own static files (``/static/{name}``) so the app factory needs nothing
but ``app.include_router(router)``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from clinguide.contracts import Case, Order

if TYPE_CHECKING:
    from fastapi import FastAPI

    from clinguide.kb.knowledge import KnowledgeBase

log = logging.getLogger("clinguide.web")

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
HTMX_FILE = next(iter(sorted(STATIC_DIR.glob("htmx-*.min.js"))), None)

AUDIENCES = ("clinician", "patient")
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
SETTINGS = (("back-spasm", "Back spasm"), ("post-spinal-fusion", "After spinal fusion"))
SURGERY_PHASES = (("pre-op", "Before surgery"), ("intra-op", "During surgery"), ("post-op", "After surgery"))
SPASM = ("none", "mild", "moderate", "severe")
ALCOHOL = ("none", "moderate", "heavy")
SEXES = ("female", "male", "other", "unknown")
MED_ROWS = 4
MAX_QUESTION = 500
VERDICT_WORDS = {
    "consider-short-term": "May be considered — short term only",
    "not-yet": "Not yet",
    "not-recommended": "Not recommended",
    "avoid": "Avoid",
}
VERDICT_TONE = {"consider-short-term": "info", "not-yet": "warning", "not-recommended": "warning", "avoid": "critical"}
CHECK_VERDICT_WORDS = {
    "ok": "No problems found",
    "caution": "Use with caution",
    "do-not-prescribe": "Do not prescribe",
    "cannot-assess": "Cannot assess",
}
URGENT_WORDS = {
    "emergency": "emergency care now",
    "same-day": "assessment today",
    "contact-surgical-team": "contact the surgical team now",
}
CHECK_VERDICT_TONE = {"ok": "ok", "caution": "warning", "do-not-prescribe": "critical", "cannot-assess": "warning"}
POPULATION_WORDS = {
    "adult": "Adults",
    "older-adult": "Older adults",
    "hepatic-impairment": "Hepatic impairment",
    "severe-hepatic-impairment": "Severe hepatic impairment",
    "renal-impairment": "Renal impairment",
    "severe-renal-impairment": "Severe renal impairment",
}
EXAMPLE_QUESTIONS = (
    "Should I take Valium for back spasm?",
    "What is the role of diazepam after spinal fusion?",
    "Which muscle relaxant is preferred for acute low back pain?",
    "How long can diazepam be used for muscle spasm?",
)
COOKIE_SESSION = "clinguide_session"  # an opaque web-session id; the bearer token never goes in a cookie
COOKIE_LEGACY_TOKEN = "clinguide_editor"  # the raw-token cookie of earlier versions: cleared on sight
COOKIE_AUDIENCE = "clinguide_audience"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def _cite_numbers(ids: Iterable[str], numbers: dict[str, int]) -> list[int]:
    """Sorted, distinct reference numbers of source ids (ids without a number are left out)."""
    return sorted({numbers[i] for i in ids if i in numbers})


templates.env.globals["cite_numbers"] = _cite_numbers


# ----- helpers -----------------------------------------------------------------
class PageError(Exception):
    """A problem to show on the page: status code, title and a plain-language message."""

    def __init__(self, status: int, title: str, message: str):
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def _is_input_error(exc: BaseException) -> bool:
    """InputError from clinguide.errors or any engine's own InputError, or a pydantic ValidationError."""
    return isinstance(exc, ValidationError) or any(cls.__name__ == "InputError" for cls in type(exc).__mro__)


def _input_message(exc: BaseException, what: str) -> str:
    if isinstance(exc, ValidationError):
        from clinguide.errors import describe_validation_error

        return describe_validation_error(exc, what)
    return str(exc)


def _ensure_overlay() -> None:
    """Serve approved editorial versions when a store exists (what the service start-up is meant to do)."""
    try:
        from clinguide.editorial import overlay
    except ImportError:
        return
    if overlay._installed is None:
        try:
            overlay.install_if_configured()
        except Exception:
            log.exception("editorial overlay not installed")


def _kb() -> KnowledgeBase:
    from clinguide.kb import get_kb

    _ensure_overlay()
    try:
        return get_kb()
    except Exception as exc:  # the pack failed to load: say so instead of a traceback
        log.exception("knowledge pack unavailable")
        raise PageError(
            503, "Knowledge pack unavailable", "The knowledge pack could not be loaded; please try again later."
        ) from exc


def _engine(name: str) -> Callable[..., Any]:
    import clinguide

    try:
        return getattr(clinguide, name)
    except (ImportError, AttributeError) as exc:
        log.exception("engine %s unavailable", name)
        raise PageError(503, "Not available yet", f"The {name} engine is not available in this build.") from exc


def _run(name: str, what: str, *args: Any, **kwargs: Any) -> Any:
    """Call an engine; input errors become a 422 page message, anything else a 500 page (logged)."""
    func = _engine(name)
    try:
        return func(*args, **kwargs)
    except PageError:
        raise
    except Exception as exc:
        if _is_input_error(exc):
            raise PageError(422, "Please check the form", _input_message(exc, what)) from exc
        log.exception("%s failed", name)
        raise PageError(500, "Something went wrong", "The request could not be completed. It has been logged.") from exc


def _nice_date(value: str | dt.date | None) -> str | None:
    if not value:
        return None
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{day.day} {day.strftime('%B %Y')}"


def _split_list(value: str | None) -> list[str]:
    """Comma or newline separated text to a list."""
    return [part.strip() for part in re.split(r"[,\n;]", value or "") if part.strip()]


def _first(form: Any, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _render(
    request: Request, template: str, context: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> HTMLResponse:
    context.setdefault("nav", "")
    context.setdefault("htmx_file", HTMX_FILE.name if HTMX_FILE else None)
    response = templates.TemplateResponse(request, template, context, status_code=status, headers=headers)
    _secure(response)
    return response


def _secure(response: Response) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")


def _error_page(request: Request, err: PageError, nav: str = "") -> HTMLResponse:
    context = {"title": err.title, "message": err.message, "status": err.status, "nav": nav}
    return _render(request, "error.html", context, err.status)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def _source_numbering(ids: Iterable[str]) -> dict[str, int]:
    numbers: dict[str, int] = {}
    for source_id in ids:
        if source_id not in numbers:
            numbers[source_id] = len(numbers) + 1
    return numbers


def _references(kb: KnowledgeBase | None, numbers: dict[str, int], given: Iterable[Any] = ()) -> list[dict[str, Any]]:
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


# ----- static files ------------------------------------------------------------
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".txt": "text/plain"}


@router.get("/static/{name}", name="static")
def static_file(name: str) -> Response:
    """Files of ``static/`` only (no sub-paths); versioned names may be cached for long."""
    path = STATIC_DIR / name
    if "/" in name or name.startswith(".") or path.suffix not in _STATIC_TYPES or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    response = FileResponse(path, media_type=_STATIC_TYPES[path.suffix])
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def mount_static(app: FastAPI) -> None:
    """Not needed: the router serves ``/static/{name}`` itself. Kept for app factories that prefer a mount."""
    from fastapi.staticfiles import StaticFiles

    if not any(getattr(r, "path", None) == "/static" for r in app.routes):
        app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static-files")


# ----- ask ---------------------------------------------------------------------
def _audience(request: Request, given: str | None) -> tuple[str | None, str | None]:
    """(audience, problem): the query value, else the remembered cookie, else None (we ask; no silent default)."""
    if given:
        if given in AUDIENCES:
            return given, None
        return None, f"'{given}' is not an audience; choose clinician or patient."
    remembered = request.cookies.get(COOKIE_AUDIENCE)
    return (remembered if remembered in AUDIENCES else None), None


def _article_view(article: Any, full: bool) -> dict[str, Any]:
    """What the ask page shows besides the Article itself (the same view the standalone page renders)."""
    from clinguide.render.article import article_view

    return {
        **article_view(article, full),
        "last_updated": _nice_date(article.review.last_updated),
        "last_updated_iso": str(article.review.last_updated)[:10] if article.review.last_updated else None,
        "printed_on": _nice_date(dt.date.today()),
    }


@router.get("/", response_class=HTMLResponse, name="ask")
def ask_page(
    request: Request, q: str | None = None, audience: str | None = None, full: str | None = None
) -> HTMLResponse:
    question = (q or "").strip()
    chosen, problem = _audience(request, audience)
    show_full = full in ("1", "true", "yes")
    context: dict[str, Any] = {
        "nav": "ask",
        "question": question,
        "audience": chosen,
        "audiences": AUDIENCES,
        "examples": EXAMPLE_QUESTIONS,
        "article": None,
        "error": None,
        "need_audience": False,
        "title": question or "Ask a question",
    }
    status = 200
    if problem:
        context["error"] = {"title": "Please check the form", "message": problem}
        status = 422
    elif len(question) > MAX_QUESTION:
        context["error"] = {
            "title": "Question too long",
            "message": f"Please keep the question under {MAX_QUESTION} characters (it has {len(question)}).",
        }
        status = 422
    elif question and chosen is None:
        context["need_audience"] = True  # asked before the first answer: patients must not get the clinician text
    elif question:
        try:
            article = _run("ask", "question", question, audience=chosen)
            context["article"] = article
            context.update(_article_view(article, show_full))
            context["switch_url"] = {a: "/?" + urlencode({"q": question, "audience": a}) for a in AUDIENCES}
            context["full_url"] = "/?" + urlencode({"q": question, "audience": chosen, "full": "1"})
        except PageError as err:
            context["error"] = {"title": err.title, "message": err.message}
            status = err.status
    context["partial"] = _is_htmx(request)
    template = "_answer.html" if context["partial"] else "ask.html"
    response = _render(request, template, context, status)
    if audience in AUDIENCES:
        response.set_cookie(COOKIE_AUDIENCE, audience, max_age=60 * 60 * 24 * 365, samesite="lax", httponly=True)
    return response


# ----- case forms ----------------------------------------------------------------
def _form_options(kb: KnowledgeBase) -> dict[str, Any]:
    return {
        "settings": SETTINGS,
        "surgery_phases": SURGERY_PHASES,
        "spasm_levels": SPASM,
        "alcohol_levels": ALCOHOL,
        "sexes": SEXES,
        "therapies": sorted(((t.id, t.name) for t in kb.therapies.values()), key=lambda x: x[1].lower()),
        "conditions": sorted(((c.id, c.name) for c in kb.conditions.values()), key=lambda x: x[1].lower()),
        "drug_names": _drug_names(kb),
        "med_rows": MED_ROWS,
    }


def _drug_names(kb: KnowledgeBase) -> list[str]:
    cached = getattr(kb, "_web_drug_names", None)
    if cached is None:
        names = set()
        for drug in kb.drugs.values():
            names.add(drug.name)
            names.update(drug.brands)
        cached = sorted(names, key=str.lower)
        with contextlib.suppress(AttributeError, TypeError):
            object.__setattr__(kb, "_web_drug_names", cached)
    return cached


def _case_from_form(form: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(case dict for the engine, values to re-fill the form). Empty fields are left out."""
    values: dict[str, Any] = {
        key: _first(form, key)
        for key in (
            "setting",
            "age",
            "sex",
            "pregnant",
            "symptom_days",
            "surgery_phase",
            "hours_since_surgery",
            "pain_score",
            "spasm",
            "alcohol",
            "other_conditions",
            "symptoms",
            "allergies",
        )
    }
    values["tried"] = [v for v in form.getlist("tried") if isinstance(v, str) and v.strip()]
    values["conditions"] = [v for v in form.getlist("conditions") if isinstance(v, str) and v.strip()]
    values["medications"] = [v.strip() for v in form.getlist("medications") if isinstance(v, str) and v.strip()]
    case: dict[str, Any] = {}
    for key in ("setting", "age", "sex", "symptom_days", "surgery_phase", "hours_since_surgery", "pain_score"):
        if values[key]:
            case[key] = values[key]
    for key in ("spasm", "alcohol"):
        if values[key]:
            case[key] = values[key]
    if values["pregnant"] in ("yes", "no"):
        case["pregnant"] = values["pregnant"] == "yes"
    if values["setting"] == "post-spinal-fusion":
        case.pop("symptom_days", None)
    else:
        case.pop("surgery_phase", None)
        case.pop("hours_since_surgery", None)
    conditions = values["conditions"] + _split_list(values["other_conditions"])
    if conditions:
        case["conditions"] = conditions
    if values["tried"]:
        case["tried"] = values["tried"]
    if values["medications"]:
        case["medications"] = values["medications"]
    allergies = _split_list(values["allergies"])
    if allergies:
        case["allergies"] = allergies
    symptoms = _split_list(values["symptoms"])
    if symptoms:
        case["symptoms"] = symptoms
    return case, values


def _validate_case(case: dict[str, Any]) -> None:
    try:
        Case.model_validate(case)
    except ValidationError as exc:
        raise PageError(422, "Please check the form", _input_message(exc, "case")) from exc


async def _form(request: Request) -> Any:
    try:
        return await request.form()
    except Exception as exc:
        raise PageError(400, "Unreadable form", "The form could not be read; please submit it again.") from exc


# ----- assess ------------------------------------------------------------------
@router.get("/assess", response_class=HTMLResponse, name="assess")
def assess_form(request: Request) -> HTMLResponse:
    try:
        kb = _kb()
    except PageError as err:
        return _error_page(request, err, "assess")
    context = {"nav": "assess", "title": "Assess a patient", "values": {"setting": "back-spasm"}, "plan": None}
    context.update(_form_options(kb))
    return _render(request, "assess.html", context)


@router.post("/assess", response_class=HTMLResponse)
async def assess_submit(request: Request) -> HTMLResponse:
    try:
        kb = _kb()
        form = await _form(request)
    except PageError as err:
        return _error_page(request, err, "assess")
    case, values = _case_from_form(form)
    context: dict[str, Any] = {"nav": "assess", "title": "Assess a patient", "values": values, "plan": None}
    context.update(_form_options(kb))
    status = 200
    try:
        _validate_case(case)
        plan = _run("assess", "case", case)
        numbers = _source_numbering(s.id for s in plan.sources)
        context.update(
            plan=plan,
            cite=numbers,
            refs=_references(kb, numbers, plan.sources),
            verdict_words=VERDICT_WORDS,
            verdict_tone=VERDICT_TONE,
            urgent_words=URGENT_WORDS,
            findings=_sorted_findings(plan.findings),
            case=case,
            today=dt.date.today().isoformat(),
            title="Plan",
        )
    except PageError as err:
        context["error"] = {"title": err.title, "message": err.message}
        status = err.status
    template = "_plan.html" if _is_htmx(request) else "assess.html"
    return _render(request, template, context, status)


# ----- check -------------------------------------------------------------------
def _sorted_findings(findings: Iterable[Any]) -> list[Any]:
    return sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))


def _order_from_form(form: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    values = {key: _first(form, key) for key in ("mode", "sig", "drug", "dose", "frequency", "days", "route", "prn")}
    mode = values["mode"] if values["mode"] in ("sig", "fields") else ("sig" if values["sig"] else "fields")
    values["mode"] = mode
    order: dict[str, Any] = {}
    if mode == "sig":
        if values["sig"]:
            order["sig"] = values["sig"]
    else:
        for key in ("drug", "dose", "frequency", "days", "route"):
            if values[key]:
                order[key] = values[key]
        if values["prn"] == "on":
            order["prn"] = True
    return order, values


@router.get("/check", response_class=HTMLResponse, name="check")
def check_form(request: Request) -> HTMLResponse:
    try:
        kb = _kb()
    except PageError as err:
        return _error_page(request, err, "check")
    context = {
        "nav": "check",
        "title": "Check a prescription",
        "values": {"setting": "back-spasm", "mode": "sig"},
        "order_values": {"mode": "sig", "route": "oral"},
        "result": None,
    }
    context.update(_form_options(kb))
    return _render(request, "check.html", context)


@router.post("/check", response_class=HTMLResponse)
async def check_submit(request: Request) -> HTMLResponse:
    try:
        kb = _kb()
        form = await _form(request)
    except PageError as err:
        return _error_page(request, err, "check")
    case, values = _case_from_form(form)
    order, order_values = _order_from_form(form)
    context: dict[str, Any] = {
        "nav": "check",
        "title": "Check a prescription",
        "values": values,
        "order_values": order_values,
        "result": None,
    }
    context.update(_form_options(kb))
    status = 200
    try:
        if not order:
            field = "sig line" if order_values["mode"] == "sig" else "drug"
            raise PageError(422, "Please check the form", f"order: enter a {field} to check.")
        try:
            Order.model_validate(order)
        except ValidationError as exc:
            raise PageError(422, "Please check the form", _input_message(exc, "order")) from exc
        _validate_case(case)
        result = _run("check", "order", order, case)
        numbers = _source_numbering(s.id for s in result.sources)
        for finding in result.findings:
            for source_id in finding.sources:
                numbers.setdefault(source_id, len(numbers) + 1)
        context.update(
            result=result,
            findings=_sorted_findings(result.findings),
            cite=numbers,
            refs=_references(kb, numbers, result.sources),
            verdict_words=CHECK_VERDICT_WORDS,
            verdict_tone=CHECK_VERDICT_TONE,
            case=case,
            today=dt.date.today().isoformat(),
            title="Check result",
        )
    except PageError as err:
        context["error"] = {"title": err.title, "message": err.message}
        status = err.status
    template = "_findings.html" if _is_htmx(request) else "check.html"
    return _render(request, template, context, status)


# ----- drugs -------------------------------------------------------------------
@router.get("/drugs", response_class=HTMLResponse, name="drugs")
def drug_index(request: Request) -> HTMLResponse:
    try:
        kb = _kb()
    except PageError as err:
        return _error_page(request, err, "drugs")
    monographs = sorted((d for d in kb.drugs.values() if d.role == "monograph"), key=lambda d: d.name.lower())
    agents = sorted((d for d in kb.drugs.values() if d.role != "monograph"), key=lambda d: d.name.lower())
    return _render(
        request,
        "drugs.html",
        {"nav": "drugs", "title": "Drugs", "monographs": monographs, "agents": agents, "classes": kb.classes},
    )


def _interactions_for(kb: KnowledgeBase, drug_id: str) -> list[dict[str, Any]]:
    classes = kb.drug_classes(drug_id)
    ingredients = set(kb.ingredients(drug_id))

    def hits(selector: Any) -> bool:
        return bool(ingredients & set(selector.drugs) or drug_id in selector.drugs or classes & set(selector.classes))

    def names(selector: Any) -> str:
        parts = [kb.drugs[d].name if d in kb.drugs else d for d in selector.drugs]
        parts += [kb.classes[c].name if c in kb.classes else c for c in selector.classes]
        return ", ".join(parts)

    out = []
    for rule in kb.interactions:
        if hits(rule.order):
            other = rule.other
        elif rule.symmetric and hits(rule.other):
            other = rule.order
        else:
            continue
        out.append({"rule": rule, "with": names(other)})
    out.sort(key=lambda x: SEVERITY_ORDER.get(x["rule"].severity, 3))
    return out


@router.get("/drugs/{drug_id}", response_class=HTMLResponse, name="drug")
def drug_page(request: Request, drug_id: str) -> Response:
    from clinguide.kb.placeholders import describe_daily_max, describe_dose, frequency

    try:
        kb = _kb()
    except PageError as err:
        return _error_page(request, err, "drugs")
    drug = kb.drugs.get(drug_id)
    if drug is None:
        match = kb.resolve_drug(drug_id, fuzzy=False) if len(drug_id) <= 100 else None
        if match is not None:
            return RedirectResponse(f"/drugs/{match.id}", status_code=308)
        return _error_page(
            request,
            PageError(404, "Drug not found", f"There is no drug '{drug_id[:100]}' in the knowledge pack."),
            "drugs",
        )
    rows = []
    cited: list[str] = []
    for rule in drug.dosing:
        cited += rule.sources
        rows.append(
            {
                "population": POPULATION_WORDS.get(rule.population, rule.population),
                "formulation": rule.formulation,
                "indication": rule.indication,
                "dose": describe_dose(rule) if rule.single_dose_mg else (frequency(rule) or "—"),
                "daily_max": describe_daily_max(rule) if rule.max_daily_mg else "—",
                "notes": [kb.render(x) for x in (rule.start, rule.titration, rule.note) if x],
                "sources": rule.sources,
                "evidence": rule.evidence,
            }
        )
    contraindications = [r for r in drug.condition_rules if r.code == "contraindicated-condition"]
    cautions = [r for r in drug.condition_rules if r.code != "contraindicated-condition"]
    interactions = _interactions_for(kb, drug.id)
    facts: list[Any] = [drug.duration_limit, drug.taper, drug.hypersensitivity, drug.older_adults]
    facts += [drug.pregnancy, drug.lactation, drug.schedule, *drug.adverse_effects]
    for item in facts + drug.condition_rules + drug.setting_rules + drug.first_line:
        if item is not None:
            cited += item.sources
    for entry in interactions:
        cited += entry["rule"].sources
    cited += drug.sources
    numbers = _source_numbering(cited)

    def condition_names(ids: list[str]) -> str:
        return ", ".join(kb.conditions[c].name if c in kb.conditions else c for c in ids)

    context = {
        "nav": "drugs",
        "title": drug.name,
        "drug": drug,
        "classes": [kb.classes[c].name if c in kb.classes else c for c in sorted(kb.drug_classes(drug.id))],
        "components": [kb.drugs[c].name if c in kb.drugs else c for c in drug.components],
        "rows": rows,
        "contraindications": contraindications,
        "cautions": cautions,
        "interactions": interactions,
        "condition_names": condition_names,
        "cite": numbers,
        "refs": _references(kb, numbers),
        "render": kb.render,
        "last_reviewed": _nice_date(drug.review.last_reviewed),
    }
    return _render(request, "drug.html", context)


# ----- editorial ---------------------------------------------------------------
def _store() -> Any:
    """The editorial store the REST API uses (one per database URL and pack)."""
    try:
        from fastapi import HTTPException

        from clinguide.service.editorial_api import get_store
    except ImportError as exc:
        raise PageError(503, "Editorial review unavailable", "The editorial modules are not installed.") from exc
    try:
        store = get_store()
    except HTTPException as exc:
        raise PageError(503, "Editorial store unavailable", "The editorial database could not be opened.") from exc
    _ensure_overlay()
    return store


def _csrf(session_id: str) -> str:
    """A per-session form token: an HMAC keyed by the (secret, opaque) session id."""
    return hmac.new(session_id.encode("utf-8"), b"clinguide-web-form", hashlib.sha256).hexdigest()[:32]


def _actor(request: Request) -> tuple[Any, Any, str | None]:
    """(store, actor or None, session id) of the signed-in browser."""
    store = _store()
    session_id = request.cookies.get(COOKIE_SESSION)
    if not session_id:
        return store, None, None
    from clinguide.editorial.workflow import Unauthorized

    try:
        return store, store.session_actor(session_id), session_id
    except Unauthorized:
        return store, None, None


def _is_https(request: Request) -> bool:
    """Served over https (directly, or behind a proxy whose X-Forwarded-Proto uvicorn trusts)."""
    return request.url.scheme == "https"


def _editorial_error(exc: Exception) -> PageError:
    from clinguide.editorial.workflow import EditorialError

    if isinstance(exc, EditorialError):
        message = exc.message + ("" if not exc.problems else " — " + "; ".join(exc.problems[:5]))
        return PageError(exc.status, "Not done", message)
    log.exception("editorial action failed")
    return PageError(500, "Something went wrong", "The action could not be completed. It has been logged.")


def _signin(request: Request, message: str | None = None, status: int = 200) -> HTMLResponse:
    from clinguide.settings import get_settings

    context: dict[str, Any] = {"nav": "editorial", "title": "Editorial sign in", "error": None}
    context["idle_minutes"] = get_settings().editorial_session_idle_minutes
    if message:
        context["error"] = {"title": "Not signed in", "message": message}
    response = _render(request, "editorial_signin.html", context, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _editorial_page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    context.setdefault("nav", "editorial")
    response = _render(request, template, context, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/editorial", response_class=HTMLResponse, name="editorial")
def editorial_home(request: Request) -> HTMLResponse:
    try:
        store, actor, token = _actor(request)
    except PageError as err:
        return _error_page(request, err, "editorial")
    if actor is None:
        ended = "Your session has ended; sign in again." if request.cookies.get(COOKIE_SESSION) else None
        return _signin(request, ended)
    try:
        queue = store.queue()
        recent = store.queue(("approved", "rejected"))[-10:][::-1]
    except Exception as exc:
        return _error_page(request, _editorial_error(exc), "editorial")
    return _editorial_page(
        request,
        "editorial_queue.html",
        {"title": "Review queue", "actor": actor, "csrf": _csrf(token or ""), "queue": queue, "recent": recent},
    )


@router.post("/editorial/signin", response_class=HTMLResponse)
async def editorial_signin(request: Request) -> Response:
    try:
        form = await _form(request)
        store = _store()
    except PageError as err:
        return _error_page(request, err, "editorial")
    token = _first(form, "token")
    if not token:
        return _signin(request, "Enter your editorial token.", 422)
    if len(token) > 500:
        return _signin(request, "That token is too long to be valid.", 401)
    from clinguide.editorial.workflow import Unauthorized

    try:
        _actor_signed_in, session_id = store.start_session(token)
    except Unauthorized:
        return _signin(request, "That token is not valid: unknown, expired or revoked, or its user is inactive.", 401)
    except Exception as exc:
        return _error_page(request, _editorial_error(exc), "editorial")
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
            _store().end_session(session_id)
    response = RedirectResponse("/editorial", status_code=303)
    response.delete_cookie(COOKIE_SESSION, path="/editorial", secure=_is_https(request), httponly=True,
                           samesite="strict")
    response.delete_cookie(COOKIE_LEGACY_TOKEN, path="/editorial")
    return response


def _proposal_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 12:
        raise PageError(404, "Proposal not found", f"'{raw[:40]}' is not a proposal number.")
    return int(raw)


def _diff_lines(diff: str) -> list[tuple[str, str]]:
    lines = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        lines.append((kind, line))
    return lines


def _citation(source_id: str) -> dict[str, Any]:
    """A source id as a reader sees it: its citation (and link) from the pack, or the id marked unknown."""
    source = None
    with contextlib.suppress(Exception):
        source = _kb().sources.get(source_id)
    if source is None:
        return {"id": source_id, "citation": f"{source_id} (not in the pack's sources)", "url": None}
    return {"id": source_id, "citation": source.citation, "url": source.url}


def _word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """(op, text) runs of a word-level diff: op is 'same', 'del' or 'ins'."""
    import difflib

    old, new = re.findall(r"\s+|\S+", before), re.findall(r"\s+|\S+", after)
    runs: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            runs.append(("same", "".join(old[i1:i2])))
            continue
        if i2 > i1:
            runs.append(("del", "".join(old[i1:i2])))
        if j2 > j1:
            runs.append(("ins", "".join(new[j1:j2])))
    return runs


def _as_yaml(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=80).strip()


def _readable_changes(proposal: dict[str, Any]) -> list[dict[str, Any]]:
    """Field by field, what the proposal changes: texts as word diffs, sources as citations, the rest as YAML."""
    import yaml

    def load(text: str | None) -> dict[str, Any]:
        with contextlib.suppress(yaml.YAMLError):
            doc = yaml.safe_load(text or "")
            if isinstance(doc, dict) and len(doc) == 1:
                (only,) = doc.values()
                if isinstance(only, list) and len(only) == 1 and isinstance(only[0], dict):
                    doc = only[0]
            if isinstance(doc, dict):
                return doc
        return {}

    before = load(proposal.get("before_yaml") if "before_yaml" in proposal else proposal.get("live_yaml"))
    after = load(proposal.get("yaml"))
    changes: list[dict[str, Any]] = []
    for field in [k for k in after if k != "review"] + [k for k in before if k not in after and k != "review"]:
        old, new = before.get(field), after.get(field)
        if old == new:
            continue
        change: dict[str, Any] = {"field": field, "label": field.replace("_", " ").capitalize()}
        if field == "sources" or (field.endswith("sources") and isinstance(new or old, list)):
            old_ids, new_ids = [str(x) for x in old or []], [str(x) for x in new or []]
            change["kind"] = "sources"
            change["added"] = [_citation(i) for i in new_ids if i not in old_ids]
            change["removed"] = [_citation(i) for i in old_ids if i not in new_ids]
            change["kept"] = [_citation(i) for i in new_ids if i in old_ids]
        elif isinstance(old, str | None) and isinstance(new, str | None) and (old or new):
            change["kind"] = "text"
            change["runs"] = _word_diff(old or "", new or "")
        else:
            change["kind"] = "value"
            change["before"] = _as_yaml(old) if old is not None else None
            change["after"] = _as_yaml(new) if new is not None else None
        changes.append(change)
    return changes


def _proposal_context(store: Any, pid: int) -> dict[str, Any]:
    proposal = store.get(pid, with_diff=True)
    return {
        "proposal": proposal,
        "changes": _readable_changes(proposal),
        "cited": [_citation(i) for i in proposal.get("sources") or []],
        "diff": _diff_lines(proposal.get("diff") or ""),
        "history": store.history(proposal_id=pid),
        "title": f"Proposal {pid}",
    }


@router.get("/editorial/proposals/{raw_id}", response_class=HTMLResponse, name="proposal")
def editorial_proposal(request: Request, raw_id: str) -> HTMLResponse:
    try:
        store, actor, token = _actor(request)
        if actor is None:
            return _signin(request, "Sign in to see proposals.", 401)
        pid = _proposal_id(raw_id)
        context = _proposal_context(store, pid)
    except PageError as err:
        return _error_page(request, err, "editorial")
    except Exception as exc:
        return _error_page(request, _editorial_error(exc), "editorial")
    # only known outcomes are shown: the query string is not a place to put words on this page
    notice = {"approve": "approved", "reject": "rejected", "start-review": "review started"}.get(
        request.query_params.get("done", ""))
    context.update(actor=actor, csrf=_csrf(token or ""), notice=notice)
    return _editorial_page(request, "editorial_proposal.html", context)


@router.post("/editorial/proposals/{raw_id}", response_class=HTMLResponse)
async def editorial_decide(request: Request, raw_id: str) -> Response:
    try:
        store, actor, token = _actor(request)
        if actor is None:
            return _signin(request, "Your session has ended; sign in again.", 401)
        pid = _proposal_id(raw_id)
        form = await _form(request)
    except PageError as err:
        return _error_page(request, err, "editorial")
    if not hmac.compare_digest(_first(form, "csrf"), _csrf(token or "")):
        return _error_page(request, PageError(403, "Form expired", "Reload the page and try again."), "editorial")
    decision = _first(form, "decision")
    comment = _first(form, "comment")[:2000]
    version = _first(form, "version")
    expected = int(version) if version.isdigit() else None
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
    except PageError as err:
        return _decision_error(request, store, actor, token, pid, err)
    except Exception as exc:
        return _decision_error(request, store, actor, token, pid, _editorial_error(exc))
    return RedirectResponse(f"/editorial/proposals/{pid}?done={decision}", status_code=303)


def _decision_error(request: Request, store: Any, actor: Any, token: str | None, pid: int, err: PageError) -> Response:
    try:
        context = _proposal_context(store, pid)
    except Exception:
        return _error_page(request, err, "editorial")
    context.update(actor=actor, csrf=_csrf(token or ""), error={"title": err.title, "message": err.message})
    return _editorial_page(request, "editorial_proposal.html", context, err.status)


@router.get("/editorial/history", response_class=HTMLResponse, name="history")
def editorial_history(request: Request) -> HTMLResponse:
    try:
        store, actor, token = _actor(request)
        if actor is None:
            return _signin(request, "Sign in to see the history.", 401)
        entries = store.history()[::-1][:200]
    except PageError as err:
        return _error_page(request, err, "editorial")
    except Exception as exc:
        return _error_page(request, _editorial_error(exc), "editorial")
    context = {"title": "History", "actor": actor, "csrf": _csrf(token or ""), "entries": entries}
    return _editorial_page(request, "editorial_history.html", context)


# ----- misc --------------------------------------------------------------------
@router.get("/about", response_class=HTMLResponse, name="about")
def about_page(request: Request) -> HTMLResponse:
    version = None
    with contextlib.suppress(PageError):
        version = _kb().version
    return _render(request, "about.html", {"nav": "about", "title": "About", "knowledge_version": version})


__all__ = ["mount_static", "router"]
