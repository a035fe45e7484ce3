"""The JSON contracts of DESIGN.md, defined once as pydantic models.

Used by the engine, the CLI, the REST API (so OpenAPI is exact), CDS Hooks and the tests.
Inputs forbid unknown fields so that a typo ("medication" for "medications") is an
error naming the field instead of a silently ignored key.
"""


import functools
import typing
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Severity = Literal["info", "warning", "critical"]
Verdict = Literal["ok", "caution", "do-not-prescribe", "cannot-assess"]
DiazepamVerdict = Literal["consider-short-term", "not-yet", "not-recommended", "avoid"]
Audience = Literal["clinician", "patient"]


@functools.cache
def _numeric_fields(model: type[BaseModel]) -> frozenset[str]:
    """Fields typed as a number (int/float, optional or not) but not as bool."""
    names = []
    for name, field in model.model_fields.items():
        kinds = set(typing.get_args(field.annotation)) or {field.annotation}
        if kinds & {int, float} and bool not in kinds:
            names.append(name)
    return frozenset(names)


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: Any) -> Any:
        """``true`` is not 1 day or 1 year: pydantic would read it so; refuse it and name the field."""
        if isinstance(data, dict):
            for name in _numeric_fields(cls):
                if isinstance(data.get(name), bool):
                    raise ValueError(f"'{name}' must be a number, not true/false")
        return data


class Output(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# ----- inputs ------------------------------------------------------------------


class MedicationEntry(Input):
    name: str = Field(min_length=1, max_length=200)
    dose: str | None = Field(default=None, max_length=200)
    code: str | None = Field(default=None, max_length=40, description="RxNorm code, if known.")


class Case(Input):
    """A patient. Every field is optional; a check that needs a missing field says so (missing-data)."""

    age: float | None = Field(default=None, ge=0, le=130, description="Years.")
    sex: Literal["female", "male", "other", "unknown"] | None = None
    pregnant: bool | None = None
    gestational_weeks: float | None = Field(default=None, gt=0, le=45, description="Weeks of gestation, if pregnant.")
    setting: Literal["back-spasm", "post-spinal-fusion"] = "back-spasm"
    symptom_days: int | None = Field(default=None, ge=0, le=36500)
    surgery_phase: Literal["pre-op", "intra-op", "post-op"] | None = None
    hours_since_surgery: float | None = Field(default=None, ge=0, le=100000)
    pain_score: int | None = Field(default=None, ge=0, le=10)
    spasm: Literal["none", "mild", "moderate", "severe"] | None = None
    tried: list[str] = Field(default_factory=list, max_length=50, description="Therapies tried without enough relief.")
    conditions: list[str] = Field(default_factory=list, max_length=50)
    medications: list[str | MedicationEntry] = Field(default_factory=list, max_length=50)
    alcohol: Literal["none", "moderate", "heavy"] | None = None
    allergies: list[str] = Field(default_factory=list, max_length=50)
    symptoms: list[str] = Field(
        default_factory=list, max_length=50, description="Free-text symptoms (red flags are looked for here)."
    )

    @model_validator(mode="after")
    def _gestation_needs_pregnancy(self) -> Self:
        if self.gestational_weeks is not None and self.pregnant is False:
            raise ValueError("gestational_weeks is given but pregnant is false; give one or the other")
        return self


class Order(Input):
    """A proposed prescription: structured fields, or one free-text ``sig``."""

    drug: str | None = Field(default=None, max_length=200)
    dose: str | None = Field(default=None, max_length=100, description='e.g. "5 mg" or "5-10 mg"')
    frequency: str | None = Field(default=None, max_length=100, description='e.g. "q6h", "TID", "at bedtime"')
    days: int | None = Field(default=None, ge=1, le=3650)
    route: str = Field(default="oral", max_length=40)
    prn: bool = False
    sig: str | None = Field(default=None, max_length=500, description='e.g. "diazepam 5 mg PO q8h prn x 7 days"')
    code: str | None = Field(default=None, max_length=40, description="RxNorm code of the ordered product.")

    @model_validator(mode="after")
    def _something_to_check(self) -> Self:
        if not self.sig and not self.drug and not self.code:
            raise ValueError("an order needs 'sig', or 'drug' (with 'dose' and 'frequency')")
        return self


# ----- outputs -----------------------------------------------------------------


class SuggestedOrder(Output):
    """A safer order the user may accept (rendered as a CDS Hooks suggestion)."""

    drug: str
    dose_mg: float | None = None
    frequency: str | None = None
    doses_per_day: int | None = None
    days: int | None = None
    text: str


class TaperStep(Output):
    days: int
    daily_mg: float
    tablets: str | None = Field(default=None, description="How the daily dose is made from marketed tablets.")


class TaperPlan(Output):
    """How to stop: steps after the course ends, then stop (``total_days`` = the steps' days)."""

    steps: list[TaperStep]
    total_days: int
    kind: str | None = Field(default=None, description="stop-or-step-down, short-taper or paced-taper.")
    text: str | None = None


class Finding(Output):
    code: str
    severity: Severity
    title: str
    detail: str
    suggestion: str | None = None
    sources: list[str] = Field(default_factory=list)
    suggested_order: SuggestedOrder | None = None
    taper_plan: TaperPlan | None = None


class SourceRef(Output):
    id: str
    citation: str
    url: str | None = None
    kind: str | None = None
    evidence_level: str | None = None


class NormalisedOrder(Output):
    input: str
    drug: str | None = None
    drug_name: str | None = None
    components: list[str] = Field(default_factory=list)
    dose_mg: float | None = None
    dose_range_mg: list[float] | None = None
    doses_per_day: float | None = None
    frequency: str | None = None
    daily_mg: float | None = None
    days: int | None = None
    quantity: float | None = None
    course_total_mg: float | None = None
    route: str = "oral"
    prn: bool = False
    calculation: str = ""


class CheckResult(Output):
    order: NormalisedOrder
    verdict: Verdict
    findings: list[Finding]
    suggested_order: SuggestedOrder | None = Field(
        default=None, description="The one safer order for this result (null when none is offered)."
    )
    sources: list[SourceRef]
    knowledge_version: str


class Reason(Output):
    text: str
    sources: list[str]


class PlanStep(Output):
    id: str
    title: str
    text: str
    kind: str
    sources: list[str]


class DiazepamAssessment(Output):
    verdict: DiazepamVerdict
    reasons: list[Reason]
    dosing: str | None = None
    max_days: int | None = None
    taper: TaperPlan | None = None
    follow_up: list[str] | None = None
    monitoring: list[Reason] | None = None


class PreferredRelaxant(Output):
    drug: str
    dose: str
    frequency: str
    max_days: int
    reasons: list[Reason]
    check: CheckResult | None = None


class PlanUrgent(Output):
    """A red flag that needs urgent assessment before any treatment for spasm (shown first)."""

    level: Literal["emergency", "same-day", "contact-surgical-team"]
    text: str
    sources: list[str]
    flags: list[str] = Field(default_factory=list, description="Ids of the red flags found.")
    matched: list[str] = Field(default_factory=list, description="The words of the case that matched.")


class Plan(Output):
    urgent: PlanUrgent | None = None
    setting: str
    phase: str
    assumptions: list[str] = Field(default_factory=list)
    steps: list[PlanStep]
    diazepam: DiazepamAssessment
    preferred_muscle_relaxant: PreferredRelaxant | None = None
    findings: list[Finding]
    sources: list[SourceRef]
    knowledge_version: str


class ArticleItem(Output):
    text: str
    citations: list[int]
    statement: str | None = Field(default=None, description="The pack statement this item renders.")
    unsourced: bool = Field(
        default=False,
        description="An editorial statement with no published source (its only support is a seed document).",
    )


class ArticleSection(Output):
    heading: str
    items: list[ArticleItem]


class Reference(Output):
    n: int
    id: str
    citation: str
    url: str | None = None
    kind: str


class ReviewInfo(Output):
    status: str
    last_updated: str | None = None
    reviewer: str | None = None


class Urgent(Output):
    """A red flag the question mentions: shown before the bottom line."""

    level: Literal["emergency", "same-day", "contact-surgical-team"]
    text: str
    citations: list[int] = Field(default_factory=list)


class Article(Output):
    question: str
    audience: Audience
    covered: bool
    title: str
    answer_type: str = Field(default="overview", description="The question frame, e.g. dose, interaction, compare.")
    urgent: Urgent | None = None
    bottom_line: str
    bottom_line_citations: list[int] = Field(default_factory=list)
    sections: list[ArticleSection] = Field(description="The default, budgeted view.")
    more: list[ArticleSection] = Field(default_factory=list, description="Sections beyond the default view.")
    references: list[Reference]
    follow_up_questions: list[str]
    review: ReviewInfo
    disclaimer: str
    knowledge_version: str
