"""The case and order forms of the assess and check pages: their choices, and form fields to engine input."""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import ValidationError

from clinguide.contracts import Case, Order
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.service.web.common import PageError, first, input_message, split_list

SETTINGS = (("back-spasm", "Back spasm"), ("post-spinal-fusion", "After spinal fusion"))
SURGERY_PHASES = (("pre-op", "Before surgery"), ("intra-op", "During surgery"), ("post-op", "After surgery"))
SPASM = ("none", "mild", "moderate", "severe")
ALCOHOL = ("none", "moderate", "heavy")
SEXES = ("female", "male", "other", "unknown")
MED_ROWS = 4
CASE_FIELDS = (
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
ORDER_FIELDS = ("mode", "sig", "drug", "dose", "frequency", "days", "route", "prn")


def form_options(kb: KnowledgeBase) -> dict[str, Any]:
    """The choices the case form offers."""
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


def case_from_form(form: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(case dict for the engine, values to re-fill the form). Empty fields are left out."""
    values: dict[str, Any] = {key: first(form, key) for key in CASE_FIELDS}
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
    conditions = values["conditions"] + split_list(values["other_conditions"])
    if conditions:
        case["conditions"] = conditions
    if values["tried"]:
        case["tried"] = values["tried"]
    if values["medications"]:
        case["medications"] = values["medications"]
    allergies = split_list(values["allergies"])
    if allergies:
        case["allergies"] = allergies
    symptoms = split_list(values["symptoms"])
    if symptoms:
        case["symptoms"] = symptoms
    return case, values


def order_from_form(form: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(order dict for the engine, values to re-fill the form): a sig line, or drug, dose, frequency … fields."""
    values = {key: first(form, key) for key in ORDER_FIELDS}
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


def validate_case(case: dict[str, Any]) -> None:
    try:
        Case.model_validate(case)
    except ValidationError as exc:
        raise PageError(422, "Please check the form", input_message(exc, "case")) from exc


def validate_order(order: dict[str, Any]) -> None:
    try:
        Order.model_validate(order)
    except ValidationError as exc:
        raise PageError(422, "Please check the form", input_message(exc, "order")) from exc
