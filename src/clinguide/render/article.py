"""Render an Article (the `ask` answer): terminal (rich), markdown, standalone HTML, JSON."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from clinguide.contracts import Article, ArticleSection, Reference

FORMATS = ("text", "markdown", "html", "json")


def cite(numbers: list[int]) -> str:
    return f"[{', '.join(str(n) for n in numbers)}]" if numbers else ""


URGENT_LABELS = {
    "emergency": "Emergency: act now",
    "same-day": "Urgent: get seen today",
    "contact-surgical-team": "Contact your surgical team now",
}
SECONDARY = "secondary-summary"
SECONDARY_NOTE = "* secondary summary (a review of other sources, not a primary document)."
# The shipped approvals are a source check by the engineering team, not a clinician's sign-off.
REVIEW_LINE = "Checked against sources; clinician review pending"


def review_line(article: Article) -> str:
    """One quiet, honest line: what the review was and when."""
    parts = [REVIEW_LINE if article.covered else "Not an answer from the knowledge pack"]
    if article.covered and article.review.reviewer:
        # "clinguide founding team (source check against …)" → the people, not the file they used
        parts.append(f"reviewed by {article.review.reviewer.split(' (')[0]}")
    if article.review.last_updated:
        parts.append(f"last checked {article.review.last_updated}")
    parts.append(f"knowledge pack {article.knowledge_version}")
    return " · ".join(parts)



def _shown(article: Article, full: bool) -> list[ArticleSection]:
    return [*article.sections, *article.more] if full else list(article.sections)


def _cited_in(article: Article, full: bool) -> set[int]:
    numbers = set(article.bottom_line_citations)
    if article.urgent is not None:
        numbers.update(article.urgent.citations)
    for section in _shown(article, full):
        for item in section.items:
            numbers.update(item.citations)
    return numbers


def shown_references(article: Article, full: bool = False) -> list[Reference]:
    """The references cited by what is shown (the default view, or everything with ``full``)."""
    numbers = _cited_in(article, full)
    return [ref for ref in article.references if ref.n in numbers]


def _ref_mark(ref: Reference) -> str:
    return " *" if ref.kind == SECONDARY else ""


# ----- JSON ----------------------------------------------------------------------------


def to_json(article: Article) -> str:
    return json.dumps(article.to_json(), indent=2, ensure_ascii=False)


# ----- markdown ------------------------------------------------------------------------


def _md(text: str) -> str:
    """Escape the characters that would turn statement text into markdown markup."""
    for char in ("\\", "*", "_", "`", "#", "<", ">", "[", "]"):
        text = text.replace(char, "\\" + char)
    return text


def to_markdown(article: Article, full: bool = False) -> str:
    lines = [f"# {_md(article.question)}", "", f"*{_md(article.title)} · for {article.audience}s*", ""]
    if article.urgent is not None:
        urgent = f"**{URGENT_LABELS[article.urgent.level]}:** {_md(article.urgent.text)}"
        if article.urgent.citations:
            urgent += " " + _md(cite(article.urgent.citations))
        lines += [f"> {urgent}", ""]
    bottom = f"**Bottom line:** {_md(article.bottom_line)}"
    if article.bottom_line_citations:
        bottom += " " + _md(cite(article.bottom_line_citations))
    lines += [bottom, ""]
    if article.follow_up_questions:
        lines += ["**Follow-up questions:** " + " · ".join(_md(q) for q in article.follow_up_questions), ""]
    for section in article.sections:
        lines += _md_section(section, "##")
    if article.more and full:
        lines += ["## More detail", ""]
        for section in article.more:
            lines += _md_section(section, "###")
    elif article.more:
        lines += [f"*More detail: {len(article.more)} further sections (clinguide ask --full).*", ""]
    refs = shown_references(article, full)
    if refs:
        lines += ["## References", ""]
        for ref in refs:
            url = f" <{ref.url}>" if ref.url else ""
            lines.append(f"{ref.n}. {_md(ref.citation)}{_md(_ref_mark(ref))}{url}")
        if any(ref.kind == SECONDARY for ref in refs):
            lines += ["", _md(SECONDARY_NOTE)]
        lines.append("")
    lines += [f"*{_md(review_line(article))}*", "", f"> {_md(article.disclaimer)}", ""]
    return "\n".join(lines)


def _md_section(section: ArticleSection, level: str) -> list[str]:
    lines = [f"{level} {_md(section.heading)}", ""]
    for item in section.items:
        lines.append(f"- {_md(item.text)} {_md(cite(item.citations))}".rstrip())
    lines.append("")
    return lines


# ----- HTML ----------------------------------------------------------------------------

_CSS = """
body{font-family:Georgia,'Times New Roman',serif;max-width:46rem;margin:2rem auto;padding:0 1rem;
line-height:1.5;color:#1a1a1a}
h2{font-size:1.6rem;margin-bottom:.25rem}h3{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #ccc}
.audience-note,.muted{color:#555;font-style:italic}
.bottom-line{background:#f3f6fa;border-left:4px solid #2a5d9f;padding:.1rem .9rem}
.not-covered{border-left:4px solid #a66a00;background:#fbf6ec;padding:.1rem .9rem}
sup{font-size:.75em}sup a{text-decoration:none}.ref-list li{margin-bottom:.3rem;font-size:.92rem}
.review-line{color:#555;font-size:.88rem;margin-top:1.5rem}
.disclaimer{border:1px solid #ccc;padding:.1rem .9rem;font-size:.88rem;margin-top:1rem}
.urgent{background:#fdecea;border-left:6px solid #b00020;padding:.1rem .9rem;font-weight:600}
.urgent-contact-surgical-team,.urgent-same-day{background:#fff4e5;border-left-color:#a65b00}
.no-print,.print-only,.ref-back{display:none}
@media print{body{margin:0;max-width:none;font-size:11pt}a{color:inherit;text-decoration:none}
.bottom-line{background:none;border-left:2px solid #000}.urgent{border:2px solid #000}
h3{page-break-after:avoid}li{page-break-inside:avoid}.ref-list a[href^="http"]::after{content:" (" attr(href) ")"}}
"""
# The one HTML rendering of an article is the web page's template (service/templates/_answer.html):
# the standalone page (`clinguide ask --format html`, the print handout) wraps that same template.
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "service" / "templates"


def article_view(article: Article, full: bool) -> dict[str, object]:
    """What the article template shows besides the Article itself: the review line and reference lists."""
    main_refs = shown_references(article, full=False)
    main_numbers = {ref.n for ref in main_refs}
    return {
        "review_line": review_line(article),
        "main_refs": main_refs,
        "more_refs": [ref for ref in article.references if ref.n not in main_numbers],
        "secondary_kind": SECONDARY,
        "has_secondary": any(ref.kind == SECONDARY for ref in article.references),
        "full": full,
    }


def to_html(article: Article, full: bool = False) -> str:
    """A standalone page (and print handout): the web page's article template in a page of its own."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(["html"]))
    body = env.get_template("_answer.html").render(
        article=article, question=article.question, audience=article.audience, partial=False,
        error=None, need_audience=False, printed_on=None, switch_url=None, full_url=None, examples=[],
        **article_view(article, full),
    )
    title = escape(article.question)
    return ("<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8"><title>{title}</title>\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<style>{_CSS}</style></head><body>\n{body.strip()}\n</body></html>\n")


# ----- terminal ------------------------------------------------------------------------


def print_terminal(article: Article, console: object | None = None, full: bool = False) -> None:
    from rich.console import Console
    from rich.markup import escape as rich_escape
    from rich.panel import Panel

    con = console if isinstance(console, Console) else Console()
    con.print(f"[bold]{rich_escape(article.question)}[/bold]")
    con.print(f"[dim]{rich_escape(article.title)} · for {article.audience}s · {article.answer_type}[/dim]")
    if article.urgent is not None:
        urgent = rich_escape(article.urgent.text)
        if article.urgent.citations:
            urgent += " " + rich_escape(cite(article.urgent.citations))
        con.print(Panel(urgent, title=URGENT_LABELS[article.urgent.level], border_style="bold red"))
    bottom = rich_escape(article.bottom_line)
    if article.bottom_line_citations:
        bottom += " " + rich_escape(cite(article.bottom_line_citations))
    con.print(Panel(bottom, title="Bottom line", border_style="blue" if article.covered else "yellow"))
    if article.follow_up_questions:
        con.print("[bold]Follow-up questions[/bold]")
        for question in article.follow_up_questions:
            con.print(f" ? {rich_escape(question)}")
    for section in article.sections:
        _terminal_section(con, section)
    if article.more and full:
        con.print("\n[bold]More detail[/bold]")
        for section in article.more:
            _terminal_section(con, section)
    elif article.more:
        con.print(f"\n[dim]More detail: {len(article.more)} further sections (clinguide ask --full).[/dim]")
    refs = shown_references(article, full)
    if refs:
        con.print("\n[bold underline]References[/bold underline]")
        for ref in refs:
            url = f" {ref.url}" if ref.url else ""
            con.print(f" {ref.n}. {rich_escape(ref.citation)}{_ref_mark(ref)}[dim]{rich_escape(url)}[/dim]")
        if any(ref.kind == SECONDARY for ref in refs):
            con.print(f"[dim]{rich_escape(SECONDARY_NOTE)}[/dim]")
    con.print(f"\n[dim]{rich_escape(review_line(article))}[/dim]")
    con.print(f"[italic]{rich_escape(article.disclaimer)}[/italic]")


def _terminal_section(con: object, section: ArticleSection) -> None:
    from rich.markup import escape as rich_escape

    con.print(f"\n[bold underline]{rich_escape(section.heading)}[/bold underline]")  # type: ignore[attr-defined]
    for item in section.items:
        con.print(f" • {rich_escape(item.text)} [cyan]{rich_escape(cite(item.citations))}[/cyan]")  # type: ignore[attr-defined]


def render(article: Article, fmt: str, full: bool = False) -> str:
    """Markdown, HTML or JSON as a string (the terminal view prints instead); ``full`` adds ``more``."""
    if fmt == "markdown":
        return to_markdown(article, full)
    if fmt == "html":
        return to_html(article, full)
    if fmt == "json":
        return to_json(article)
    raise ValueError(f"format: '{fmt}' is not accepted; use one of: {', '.join(FORMATS)}")
