"""Render an Article (the `ask` answer): terminal (rich), markdown, standalone HTML, JSON."""

from __future__ import annotations

import json
from html import escape

from clinguide.contracts import Article

FORMATS = ("text", "markdown", "html", "json")


def cite(numbers: list[int]) -> str:
    return f"[{', '.join(str(n) for n in numbers)}]" if numbers else ""


def _review_line(article: Article) -> str:
    parts = [f"Review status: {article.review.status}"]
    if article.review.last_updated:
        parts.append(f"last updated {article.review.last_updated}")
    parts.append(f"knowledge pack {article.knowledge_version}")
    return " · ".join(parts)


# ----- JSON ----------------------------------------------------------------------------


def to_json(article: Article) -> str:
    return json.dumps(article.to_json(), indent=2, ensure_ascii=False)


# ----- markdown ------------------------------------------------------------------------


def _md(text: str) -> str:
    """Escape the characters that would turn statement text into markdown markup."""
    for char in ("\\", "*", "_", "`", "#", "<", ">", "[", "]"):
        text = text.replace(char, "\\" + char)
    return text


def to_markdown(article: Article) -> str:
    lines = [f"# {_md(article.title)}", "", f"*Question ({article.audience}):* {_md(article.question)}", ""]
    bottom = f"**Bottom line:** {_md(article.bottom_line)}"
    if article.bottom_line_citations:
        bottom += " " + _md(cite(article.bottom_line_citations))
    lines += [bottom, ""]
    for section in article.sections:
        lines += [f"## {_md(section.heading)}", ""]
        for item in section.items:
            lines.append(f"- {_md(item.text)} {_md(cite(item.citations))}".rstrip())
        lines.append("")
    if article.references:
        lines += ["## References", ""]
        for ref in article.references:
            url = f" <{ref.url}>" if ref.url else ""
            lines.append(f"{ref.n}. {_md(ref.citation)} ({ref.kind}){url}")
        lines.append("")
    if article.follow_up_questions:
        lines += ["## Follow-up questions", ""]
        lines += [f"- {_md(q)}" for q in article.follow_up_questions]
        lines.append("")
    lines += [f"*{_md(_review_line(article))}*", "", f"> {_md(article.disclaimer)}", ""]
    return "\n".join(lines)


# ----- HTML ----------------------------------------------------------------------------

_CSS = """
body{font-family:Georgia,'Times New Roman',serif;max-width:46rem;margin:2rem auto;padding:0 1rem;
line-height:1.5;color:#1a1a1a}
h1{font-size:1.6rem;margin-bottom:.25rem}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #ccc}
.question{color:#555;font-style:italic}.bottom{background:#f3f6fa;border-left:4px solid #2a5d9f;padding:.6rem .9rem}
.not-covered{border-left-color:#a66a00;background:#fbf6ec}
sup{font-size:.75em}sup a{text-decoration:none}ol.refs li{margin-bottom:.3rem;font-size:.92rem}
.kind{color:#666;font-size:.85em}.meta{color:#555;font-size:.88rem;margin-top:1.5rem}
.disclaimer{border:1px solid #ccc;padding:.6rem .9rem;font-size:.88rem;margin-top:1rem}
@media print{body{margin:0;max-width:none;font-size:11pt}a{color:inherit;text-decoration:none}
.bottom{background:none;border-left:2px solid #000}.follow-ups{display:none}
h2{page-break-after:avoid}li{page-break-inside:avoid}ol.refs a[href^="http"]::after{content:" (" attr(href) ")"}}
"""


def _sup(numbers: list[int]) -> str:
    if not numbers:
        return ""
    links = ",".join(f'<a href="#ref-{n}">{n}</a>' for n in numbers)
    return f"<sup>[{links}]</sup>"


def to_html(article: Article) -> str:
    e = escape
    out = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{e(article.title)}</title>',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<style>{_CSS}</style></head><body>",
        "<article>",
        f"<h1>{e(article.title)}</h1>",
        f'<p class="question">{e(article.question)} <span class="kind">({e(article.audience)})</span></p>',
        f'<p class="bottom{"" if article.covered else " not-covered"}"><strong>Bottom line:</strong> '
        f"{e(article.bottom_line)}{_sup(article.bottom_line_citations)}</p>",
    ]
    for section in article.sections:
        out.append(f"<section><h2>{e(section.heading)}</h2><ul>")
        out += [f"<li>{e(item.text)}{_sup(item.citations)}</li>" for item in section.items]
        out.append("</ul></section>")
    if article.references:
        out.append('<section><h2>References</h2><ol class="refs">')
        for ref in article.references:
            url = f' <a href="{e(ref.url, quote=True)}">{e(ref.url)}</a>' if ref.url else ""
            out.append(
                f'<li id="ref-{ref.n}" value="{ref.n}">{e(ref.citation)} <span class="kind">({e(ref.kind)})</span>'
                f"{url}</li>"
            )
        out.append("</ol></section>")
    if article.follow_up_questions:
        out.append('<section class="follow-ups"><h2>Follow-up questions</h2><ul>')
        out += [f"<li>{e(q)}</li>" for q in article.follow_up_questions]
        out.append("</ul></section>")
    out += [
        f'<p class="meta">{e(_review_line(article))}</p>',
        f'<p class="disclaimer">{e(article.disclaimer)}</p>',
        "</article></body></html>",
    ]
    return "\n".join(out) + "\n"


# ----- terminal ------------------------------------------------------------------------


def print_terminal(article: Article, console: object | None = None) -> None:
    from rich.console import Console
    from rich.markup import escape as rich_escape
    from rich.panel import Panel

    con = console if isinstance(console, Console) else Console()
    con.print(f"[bold]{rich_escape(article.title)}[/bold]")
    con.print(f"[dim]{rich_escape(article.question)} ({article.audience})[/dim]")
    bottom = rich_escape(article.bottom_line)
    if article.bottom_line_citations:
        bottom += " " + rich_escape(cite(article.bottom_line_citations))
    con.print(Panel(bottom, title="Bottom line", border_style="blue" if article.covered else "yellow"))
    for section in article.sections:
        con.print(f"\n[bold underline]{rich_escape(section.heading)}[/bold underline]")
        for item in section.items:
            con.print(f" • {rich_escape(item.text)} [cyan]{rich_escape(cite(item.citations))}[/cyan]")
    if article.references:
        con.print("\n[bold underline]References[/bold underline]")
        for ref in article.references:
            url = f" {ref.url}" if ref.url else ""
            con.print(f" {ref.n}. {rich_escape(ref.citation)} [dim]({ref.kind}){rich_escape(url)}[/dim]")
    if article.follow_up_questions:
        con.print("\n[bold underline]Follow-up questions[/bold underline]")
        for question in article.follow_up_questions:
            con.print(f" ? {rich_escape(question)}")
    con.print(f"\n[dim]{rich_escape(_review_line(article))}[/dim]")
    con.print(f"[italic]{rich_escape(article.disclaimer)}[/italic]")


def render(article: Article, fmt: str) -> str:
    """Markdown, HTML or JSON as a string (the terminal view prints instead)."""
    if fmt == "markdown":
        return to_markdown(article)
    if fmt == "html":
        return to_html(article)
    if fmt == "json":
        return to_json(article)
    raise ValueError(f"format: '{fmt}' is not accepted; use one of: {', '.join(FORMATS)}")
