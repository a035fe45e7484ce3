"""Terminal view of a pack item (`clinguide kb show`)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from clinguide.kb.knowledge import KnowledgeBase
from clinguide.kb.models import Drug
from clinguide.kb.names import Match
from clinguide.kb.placeholders import describe_daily_max, describe_dose, frequency


def _cite(ids: list[str]) -> str:
    return "[" + ", ".join(ids) + "]"


def print_item(kb: KnowledgeBase, kind: str, item: Any, match: Match, console: Console | None = None) -> None:
    console = console or Console()
    how = "" if match.how == "exact" else f" (matched '{match.matched}' {match.how})"
    console.print(f"[bold]{item.name}[/bold] — {kind} [dim]{item.id}{how}[/dim]")
    if isinstance(item, Drug):
        _print_drug(kb, item, console)
    else:
        if item.synonyms:
            console.print("Also called: " + ", ".join(item.synonyms))
        if getattr(item, "sources", None):
            console.print("Sources: " + _cite(item.sources))
    review = item.review
    console.print(f"[dim]Review: {review.status}, {review.reviewer or '-'}, {review.last_reviewed or '-'}[/dim]")


def _print_drug(kb: KnowledgeBase, drug: Drug, console: Console) -> None:
    if drug.brands:
        console.print("Brands: " + ", ".join(drug.brands))
    if drug.components:
        console.print("Contains: " + ", ".join(drug.components))
    console.print("Classes: " + ", ".join(sorted(kb.drug_classes(drug.id))))
    if drug.schedule:
        console.print(f"Schedule: {drug.schedule.text} {_cite(drug.schedule.sources)}")
    if drug.rxnorm:
        state = "verified" if drug.rxnorm.verified else "not verified"
        console.print(f"RxNorm ingredient: {drug.rxnorm.code} ({state})")
    if drug.summary:
        console.print(drug.summary)
    if drug.dosing:
        table = Table(title="Dosing", show_lines=True)
        for column in ("Population", "Form", "Dose", "Daily limit", "Notes", "Sources"):
            table.add_column(column)
        for rule in drug.dosing:
            dose = describe_dose(rule) if rule.single_dose_mg else (frequency(rule) or "—")
            limit = describe_daily_max(rule) if rule.max_daily_mg else "—"
            notes = " ".join(x for x in (rule.start, rule.titration, rule.note) if x)
            table.add_row(
                rule.population, rule.formulation, dose, limit, notes, f"{_cite(rule.sources)} {rule.evidence}"
            )
        console.print(table)
    if drug.duration_limit:
        limit = drug.duration_limit
        console.print(f"Duration limit: {limit.days} days — {limit.text} {_cite(limit.sources)}")
    if drug.taper:
        console.print(f"Taper: {drug.taper.text} {_cite(drug.taper.sources)}")
    for rule in drug.condition_rules:
        console.print(
            f"{rule.code} ({rule.severity}): {', '.join(rule.conditions)} — {rule.text} {_cite(rule.sources)}"
        )
    if drug.older_adults:
        console.print(f"Older adults: {drug.older_adults.text} {_cite(drug.older_adults.sources)}")
    if drug.pregnancy:
        console.print(f"Pregnancy: {drug.pregnancy.text} {_cite(drug.pregnancy.sources)}")
    if drug.adverse_effects:
        console.print("Adverse effects: " + "; ".join(f"{f.text} {_cite(f.sources)}" for f in drug.adverse_effects))
    cited = sorted({s for rule in drug.dosing for s in rule.sources} | set(drug.sources))
    for source_id in cited:
        source = kb.sources.get(source_id)
        if source:
            console.print(f"[dim]{source_id}: {source.citation}[/dim]")
