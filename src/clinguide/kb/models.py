"""Pydantic models of the knowledge pack.

The pack is data: every clinical number, pairing and sentence lives in YAML under
``clinguide/knowledge``; these models define its shape and the per-item checks.
Cross-item checks (unknown ids, unused sources, colliding names) live in
``clinguide.kb.validate``.
"""


import datetime as dt
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]
SourceId = Annotated[str, StringConstraints(pattern=r"^(S\d{2,3}[a-z]?|SEED\d{3}|VS\d{2})$")]

EvidenceLevel = Literal["V1", "V2", "UNVERIFIED"]
Severity = Literal["info", "warning", "critical"]
ReviewStatus = Literal["draft", "submitted", "under-review", "approved", "rejected", "retired"]
SourceKind = Literal[
    "label",
    "guideline",
    "criteria",
    "trial",
    "systematic-review",
    "regulatory-communication",
    "secondary-summary",
    "pharmacokinetic-study",
    "value-set",
    "code-table",
    "review",
    "seed-document",
]
Setting = Literal["back-spasm", "post-spinal-fusion"]
Phase = Literal["acute", "subacute", "chronic", "pre-op", "intra-op", "post-op-early", "post-op-late", "post-op"]
Population = Literal[
    "adult",
    "older-adult",
    "hepatic-impairment",
    "severe-hepatic-impairment",
    "renal-impairment",
    "severe-renal-impairment",
]
FindingCode = Literal[
    "unknown-drug",
    "unparseable-order",
    "implausible-dose",
    "dose-above-max",
    "daily-dose-above-max",
    "frequency-above-max",
    "duration-exceeds-limit",
    "geriatric-avoid",
    "geriatric-dose-high",
    "opioid-benzodiazepine",
    "cns-depressant-combination",
    "alcohol",
    "duplicate-therapy",
    "contraindicated-condition",
    "contraindicated-drug",
    "serotonergic-combination",
    "caution-condition",
    "substance-use-history",
    "pregnancy",
    "hepatic-impairment",
    "renal-impairment",
    "first-line-not-tried",
    "not-recommended-setting",
    "taper-needed",
    "allergy",
    "missing-data",
    "unknown-condition",
    "unknown-medication",
    "drug-interaction",
    "red-flag",
    "dose-unit-assumed",
    "pediatric-not-assessed",
    "pediatric-dosing",
]
Section = Literal[
    "overview",
    "first-line",
    "non-drug",
    "when-to-consider",
    "dosing",
    "evidence",
    "cautions",
    "cns-effects",
    "dependence",
    "interactions",
    "special-populations",
    "alternatives",
    "monitoring",
    "taper",
    "algorithm",
    "post-op",
    "mechanism",
]
Intent = Literal[
    "should-use",
    "dose",
    "evidence",
    "safety",
    "interactions",
    "alternatives",
    "stopping",
    "non-drug",
    "post-op",
    "overview",
    "mechanism",
]


class Strict(BaseModel):
    """Base: unknown keys are errors, so a typo in the YAML never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Review(Strict):
    status: ReviewStatus
    reviewer: str | None = None
    last_reviewed: dt.date | None = None

    @model_validator(mode="after")
    def _approved_needs_reviewer(self) -> Self:
        if self.status == "approved" and (not self.reviewer or not self.last_reviewed):
            raise ValueError("an approved item needs a reviewer and a last_reviewed date")
        return self


class Sourced(Strict):
    """A fact with its provenance.

    ``sources`` are the evidence a user is shown. ``origin`` records where a claim came from
    in the pack when that is a seed document (an AI-written summary, not evidence): a claim
    with an origin and no sources is an unsourced editorial statement (``editorial``), which
    the validator keeps out of findings, verdict reasons' evidence and bottom lines.
    """

    sources: list[SourceId] = Field(default_factory=list)
    origin: list[SourceId] = Field(
        default_factory=list, description="Seed documents the claim came from (provenance, not evidence)."
    )
    evidence: EvidenceLevel = "V1"

    @model_validator(mode="after")
    def _some_provenance(self) -> Self:
        if not self.sources and not self.origin:
            raise ValueError("needs sources (evidence), or an origin for an unsourced editorial statement")
        return self

    @property
    def editorial(self) -> bool:
        """True for a claim no cited source supports (it rests on its origin alone)."""
        return not self.sources


class PackInfo(Strict):
    name: str
    version: str
    released: dt.date
    description: str


class Source(Strict):
    id: SourceId
    short: str = Field(description="A short label for cards and tables, e.g. 'Diazepam FDA label'.")
    citation: str
    identifier: str | None = Field(default=None, description="PMID, DOI, set id or other identifier.")
    url: str | None = None
    kind: SourceKind
    evidence_level: EvidenceLevel
    date: str = Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$", description="Date of the evidence: YYYY[-MM[-DD]].")
    notes: str | None = None
    superseded_by: list[SourceId] = Field(
        default_factory=list, description="Primary documents cited instead of this reproduction (kept for the record)."
    )
    review: Review


class DrugClass(Strict):
    id: Id
    name: str
    description: str
    sources: list[SourceId] = Field(min_length=1)
    review: Review


class Range(Strict):
    min: float = Field(ge=0)
    max: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class IntRange(Strict):
    min: int = Field(ge=1)
    max: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class DosingRule(Sourced):
    """Dosing for one population and formulation.

    ``max_daily_basis`` says where the daily limit comes from; ``top-of-labelled-range``
    marks a limit that is only the arithmetic top of a labelled range (diazepam).
    """

    population: Population
    formulation: str = "oral"
    indication: str | None = None
    single_dose_mg: Range | None = None
    doses_per_day: IntRange | None = None
    interval_hours: Range | None = None
    max_daily_mg: float | None = Field(default=None, gt=0)
    max_daily_basis: Literal["label", "top-of-labelled-range", "compendium", "criteria", "regulator"] | None = None
    start: str | None = Field(default=None, description="How to start, in words.")
    titration: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.max_daily_mg is not None and self.max_daily_basis is None:
            raise ValueError("max_daily_mg needs max_daily_basis")
        if self.single_dose_mg and self.max_daily_mg and self.single_dose_mg.min > self.max_daily_mg:
            raise ValueError("the smallest single dose is above the maximum daily dose")
        return self


class DurationLimit(Sourced):
    days: int = Field(gt=0)
    severity: Severity = "warning"
    text: str = Field(description="Why the limit exists, in words (no numbers: they are rendered).")


class TaperBand(Sourced):
    """How to stop after one band of exposure (course length, at or below the adult maximum daily dose).

    A plan removes ``reduce_fraction`` of the starting daily dose every ``step_days``; when
    ``max_share_of_course`` is set, the whole plan is shortened to at most that share of the
    course (a brief step-down is never longer than the course it ends).
    """

    id: Id
    up_to_days: int | None = Field(default=None, gt=0, description="Longest course in this band; None: no limit.")
    kind: Literal["stop-or-step-down", "short-taper", "paced-taper"]
    reduce_fraction: float = Field(gt=0, le=1)
    step_days: int = Field(gt=0)
    max_share_of_course: float | None = Field(default=None, gt=0, le=1)
    text: str = Field(description="What the sources say for this band, in words (numbers are rendered).")


class Taper(Sourced):
    """When a taper is needed and its pace; schedules are computed from these.

    ``reduce_fraction`` / ``step_days`` are the fastest usual pace for a physically dependent
    patient; ``bands`` (shortest first) choose the plan by exposure. Daily doses in a plan are
    those the marketed ``tablet_mg`` strengths make (halves too when ``halves``).
    """

    needed_after_days: int = Field(ge=0)
    reduce_fraction: float = Field(gt=0, le=1, description="Fraction of the starting daily dose removed each step.")
    step_days: int = Field(gt=0)
    text: str
    tablet_mg: list[float] = Field(default_factory=list)
    tablet_sources: list[SourceId] = Field(default_factory=list)
    halves: bool = False
    halves_note: str | None = None
    bands: list[TaperBand] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bands_ordered(self) -> Self:
        limits = [b.up_to_days for b in self.bands]
        if None in limits[:-1]:
            raise ValueError("only the last taper band may be open-ended (no up_to_days)")
        bounded = [x for x in limits if x is not None]
        if bounded != sorted(set(bounded)):
            raise ValueError("taper bands must be listed shortest first, with distinct up_to_days")
        if self.tablet_mg and not self.tablet_sources:
            raise ValueError("tablet_mg needs tablet_sources")
        return self


class ConditionRule(Sourced):
    """What a condition on the case means for this drug."""

    conditions: list[Id] = Field(min_length=1)
    code: Literal[
        "contraindicated-condition",
        "caution-condition",
        "hepatic-impairment",
        "renal-impairment",
        "substance-use-history",
        "pregnancy",
    ]
    severity: Severity
    min_age: int | None = Field(default=None, description="Applies only at or above this age.")
    text: str
    suggestion: str | None = None


class OlderAdultRule(Sourced):
    recommendation: Literal["avoid", "caution"]
    quality: str | None = None
    strength: str | None = None
    severity: Severity = "warning"
    text: str
    suggestion: str | None = None


class SettingRule(Sourced):
    setting: Setting
    phases: list[Phase] = Field(default_factory=list, description="Empty: every phase of the setting.")
    severity: Severity
    text: str
    suggestion: str | None = None
    suggest_drug: Id | None = None


class FirstLineRule(Sourced):
    """Ordering this drug before first-line care has been tried gives first-line-not-tried."""

    setting: Setting
    tried_any_of: list[Id] = Field(min_length=1, description="Therapy ids; one tried is enough.")
    severity: Severity = "warning"
    text: str
    suggestion: str | None = None


class PediatricRule(Sourced):
    """What the label says about patients under the adult age for one formulation.

    ``adult_dosing_from_age``: from this age the adult dosing rule applies (label or criteria);
    None means the pack holds no paediatric rule and a younger patient cannot be assessed.
    """

    formulation: str = "oral"
    adult_dosing_from_age: int | None = Field(default=None, ge=0, le=18)
    text: str


class Fact(Sourced):
    text: str
    patient: str | None = None


class RxCode(Strict):
    code: str = Field(pattern=r"^\d+$")
    verified: bool
    sources: list[SourceId] = Field(default_factory=list)


class Drug(Strict):
    """A monograph (role ``monograph``) or an interacting agent the checks must recognise."""

    id: Id
    name: str
    role: Literal["monograph", "agent"]
    brands: list[str] = Field(default_factory=list)
    synonyms: list[str] = Field(default_factory=list)
    misspellings: list[str] = Field(default_factory=list)
    classes: list[Id] = Field(default_factory=list)
    components: list[Id] = Field(default_factory=list, description="For combination products: ingredient ids.")
    rxnorm: RxCode | None = None
    atc: str | None = None
    schedule: Fact | None = None
    summary: str | None = None
    dosing: list[DosingRule] = Field(default_factory=list)
    duration_limit: DurationLimit | None = None
    taper: Taper | None = None
    hypersensitivity: Fact | None = None
    condition_rules: list[ConditionRule] = Field(default_factory=list)
    older_adults: OlderAdultRule | None = None
    pediatric: list[PediatricRule] = Field(default_factory=list)
    brand_formulations: dict[str, str] = Field(
        default_factory=dict, description="Brand (lower case) -> formulation it always is, e.g. amrix: oral-er."
    )
    pregnancy: Fact | None = None
    lactation: Fact | None = None
    adverse_effects: list[Fact] = Field(default_factory=list)
    setting_rules: list[SettingRule] = Field(default_factory=list)
    first_line: list[FirstLineRule] = Field(default_factory=list)
    sources: list[SourceId] = Field(default_factory=list, description="Sources of names, classes and schedule.")
    origin: list[SourceId] = Field(default_factory=list, description="Seed documents (provenance, not evidence).")
    review: Review

    @model_validator(mode="after")
    def _monograph_complete(self) -> Self:
        if self.role == "monograph" and not self.dosing:
            raise ValueError("a monograph needs at least one dosing rule")
        if self.role == "monograph" and not any(r.population == "adult" for r in self.dosing):
            raise ValueError("a monograph needs an adult dosing rule")
        return self


class Condition(Strict):
    id: Id
    name: str
    synonyms: list[str] = Field(default_factory=list)
    implies: list[Id] = Field(default_factory=list, description="Broader conditions this one implies.")
    patient_name: str | None = None
    sources: list[SourceId] = Field(default_factory=list)
    origin: list[SourceId] = Field(default_factory=list, description="Seed documents (provenance, not evidence).")
    review: Review


class Therapy(Strict):
    id: Id
    name: str
    kind: Literal["non-drug", "medication"]
    synonyms: list[str] = Field(default_factory=list)
    drug_classes: list[Id] = Field(
        default_factory=list, description="Taking a drug of these classes counts as trying it."
    )
    drugs: list[Id] = Field(default_factory=list, description="Taking one of these drugs counts as trying it.")
    sources: list[SourceId] = Field(default_factory=list)
    origin: list[SourceId] = Field(default_factory=list, description="Seed documents (provenance, not evidence).")
    review: Review


class Selector(Strict):
    drugs: list[Id] = Field(default_factory=list)
    classes: list[Id] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.drugs and not self.classes:
            raise ValueError("a selector needs drugs or classes")
        return self


class InteractionRule(Sourced):
    """A pairing between the ordered drug and another drug the patient takes.

    The rule fires when the order matches ``order`` and some other drug on the case
    matches ``other`` (and, if ``symmetric``, also the other way round).  With
    ``min_count`` it fires when at least that many drugs, the order included, match
    ``other`` (Beers: three or more CNS-active drugs).
    """

    id: Id
    code: FindingCode
    severity: Severity
    order: Selector
    other: Selector
    symmetric: bool = True
    min_age: int | None = None
    min_count: int | None = Field(default=None, ge=2)
    supersedes: list[Id] = Field(
        default_factory=list,
        description="Rules that do not fire for a drug pair this rule has fired for (the specific over the general).",
    )
    within_days: int | None = Field(default=None, description="Also applies this long after stopping the other drug.")
    title: str
    text: str
    suggestion: str | None = None
    review: Review


class Statement(Sourced):
    """The atom of every answer: one claim, in clinician and patient words, with sources.

    Numbers for doses, limits and durations are written as placeholders
    (``{dose:diazepam:adult}``) and rendered from the monograph.
    """

    id: Id
    section: Section
    title: str | None = None
    topics: list[str] = Field(default_factory=list)
    intents: list[Intent] = Field(default_factory=list)
    drugs: list[Id] = Field(default_factory=list)
    settings: list[Setting] = Field(default_factory=list)
    phases: list[Phase] = Field(default_factory=list)
    clinician: str
    patient: str | None = None
    audience: Literal["both", "clinician"] = "both"
    safety: bool = False
    key: bool = Field(default=False, description="A bottom-line candidate for its drugs and setting.")
    literal_numbers: str | None = Field(
        default=None,
        description="Why this text may state numbers that are not from a monograph (e.g. a trial's result).",
    )
    evidence_note: str | None = None
    review: Review

    @model_validator(mode="after")
    def _patient_text(self) -> Self:
        if self.audience == "both" and not self.patient:
            raise ValueError("a patient-facing statement (audience 'both') needs patient text")
        return self


RedFlagLevel = Literal["emergency", "same-day", "contact-surgical-team"]


class RedFlag(Sourced):
    """A symptom that needs action before any treatment advice, with the action and who it applies to.

    ``triggers`` are plain phrases matched negation-aware by ``clinguide.clinical.red_flags``;
    ``"A + B"`` needs both phrases.
    """

    id: Id
    name: str
    group: Id
    settings: list[Setting] = Field(min_length=1)
    level: RedFlagLevel
    triggers: list[Annotated[str, StringConstraints(min_length=2)]] = Field(min_length=1)
    clinician: str
    patient: str
    evidence_note: str | None = None
    review: Review


class PhaseDefinition(Sourced):
    id: Phase
    setting: Setting
    name: str
    symptom_days: Range | None = Field(default=None, description="[min, max) days of symptoms.")
    hours_since_surgery: Range | None = Field(default=None, description="[min, max) hours after surgery.")
    surgery_phase: Literal["pre-op", "intra-op", "post-op"] | None = None
    review: Review


class StepCriteria(Strict):
    """When a step applies; every given field must hold (no string eval)."""

    spasm_at_least: Literal["mild", "moderate", "severe"] | None = None
    first_line_tried: bool | None = None
    max_age: int | None = None
    not_older_adult: bool = Field(
        default=False, description="Only below the policy's older-adult age (e.g. relaxants on the Beers list)."
    )
    not_pregnant_from_weeks: int | None = Field(
        default=None, gt=0,
        description="Not in pregnancy from this many weeks; a pregnancy of unknown weeks counts as past it.",
    )
    pregnant_from_weeks: int | None = Field(
        default=None, gt=0, description="Only in pregnancy from this many weeks (unknown weeks count as past it)."
    )


class PlanStep(Strict):
    id: Id
    title: str
    kind: Literal[
        "non-drug",
        "first-line-medication",
        "muscle-relaxant",
        "analgesic",
        "exercise",
        "rehabilitation",
        "regional-anesthesia",
        "opioid-rescue",
        "monitoring",
        "avoid",
    ]
    statements: list[Id] = Field(min_length=1)
    drugs: list[Id] = Field(default_factory=list)
    when: StepCriteria | None = None


class Plan(Strict):
    id: Id
    setting: Setting
    phase: Phase
    title: str
    steps: list[PlanStep] = Field(min_length=1)
    review: Review


class PreferredRelaxant(Sourced):
    setting: Setting
    phases: list[Phase] = Field(min_length=1)
    drug: Id
    population: Population = "adult"
    days: int = Field(gt=0, description="Course length the sources advise for this setting.")
    reason: str


class VerdictRule(Sourced):
    """One rule of the diazepam verdict; the first rule that matches decides."""

    verdict: Literal["consider-short-term", "not-yet", "not-recommended", "avoid"]
    when_finding_severity: Severity | None = None
    when_finding_codes: list[FindingCode] = Field(default_factory=list)
    when_phases: list[Phase] = Field(default_factory=list)
    when_spasm: list[Literal["none", "mild", "moderate", "severe"]] = Field(default_factory=list)
    when_first_line_not_tried: bool = False
    reason: str


class LabTest(Strict):
    id: Literal["egfr", "crcl"]
    names: list[str] = Field(min_length=1, description="How the test is written (lower case).")
    unit: str


class RenalCategory(Strict):
    """A KDIGO GFR category and the conditions a value in it gives. ``min`` inclusive, ``max`` exclusive."""

    stage: str
    min: float | None = None
    max: float | None = None
    aliases: list[str] = Field(default_factory=list, description="Stage words: '4', 'iv', 'g4'.")
    conditions: list[Id] = Field(default_factory=list)
    term: str


class GestationRule(Strict):
    from_weeks: float = Field(gt=0, le=45)
    conditions: list[Id] = Field(min_length=1)


class ConditionLanguage(Strict):
    """Vocabulary of the ConText-style resolver of free-text problems (clinical/conditions.py).

    Status modifiers and uncertainty words are removed and the condition still counts (a past
    condition matters for these rules); negation triggers make the rest of the phrase absent.
    """

    negation_before: list[str] = Field(min_length=1)
    negation_after: list[str] = Field(default_factory=list)
    pseudo_negation: list[str] = Field(default_factory=list, description="Look like negation but are not.")
    terminators: list[str] = Field(default_factory=list, description="End a negation's scope.")
    status_before: list[str] = Field(default_factory=list)
    status_after: list[str] = Field(default_factory=list)
    uncertainty: list[str] = Field(default_factory=list)
    filler: list[str] = Field(default_factory=list, description="Words that may be left over in a combined phrase.")
    abbreviations: dict[str, str] = Field(default_factory=dict)
    lab_tests: list[LabTest] = Field(default_factory=list)
    renal_categories: list[RenalCategory] = Field(default_factory=list)
    renal_sources: list[SourceId] = Field(min_length=1)
    gestation: list[GestationRule] = Field(default_factory=list)
    pregnancy_words: list[str] = Field(
        default_factory=list, description="Words that make 'N weeks' in a problem a gestational age.")
    gestation_sources: list[SourceId] = Field(min_length=1)
    stopped_before: list[str] = Field(
        default_factory=list, description="Before a medicine's name: it was stopped ('no longer taking', 'stopped').")
    stopped_after: list[str] = Field(
        default_factory=list, description="After a medicine's name: it was stopped ('(discontinued)', 'stopped').")
    stopped_time_words: list[str] = Field(
        default_factory=list, description="Words of when it was stopped that may follow the name ('last month').")
    sources: list[SourceId] = Field(min_length=1)


class FindingText(Strict):
    """Wording of one finding (title, detail, suggestion) or one phrase (text), with named fields."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]*$")]
    title: str | None = None
    detail: str | None = None
    suggestion: str | None = None
    text: str | None = None


class FindingGroups(Strict):
    """Which finding codes mean what to assess, the safer-order search, the CDS cards and the population audit."""

    order_only: list[FindingCode] = Field(default_factory=list)
    not_about_patient: list[FindingCode] = Field(default_factory=list)
    relaxant_blocking: list[FindingCode] = Field(default_factory=list)
    over_limit: list[FindingCode] = Field(default_factory=list)
    about_patient: list[FindingCode] = Field(default_factory=list)
    population: list[FindingCode] = Field(default_factory=list)
    cds_interaction: list[FindingCode] = Field(default_factory=list)
    cds_info_shown: list[FindingCode] = Field(default_factory=list)
    no_taper_plan: list[FindingCode] = Field(default_factory=list)
    one_per_problem: list[FindingCode] = Field(default_factory=list)
    no_same_drug_suggestion: list[FindingCode] = Field(default_factory=list)
    audit_advice: list[FindingCode] = Field(default_factory=list)
    audit_not_checked: list[FindingCode] = Field(default_factory=list)


class ProcedureTerms(Strict):
    """A procedure recognised in coded text: a term of every group must occur (case-insensitive)."""

    id: Id
    setting: Setting
    match_all: list[list[Annotated[str, StringConstraints(min_length=3)]]] = Field(min_length=1)
    provenance: str = Field(min_length=1, description="Where the terms come from, and why no code value set.")

    def matches(self, text: str) -> bool:
        lowered = text.lower()
        return all(any(term.lower() in lowered for term in group) for group in self.match_all)

    def mentions(self, word: str) -> bool:
        """True when one word of a text is one of this procedure's terms (or contains one)."""
        lowered = word.lower()
        return any(term.lower() in lowered for group in self.match_all for term in group)


class Policy(Strict):
    """Pack-wide settings of the engine, each with its source."""

    older_adult_min_age: int
    older_adult_sources: list[SourceId] = Field(min_length=1)
    implausible_dose_factor: float = Field(
        gt=1, description="A single dose above this multiple of the labelled maximum is treated as an entry error."
    )
    diazepam_max_days: int = Field(
        gt=0, description="At most the assessed drug's duration limit (checked by kb validate).")
    diazepam_max_days_sources: list[SourceId] = Field(min_length=1)
    diazepam_max_days_origin: list[SourceId] = Field(default_factory=list)
    reassess_within_days: int = Field(gt=0)
    reassess_sources: list[SourceId] = Field(default_factory=list)
    reassess_origin: list[SourceId] = Field(default_factory=list)
    monitoring: list[Id] = Field(default_factory=list, description="Statement ids of what to monitor.")
    preferred_relaxants: list[PreferredRelaxant] = Field(default_factory=list)
    diazepam_verdict_rules: list[VerdictRule] = Field(min_length=1)
    disclaimer_clinician: str
    disclaimer_patient: str
    critical_dose_factor: float = Field(
        default=2, gt=1, description="A dose above this multiple of the labelled maximum is critical."
    )
    critical_dose_rationale: str = ""
    adult_min_age: int = Field(default=18, ge=1, le=21)
    adult_min_age_sources: list[SourceId] = Field(default_factory=list)
    pregnancy_possible_ages: Range | None = None
    pregnancy_possible_rationale: str = ""
    condition_language: ConditionLanguage | None = None
    finding_groups: FindingGroups = Field(default_factory=FindingGroups)
    finding_order: list[Id] = Field(
        default_factory=list, description="Order of codes within one severity (input problems first).")
    impairment_populations: dict[Population, FindingCode] = Field(default_factory=dict)
    cds_scope_classes: list[Id] = Field(default_factory=list)
    assessed_drug: Id
    spasm_assumed: Literal["none", "mild", "moderate", "severe"]
    spasm_assumed_text: str
    spasm_missing_text: str
    procedures: list[ProcedureTerms] = Field(default_factory=list)
    urgent_plan_drop_kinds: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Red-flag level -> plan step kinds left out until the red flag has been assessed.")
    review: Review


class CodedProduct(Strict):
    code: str = Field(pattern=r"^\d+$")
    display: str
    drugs: list[Id] = Field(min_length=1, description="Ingredient drug ids the product contains.")
    extended_release: bool = Field(default=False, description="The display names an extended-release form.")


class CodeList(Strict):
    """RxNorm product codes imported from a public value set by scripts/import_valuesets.py."""

    id: Id
    title: str
    source: SourceId
    origin: str = Field(description="Where the list came from (file and upstream value set).")
    expansion: str
    imported: dt.date
    products: list[CodedProduct]
    review: Review | None = None
