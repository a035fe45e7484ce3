"""Turn an Order (structured fields or a sig) into the normalised order the checks read.

Never raises for clinical content: what cannot be understood is recorded as a problem
(``unknown-drug`` / ``unparseable-order``) that the data check turns into a finding.
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass, field

from clinguide.clinical.sig import (
    Dose,
    Frequency,
    SigParseError,
    fmt,
    normalise_route,
    parse_days,
    parse_dose,
    parse_frequency,
    parse_sig,
)
from clinguide.contracts import NormalisedOrder, Order
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.kb.models import Drug


@dataclass
class Problem:
    code: str  # unknown-drug | unparseable-order
    field: str
    message: str


@dataclass
class PreparedOrder:
    """The normalised order plus what the checks need that the contract does not carry."""

    normalised: NormalisedOrder
    drug: Drug | None = None
    dose: Dose | None = None
    frequency: Frequency | None = None
    formulation: str = "oral"
    extended_release: bool = False
    problems: list[Problem] = field(default_factory=list)
    unit_assumed: bool = False  # the sig's number had no unit and was read as mg
    units_per_dose: tuple[float, float] | None = None
    component_mg: dict[str, tuple[float, float]] = field(default_factory=dict)  # combination: per unit
    days_from_quantity: bool = False
    count_assumed: bool = False  # combination product with no count: one unit per dose
    max_doses_per_day: float | None = None  # a cap written in the sig ("max 3/day")
    max_daily_mg: float | None = None  # "max 24 mg/day"

    @property
    def drug_id(self) -> str | None:
        return self.drug.id if self.drug else None


def _describe_input(order: Order) -> str:
    if order.sig:
        return order.sig
    parts = [order.drug or (f"RxNorm {order.code}" if order.code else ""), order.dose or "", order.route,
             order.frequency or "", "prn" if order.prn else "", f"x {order.days} days" if order.days else ""]
    return " ".join(p for p in parts if p)


def prepare_order(order: Order, kb: KnowledgeBase) -> PreparedOrder:
    out = PreparedOrder(NormalisedOrder(input=_describe_input(order), route=normalise_route(order.route),
                                        prn=order.prn, days=order.days))
    drug_text: str | None = order.drug
    strengths: tuple[float, ...] = ()
    dose: Dose | None = None
    frequency: Frequency | None = None
    route = out.normalised.route
    if order.sig:
        try:
            parsed = parse_sig(order.sig)
        except SigParseError as exc:
            out.problems.append(Problem("unparseable-order", "sig", exc.message))
            parsed = None
        if parsed is not None:
            drug_text = order.drug or parsed.drug_text
            dose, frequency = parsed.dose, parsed.frequency
            out.normalised.prn = order.prn or parsed.prn
            out.normalised.days = order.days or parsed.days
            out.normalised.quantity = parsed.quantity
            out.extended_release = parsed.extended_release
            out.unit_assumed = parsed.unit_assumed
            out.units_per_dose = parsed.units_per_dose
            out.count_assumed = parsed.count_assumed
            out.max_doses_per_day = parsed.max_doses_per_day
            out.max_daily_mg = parsed.max_daily_mg
            strengths = parsed.combination_strengths
            if parsed.route:
                route = parsed.route
    # structured fields complete or override the sig
    if order.dose:
        try:
            dose = parse_dose(order.dose)
        except SigParseError as exc:
            out.problems.append(Problem("unparseable-order", "dose", exc.message))
        if dose is None and not any(p.field == "dose" for p in out.problems):
            out.problems.append(Problem(
                "unparseable-order", "dose",
                f"'{order.dose}' is not a dose with a unit; write e.g. '5 mg', '5-10 mg', '0.5 g' or '500 mcg'"))
    if order.frequency:
        try:
            frequency = parse_frequency(order.frequency)
        except SigParseError as exc:
            out.problems.append(Problem("unparseable-order", "frequency", exc.message))
            frequency = None
        if frequency is None and not any(p.field == "frequency" for p in out.problems):
            out.problems.append(Problem(
                "unparseable-order", "frequency",
                f"'{order.frequency}' is not a frequency I understand; use e.g. 'TID', 'q6h', 'every 8 hours', "
                "'twice a day', 'at bedtime', '3 times daily'"))
    if not order.sig and not order.dose and order.drug:
        out.problems.append(Problem("unparseable-order", "dose",
                                    "the order has no dose; give 'dose' (e.g. '5 mg') or a 'sig'"))
    if not order.sig and order.days is None and order.frequency:
        # "x 7 days" written inside the frequency field
        with contextlib.suppress(SigParseError):
            out.normalised.days = parse_days(order.frequency)
    out.normalised.route = route

    # ---- drug ---------------------------------------------------------------
    drug: Drug | None = None
    if order.code:
        ids = kb.drugs_by_rxnorm(order.code)
        if len(ids) > 1:
            # a combination product's code: the pack's combination entry with exactly these ingredients
            combined = next((d for d in kb.drugs.values() if d.components and set(d.components) == set(ids)), None)
            if combined is not None:
                ids = (combined.id,)
        if ids:
            drug = kb.drugs[ids[0]]
            if order.code.strip() in kb.extended_release_codes:
                out.extended_release = True
    if drug is None and drug_text:
        match = kb.resolve_drug(drug_text)
        if match is None:
            # "diazepam tablets", "Valium (diazepam)": try each word and the text before a bracket
            for piece in (drug_text.split("(")[0], *drug_text.replace("(", " ").replace(")", " ").split()):
                match = kb.resolve_drug(piece, fuzzy=len(piece) >= 5)
                if match:
                    break
        if match:
            drug = kb.drugs[match.id]
    if drug is None and (drug_text or order.code):
        name = drug_text or f"RxNorm code {order.code}"
        out.problems.append(Problem("unknown-drug", "drug", f"'{name}' is not a drug in the knowledge pack"))
    out.drug = drug
    out.dose = dose
    out.frequency = frequency
    if drug is not None:
        out.normalised.drug = drug.id
        out.normalised.drug_name = drug.name
        out.normalised.components = list(drug.components)
        formulation = route
        written = (drug_text or "").lower()
        for brand, brand_formulation in drug.brand_formulations.items():
            if re.search(rf"\b{re.escape(brand.lower())}\b", written):
                formulation = brand_formulation  # "Amrix" is always the extended-release capsule
                out.extended_release = brand_formulation.endswith("-er")
        if out.extended_release and kb.dosing(drug.id, "adult", f"{route}-er") is not None:
            formulation = f"{route}-er"
        out.formulation = formulation
        if strengths and drug.components and len(strengths) == len(drug.components):
            out.component_mg = {c: (s, s) for c, s in zip(drug.components, strengths, strict=True)}
    _calculate(out)
    return out


def _calculate(out: PreparedOrder) -> None:
    n = out.normalised
    dose, freq = out.dose, out.frequency
    steps: list[str] = []
    if dose is not None and out.unit_assumed:
        steps.append(f"'{fmt(dose.high)}' has no unit: read as {fmt(dose.high)} mg")
    if dose is not None and dose.kind == "mass" and out.units_per_dose and not out.component_mg:
        lo, hi = out.units_per_dose
        if hi != 1 or lo != 1:
            unit_mg = dose.high_mg or 0.0
            dose.low_mg, dose.high_mg = (dose.low_mg or 0.0) * lo, unit_mg * hi
            dose.low, dose.high = dose.low * lo, dose.high * hi
            count = fmt(hi) if lo == hi else f"{fmt(lo)}–{fmt(hi)}"
            steps.append(f"{count} tablets of {fmt(unit_mg)} mg: up to {fmt(dose.high_mg)} mg per dose")
    if out.component_mg and out.units_per_dose:
        lo, hi = out.units_per_dose
        parts = ", ".join(f"{c} {fmt(mg[0])} mg" for c, mg in out.component_mg.items())
        out.component_mg = {c: (mg[0] * lo, mg[1] * hi) for c, mg in out.component_mg.items()}
        steps.append(f"each unit holds {parts}; up to {fmt(hi)} per dose")
    if dose is not None:
        if dose.kind == "mass":
            n.dose_mg = dose.high_mg
            if dose.low != dose.high:
                n.dose_range_mg = [dose.low_mg or 0.0, dose.high_mg or 0.0]
                steps.append(f"dose range {fmt(dose.low_mg or 0)}–{fmt(dose.high_mg or 0)} mg: "
                             f"the higher dose, {fmt(dose.high_mg or 0)} mg, is checked")
            if dose.unit not in ("mg", "mgs", "milligram", "milligrams"):
                steps.append(f"{fmt(dose.high)} {dose.unit} = {fmt(dose.high_mg or 0)} mg")
        elif not out.component_mg:
            steps.append(f"dose '{dose.text}' is not a mass and was not converted to mg")
    if freq is not None:
        n.frequency = freq.text
        n.doses_per_day = round(freq.doses_per_day, 4)
        if freq.interval_hours:
            lo, hi = freq.interval_hours
            if lo != hi:
                steps.append(f"every {fmt(lo)}–{fmt(hi)} hours: at most 24 h ÷ {fmt(lo)} h = "
                             f"{fmt(freq.doses_per_day)} doses/day")
            else:
                steps.append(f"every {fmt(lo)} hours = 24 h ÷ {fmt(lo)} h = {fmt(freq.doses_per_day)} doses/day")
    if freq is not None and out.max_doses_per_day is not None and out.max_doses_per_day < freq.doses_per_day:
        n.doses_per_day = round(out.max_doses_per_day, 4)
        steps.append(f"capped by the sig at {fmt(out.max_doses_per_day)} doses/day")
    if out.count_assumed:
        steps.append("no count written: one unit per dose")
    if n.prn and freq is not None:
        steps.append("as needed: the most it allows is checked")
    if n.days is None and n.quantity and n.doses_per_day:
        per_dose = out.units_per_dose[1] if out.units_per_dose else 1.0
        per_day = per_dose * n.doses_per_day
        n.days = max(1, math.ceil(n.quantity / per_day - 1e-9))
        out.days_from_quantity = True
        steps.append(f"quantity {fmt(n.quantity)} ÷ {fmt(per_day)} a day (at the most the sig allows) = "
                     f"{n.days} days supply, taken as the course length")
    if out.component_mg and n.doses_per_day is not None:
        for component, (_lo, hi) in out.component_mg.items():
            steps.append(f"{component}: {fmt(hi)} mg × {fmt(n.doses_per_day)} doses/day = "
                         f"{fmt(hi * n.doses_per_day)} mg/day")
    if n.dose_mg is not None and n.doses_per_day is not None:
        n.daily_mg = round(n.dose_mg * n.doses_per_day, 4)
        if out.max_daily_mg is not None and out.max_daily_mg < n.daily_mg:
            steps.append(f"the sig caps the day at {fmt(out.max_daily_mg)} mg")
            n.daily_mg = out.max_daily_mg
        per = "dose/day" if n.doses_per_day == 1 else "doses/day"
        steps.append(f"{fmt(n.dose_mg)} mg × {fmt(n.doses_per_day)} {per} = {fmt(n.daily_mg)} mg/day")
        if n.days:
            n.course_total_mg = round(n.daily_mg * n.days, 4)
            steps.append(f"{fmt(n.daily_mg)} mg/day × {n.days} days = {fmt(n.course_total_mg)} mg in the course")
    n.calculation = "; ".join(steps)
