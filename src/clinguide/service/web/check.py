"""The check page (``/check``): a prescription (sig line or fields) and a case in, findings with sources out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from clinguide.checks.engine import check
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
from clinguide.service.web.forms import case_from_form, form_options, order_from_form, validate_case, validate_order

CHECK_VERDICT_WORDS = {
    "ok": "No problems found",
    "caution": "Use with caution",
    "do-not-prescribe": "Do not prescribe",
    "cannot-assess": "Cannot assess",
}
CHECK_VERDICT_TONE = {"ok": "ok", "caution": "warning", "do-not-prescribe": "critical", "cannot-assess": "warning"}

router = page_router("check")


@router.get("/check", response_class=HTMLResponse, name="check")
def check_form(request: Request, kb: PageKb) -> HTMLResponse:
    context = {
        "nav": "check",
        "title": "Check a prescription",
        "values": {"setting": "back-spasm", "mode": "sig"},
        "order_values": {"mode": "sig", "route": "oral"},
        "result": None,
    }
    context.update(form_options(kb))
    return render(request, "check.html", context)


@router.post("/check", response_class=HTMLResponse)
async def check_submit(request: Request, kb: PageKb) -> HTMLResponse:
    form = await read_form(request)
    case, values = case_from_form(form)
    order, order_values = order_from_form(form)
    context: dict[str, Any] = {
        "nav": "check",
        "title": "Check a prescription",
        "values": values,
        "order_values": order_values,
        "result": None,
    }
    context.update(form_options(kb))
    status = 200
    try:
        if not order:
            field = "sig line" if order_values["mode"] == "sig" else "drug"
            raise PageError(422, "Please check the form", f"order: enter a {field} to check.")
        validate_order(order)
        validate_case(case)
        result = run_engine(check, "order", order, case)
        numbers = source_numbering(s.id for s in result.sources)
        for finding in result.findings:
            for source_id in finding.sources:
                numbers.setdefault(source_id, len(numbers) + 1)
        context.update(
            result=result,
            findings=sorted_findings(result.findings),
            cite=numbers,
            refs=references(kb, numbers, result.sources),
            verdict_words=CHECK_VERDICT_WORDS,
            verdict_tone=CHECK_VERDICT_TONE,
            case=case,
            today=dt.date.today().isoformat(),
            title="Check result",
        )
    except PageError as err:
        context["error"] = {"title": err.title, "message": err.message}
        status = err.status
    template = "_findings.html" if is_htmx(request) else "check.html"
    return render(request, template, context, status)
