"""The ask page (``/``): a question in, a cited article out, for a clinician or a patient."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from clinguide.answers.compose import ask
from clinguide.contracts import Article
from clinguide.render.article import article_view
from clinguide.service.web.common import PageError, is_htmx, nice_date, page_router, render, run_engine

AUDIENCES = ("clinician", "patient")
MAX_QUESTION = 500
EXAMPLE_QUESTIONS = (
    "Should I take Valium for back spasm?",
    "What is the role of diazepam after spinal fusion?",
    "Which muscle relaxant is preferred for acute low back pain?",
    "How long can diazepam be used for muscle spasm?",
)
COOKIE_AUDIENCE = "clinguide_audience"

router = page_router("ask")


def _audience(request: Request, given: str | None) -> tuple[str | None, str | None]:
    """(audience, problem): the query value, else the remembered cookie, else None (we ask; no silent default)."""
    if given:
        if given in AUDIENCES:
            return given, None
        return None, f"'{given}' is not an audience; choose clinician or patient."
    remembered = request.cookies.get(COOKIE_AUDIENCE)
    return (remembered if remembered in AUDIENCES else None), None


def _article_view(article: Article, full: bool) -> dict[str, Any]:
    """What the ask page shows besides the Article itself (the same view the standalone page renders)."""
    return {
        **article_view(article, full),
        "last_updated": nice_date(article.review.last_updated),
        "last_updated_iso": str(article.review.last_updated)[:10] if article.review.last_updated else None,
        "printed_on": nice_date(dt.date.today()),
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
            article = run_engine(ask, "question", question, audience=chosen)
            context["article"] = article
            context.update(_article_view(article, show_full))
            context["switch_url"] = {a: "/?" + urlencode({"q": question, "audience": a}) for a in AUDIENCES}
            context["full_url"] = "/?" + urlencode({"q": question, "audience": chosen, "full": "1"})
        except PageError as err:
            context["error"] = {"title": err.title, "message": err.message}
            status = err.status
    context["partial"] = is_htmx(request)
    template = "_answer.html" if context["partial"] else "ask.html"
    response = render(request, template, context, status)
    if audience in AUDIENCES:
        response.set_cookie(COOKIE_AUDIENCE, audience, max_age=60 * 60 * 24 * 365, samesite="lax", httponly=True)
    return response
