"""The assess page (``/assess``): a patient's case in, a care plan with its verdicts and sources out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from clinguide.plans.assess import assess
from clinguide.service.web.common import (
    PageError,
    PageKb,
    is_htmx,
    page_router,
    read_form,
    references,
    render,
    run_engine,
    sorted_findings,
    source_numbering,
)
from clinguide.service.web.forms import case_from_form, form_options, validate_case

VERDICT_WORDS = {
    "consider-short-term": "May be considered — short term only",
    "not-yet": "Not yet",
    "not-recommended": "Not recommended",
    "avoid": "Avoid",
}
VERDICT_TONE = {"consider-short-term": "info", "not-yet": "warning", "not-recommended": "warning", "avoid": "critical"}
URGENT_WORDS = {
    "emergency": "emergency care now",
    "same-day": "assessment today",
    "contact-surgical-team": "contact the surgical team now",
}

router = page_router("assess")


@router.get("/assess", response_class=HTMLResponse, name="assess")
def assess_form(request: Request, kb: PageKb) -> HTMLResponse:
    context = {"nav": "assess", "title": "Assess a patient", "values": {"setting": "back-spasm"}, "plan": None}
    context.update(form_options(kb))
    return render(request, "assess.html", context)


@router.post("/assess", response_class=HTMLResponse)
async def assess_submit(request: Request, kb: PageKb) -> HTMLResponse:
    form = await read_form(request)
    case, values = case_from_form(form)
    context: dict[str, Any] = {"nav": "assess", "title": "Assess a patient", "values": values, "plan": None}
    context.update(form_options(kb))
    status = 200
    try:
        validate_case(case)
        plan = run_engine(assess, "case", case)
        numbers = source_numbering(s.id for s in plan.sources)
        context.update(
            plan=plan,
            cite=numbers,
            refs=references(kb, numbers, plan.sources),
            verdict_words=VERDICT_WORDS,
            verdict_tone=VERDICT_TONE,
            urgent_words=URGENT_WORDS,
            findings=sorted_findings(plan.findings),
            case=case,
            today=dt.date.today().isoformat(),
            title="Plan",
        )
    except PageError as err:
        context["error"] = {"title": err.title, "message": err.message}
        status = err.status
    template = "_plan.html" if is_htmx(request) else "assess.html"
    return render(request, template, context, status)
