"""A Plan as a clinician's note (terminal text)."""

from __future__ import annotations

from rich.console import Console

from clinguide.contracts import Plan

VERDICT_WORDS = {
    "consider-short-term": "may be considered, short-term only",
    "not-yet": "not yet",
    "not-recommended": "not recommended",
    "avoid": "avoid",
}
URGENT_WORDS = {
    "emergency": "emergency care now",
    "same-day": "assessment today",
    "contact-surgical-team": "contact the surgical team now",
}
SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def _cite(ids: list[str]) -> str:
    return f" [dim][{', '.join(ids)}][/dim]" if ids else ""


def print_plan(plan: Plan, console: Console | None = None) -> None:
    console = console or Console()
    if plan.urgent:
        level = URGENT_WORDS.get(plan.urgent.level, plan.urgent.level)
        console.print(f"[bold red]URGENT — {level}:[/bold red] {plan.urgent.text}{_cite(plan.urgent.sources)}",
                      highlight=False)
        console.print(f"  Red flags found in the case: {', '.join(plan.urgent.matched)}\n", highlight=False)
    console.print(f"[bold]Assessment[/bold] — setting: {plan.setting}; phase: {plan.phase}")
    for assumption in plan.assumptions:
        console.print(f"  Assumed: {assumption}")
    verdict = plan.diazepam
    console.print(f"\n[bold]Diazepam:[/bold] {VERDICT_WORDS[verdict.verdict]}")
    for reason in verdict.reasons:
        console.print(f"  - {reason.text}{_cite(reason.sources)}", highlight=False)
    if verdict.dosing:
        console.print(f"  Dose: {verdict.dosing} At most {verdict.max_days} days.")
    if verdict.taper:
        console.print(f"  Stopping: {verdict.taper.text}")
    for item in verdict.follow_up or []:
        console.print(f"  Follow-up: {item}")
    for item in verdict.monitoring or []:
        console.print(f"  Monitor: {item.text}{_cite(item.sources)}", highlight=False)
    relaxant = plan.preferred_muscle_relaxant
    if relaxant:
        console.print(
            f"\n[bold]Preferred muscle relaxant:[/bold] {relaxant.drug} {relaxant.dose}, up to {relaxant.max_days} days"
        )
        for reason in relaxant.reasons:
            console.print(f"  - {reason.text}{_cite(reason.sources)}", highlight=False)
    console.print("\n[bold]Plan[/bold]")
    for number, step in enumerate(plan.steps, 1):
        console.print(f"  {number}. [bold]{step.title}[/bold] — {step.text}{_cite(step.sources)}", highlight=False)
    if plan.findings:
        console.print("\n[bold]Findings[/bold] (for a diazepam order for this patient)")
        for f in plan.findings:
            style = SEVERITY_STYLE[f.severity]
            console.print(
                f"  [{style}]{f.severity.upper()}[/{style}] {f.code}: {f.title}{_cite(f.sources)}", highlight=False
            )
    console.print(f"\n[dim]Knowledge version {plan.knowledge_version}[/dim]")
