"""The drug pages: the index (``/drugs``) and one monograph per drug (``/drugs/{id}``), every fact cited."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clinguide.kb.knowledge import KnowledgeBase
from clinguide.kb.placeholders import describe_daily_max, describe_dose, frequency
from clinguide.service.web.common import (
    SEVERITY_ORDER,
    PageError,
    PageKb,
    nice_date,
    page_router,
    references,
    render,
    source_numbering,
)

POPULATION_WORDS = {
    "adult": "Adults",
    "older-adult": "Older adults",
    "hepatic-impairment": "Hepatic impairment",
    "severe-hepatic-impairment": "Severe hepatic impairment",
    "renal-impairment": "Renal impairment",
    "severe-renal-impairment": "Severe renal impairment",
}

router = page_router("drugs")


@router.get("/drugs", response_class=HTMLResponse, name="drugs")
def drug_index(request: Request, kb: PageKb) -> HTMLResponse:
    monographs = sorted((d for d in kb.drugs.values() if d.role == "monograph"), key=lambda d: d.name.lower())
    agents = sorted((d for d in kb.drugs.values() if d.role != "monograph"), key=lambda d: d.name.lower())
    return render(
        request,
        "drugs.html",
        {"nav": "drugs", "title": "Drugs", "monographs": monographs, "agents": agents, "classes": kb.classes},
    )


def interactions_for(kb: KnowledgeBase, drug_id: str) -> list[dict[str, Any]]:
    """The pack's interaction rules that involve the drug (by ingredient, id or class), most severe first."""
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
def drug_page(request: Request, drug_id: str, kb: PageKb) -> Response:
    drug = kb.drugs.get(drug_id)
    if drug is None:
        match = kb.resolve_drug(drug_id, fuzzy=False) if len(drug_id) <= 100 else None
        if match is not None:
            return RedirectResponse(f"/drugs/{match.id}", status_code=308)
        raise PageError(404, "Drug not found", f"There is no drug '{drug_id[:100]}' in the knowledge pack.")
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
    interactions = interactions_for(kb, drug.id)
    facts: list[Any] = [drug.duration_limit, drug.taper, drug.hypersensitivity, drug.older_adults]
    facts += [drug.pregnancy, drug.lactation, drug.schedule, *drug.adverse_effects]
    for item in facts + drug.condition_rules + drug.setting_rules + drug.first_line:
        if item is not None:
            cited += item.sources
    for entry in interactions:
        cited += entry["rule"].sources
    cited += drug.sources
    numbers = source_numbering(cited)

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
        "refs": references(kb, numbers),
        "render": kb.render,
        "last_reviewed": nice_date(drug.review.last_reviewed),
    }
    return render(request, "drug.html", context)
