"""Terminal rendering of a CheckResult: severity in words and colour, never colour alone."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from clinguide.contracts import CheckResult

STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
LABEL = {"critical": "CRITICAL", "warning": "WARNING", "info": "INFO"}
VERDICT_WORDS = {"ok": "OK", "caution": "CAUTION", "do-not-prescribe": "DO NOT PRESCRIBE",
                 "cannot-assess": "CANNOT ASSESS"}
VERDICT_STYLE = {"ok": "bold green", "caution": "bold yellow", "do-not-prescribe": "bold red",
                 "cannot-assess": "bold magenta"}


def print_result(result: CheckResult, console: Console | None = None) -> None:
    console = console or Console()
    o = result.order
    console.print(f"[bold]Order:[/bold] {escape(o.input)}")
    if o.drug:
        parts = [o.drug_name or o.drug]
        if o.dose_mg is not None:
            parts.append(f"{o.dose_mg:g} mg")
        if o.frequency:
            parts.append(o.frequency)
        if o.prn:
            parts.append("as needed")
        if o.days:
            parts.append(f"for {o.days} days")
        parts.append(f"({o.route})")
        console.print("[bold]Read as:[/bold] " + escape(" ".join(parts)))
    if o.calculation:
        console.print(f"[bold]Calculation:[/bold] {escape(o.calculation)}")
    style = VERDICT_STYLE.get(result.verdict, "bold")
    console.print(f"[bold]Verdict:[/bold] [{style}]{VERDICT_WORDS.get(result.verdict, result.verdict)}[/{style}]")
    if result.suggested_order:
        console.print(f"[bold]Safer order:[/bold] {escape(result.suggested_order.text)}")
    if not result.findings:
        console.print("No findings.")
    for f in result.findings:
        s = STYLE[f.severity]
        console.print()
        console.print(f"[{s}]{LABEL[f.severity]}[/{s}] [bold]{escape(f.title)}[/bold] [dim]({f.code})[/dim]")
        console.print(f"  {escape(f.detail)}")
        if f.suggestion:
            console.print(f"  [bold]Suggestion:[/bold] {escape(f.suggestion)}")
        if f.taper_plan and f.taper_plan.steps:
            console.print("  [bold]Plan for stopping:[/bold]")
            for step in f.taper_plan.steps:
                made = f" ({escape(step.tablets)})" if step.tablets else ""
                console.print(f"    {step.days} days at {step.daily_mg:g} mg/day{made}")
            console.print(f"    then stop (total {f.taper_plan.total_days} days)")
        if f.sources:
            console.print(f"  [dim]Sources: {', '.join(f.sources)}[/dim]")
    if result.sources:
        console.print()
        console.print("[bold]Sources[/bold]")
        for ref in result.sources:
            url = f" {ref.url}" if ref.url else ""
            console.print(f"  [dim]{ref.id}: {escape(ref.citation)}{escape(url)}[/dim]")
    console.print(f"[dim]Knowledge pack {result.knowledge_version}[/dim]")
