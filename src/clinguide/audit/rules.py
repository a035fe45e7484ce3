"""The pack's own rules over dispenses: every dispense of a pack drug goes through ``clinguide.checks.check``.

No rule is re-typed here. A dispense becomes an Order (drug, dose and frequency from its dosage
instruction, days from ``daysSupply``) and a Case (age on the dispense date, sex, and the other
pack drugs whose supply covers that date); the findings are what ``clinguide check`` would give.
Two steps, the same Python on both engines, so results are identical:
1. ``dispense_keys`` over whole patients (a process pool over patient partitions on DuckDB,
   ``applyInPandas`` on Spark) turns each dispense into its exact check key (drug, dose, frequency,
   days, age, sex, co-covered drugs);
2. ``findings_for_keys`` runs ``check`` once per distinct key (spread over the pool / ``mapInPandas``);
   the engine joins the findings back to the dispenses. Identical keys give identical findings, so
   this is the speed, not a shortcut.

Left out on purpose: rules about the clinical setting and first-line therapy (a dispense does not
say why it was prescribed or what was tried): ``first-line-not-tried``, ``not-recommended-setting``
and the "phase unknown" note of the setting rules are dropped (``NOT_FROM_DISPENSES``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a frame is built: the measure alone never needs it
    import pandas as pd

NOT_FROM_DISPENSES = frozenset({"first-line-not-tried", "not-recommended-setting"})
# missing-data findings that only say a setting rule could not be placed: dispenses never carry the setting
NOT_FROM_DISPENSES_TITLES = frozenset({("missing-data", "Phase unknown: a setting rule could not be checked")})
_NAME_BEFORE_STRENGTH = re.compile(r"^\D*?(?=\s+\d)")
INPUT_COLUMNS = ["patient_id", "disp_id", "src_file", "src_line", "day", "days_supply", "drug_id", "display",
                 "dosage", "in_year", "birth", "gender"]
KEYED_COLUMNS = ["patient_id", "disp_id", "src_file", "src_line", "day", "drug_id", "age", "age_band", "key"]
KEY_FINDING_COLUMNS = ["key", "code", "severity", "title", "detail"]
FINDING_COLUMNS = ["patient_id", "disp_id", "src_file", "src_line", "day", "drug_id", "age", "age_band",
                   "code", "severity", "title", "detail"]
DOSE_NOT_IN_MG = ("missing-data", "info", "Dose not recorded in mg: dose, daily-dose and duration checks not run")
AGE_BANDS = ((0, 18, "0-17"), (18, 45, "18-44"), (45, 65, "45-64"), (65, 75, "65-74"), (75, 85, "75-84"),
             (85, 200, "85+"))
SEXES = ("female", "male", "other", "unknown")


@lru_cache(maxsize=256)
def age_band(age: int | None) -> str:
    if age is None:
        return "unknown"
    for low, high, label in AGE_BANDS:
        if low <= age < high:
            return label
    return "unknown"


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


@lru_cache(maxsize=8192)
def _calendar_day(day: int) -> tuple[int, int, int]:
    on = dt.date.fromordinal(_EPOCH_ORDINAL + day)
    return on.year, on.month, on.day


@lru_cache(maxsize=65536)
def _birth_parts(birth: str) -> tuple[int, int, int] | None:
    try:
        return int(birth[0:4]), int(birth[5:7]), int(birth[8:10])
    except ValueError:
        return None


def age_on(birth: str | None, day: int) -> int | None:
    """Whole years on an epoch day; ``birth`` is 'YYYY-MM-DD' (a partial date already set to its latest day)."""
    if not birth or len(birth) < 10:
        return None
    parts = _birth_parts(birth)
    if parts is None:
        return None
    y, m, d = parts
    on_y, on_m, on_d = _calendar_day(int(day))
    years = on_y - y - ((on_m, on_d) < (m, d))
    return years if 0 <= years <= 130 else None


@lru_cache(maxsize=4096)
def order_fields(drug_id: str, display: str, dosage: str | None) -> tuple[str | None, str | None]:
    """(dose in mass units, frequency) from a FHIR Dosage (JSON text); (None, None) when no mass dose is known."""
    from clinguide.clinical.sig import SigParseError, parse_sig
    from clinguide.fhir.dosage import read_dose, read_frequency
    from clinguide.kb import get_kb

    if not dosage:
        return None, None
    try:
        data = json.loads(dosage)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    notes: list[str] = []
    problems: list = []  # a zero, negative or absurd number is left out (never repaired), as in CDS Hooks
    dose = read_dose(data, _strength_names(drug_id, display), notes, problems)
    frequency = read_frequency(data, problems)
    text = data.get("text") if isinstance(data.get("text"), str) else None
    if (dose is None or frequency is None) and text:
        name = get_kb().drugs[drug_id].name if drug_id in get_kb().drugs else drug_id
        for candidate in (text, f"{name} {text}"):
            try:
                parsed = parse_sig(candidate)
            except SigParseError:
                continue
            if dose is None and parsed.dose is not None:
                dose = parsed.dose.text
            if frequency is None and parsed.frequency is not None:
                frequency = parsed.frequency.text
            break
    if dose is not None and not _is_mass(dose):
        return None, frequency
    return dose, frequency


def _strength_names(drug_id: str, display: str) -> list[str]:
    """The part of a product name that gives THIS drug's strength ("acetaminophen 325 MG / hydrocodone
    bitartrate 5 MG Oral Tablet" -> the acetaminophen part for acetaminophen); [] when it cannot be told."""
    from clinguide.kb import get_kb

    pieces = [p.strip() for p in display.split(" / ") if p.strip()]
    if len(pieces) <= 1:
        return pieces
    kb = get_kb()
    for piece in pieces:
        name = _NAME_BEFORE_STRENGTH.match(piece)
        match = kb.resolve_drug(name.group(0).strip(), fuzzy=False) if name and name.group(0).strip() else None
        if match is not None and match.id == drug_id:
            return [piece]
    return []


@lru_cache(maxsize=1024)
def _is_mass(dose: str) -> bool:
    from clinguide.clinical.sig import SigParseError, parse_dose

    try:
        parsed = parse_dose(dose)
    except SigParseError:
        return False
    return parsed is not None and parsed.kind == "mass"


def preload() -> None:
    """Import what the per-dispense checks use and load the pack, so processes forked afterwards start warm."""
    import pandas  # noqa: F401  (the frames the workers receive)

    from clinguide.checks import registry  # noqa: F401
    from clinguide.clinical import case, order, sig  # noqa: F401
    from clinguide.fhir import dosage  # noqa: F401
    from clinguide.kb import get_kb

    findings_for.__wrapped__("diazepam", "5 mg", "3 times daily", 7, 40, "female", ("oxycodone",))  # lazy imports
    get_kb()


def order_and_case(drug_id: str, dose: str | None, frequency: str | None, days: int | None, age: int | None,
                   sex: str | None, others: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Order and Case (as ``check`` accepts them) of one dispense's key."""
    order: dict[str, Any] = {"drug": drug_id}
    if days is not None and 1 <= days <= 3650:
        order["days"] = days
    if dose is not None:
        order["dose"] = dose
        if frequency:
            order["frequency"] = frequency
    case: dict[str, Any] = {"medications": list(others)}
    if age is not None:
        case["age"] = age
    if sex in SEXES:
        case["sex"] = sex
    return order, case


# The audit's fast path into check's own engine: many keys share the order or the patient, so the validated,
# prepared order and case are made once each and reused (the check families only read them). Findings are
# exactly check(order, case, suggest=False).findings; tests/audit compare them with check() on every distinct
# key of a generated population.
@lru_cache(maxsize=8192)
def _prepared_order(drug_id: str, dose: str | None, frequency: str | None, days: int | None) -> Any:
    from clinguide.clinical.order import prepare_order
    from clinguide.contracts import Order
    from clinguide.kb import get_kb

    order, _case = order_and_case(drug_id, dose, frequency, days, None, None, ())
    return prepare_order(Order.model_validate(order), get_kb())


@lru_cache(maxsize=8192)
def _prepared_case(age: int | None, sex: str | None, others: tuple[str, ...]) -> Any:
    from clinguide.clinical.case import prepare_case
    from clinguide.contracts import Case
    from clinguide.kb import get_kb

    _order, case = order_and_case("", None, None, None, age, sex, others)
    return prepare_case(Case.model_validate(case), get_kb())


def check_findings(drug_id: str, dose: str | None, frequency: str | None, days: int | None, age: int | None,
                   sex: str | None, others: tuple[str, ...]) -> list[Any]:
    """``check(order, case, suggest=False).findings`` for one key, with the order and case prepared once."""
    from clinguide.checks.base import CheckContext, kb_index
    from clinguide.checks.registry import run_all
    from clinguide.kb import get_kb

    kb = get_kb()
    ctx = CheckContext(kb=kb, order=_prepared_order(drug_id, dose, frequency, days),
                       case=_prepared_case(age, sex, others), index=kb_index(kb))
    return run_all(ctx)


@lru_cache(maxsize=200_000)
def findings_for(drug_id: str, dose: str | None, frequency: str | None, days: int | None, age: int | None,
                 sex: str | None, others: tuple[str, ...]) -> tuple[tuple[str, str, str, str], ...]:
    """(code, severity, title, detail) of what ``check`` finds for this order and patient, memoised.

    The safer-order search of ``check`` is left out: it only sets the findings' suggested_order (and re-runs
    check for the candidate), which an audit does not report; code, severity, title and detail are the same."""
    out = []
    for f in check_findings(drug_id, dose, frequency, days, age, sex, others):
        if f.code in NOT_FROM_DISPENSES or (f.code, f.title) in NOT_FROM_DISPENSES_TITLES:
            continue
        if dose is None and f.code == "unparseable-order":
            continue  # replaced by one explicit "dose not recorded in mg" finding below
        out.append((f.code, f.severity, f.title, f.detail))
    if dose is None:
        out.append((*DOSE_NOT_IN_MG, "The dispense's dosage instruction gives no dose in mg (or no dosage "
                    "instruction), so the dose, daily-dose and duration checks of the pack did not run; "
                    "age and interaction checks did."))
    return tuple(out)


def dispense_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """Step 1, over whole patients: each dispense of the year with its check key (order + patient facts).

    Input: one row per (completed dispense, pack drug), any date, with ``patient_id, disp_id, src_file,
    src_line, day, days_supply, drug_id, display, dosage, in_year, birth, gender``. Earlier dispenses
    count only as drugs covering a later date."""
    rows: list[tuple[Any, ...]] = []
    by_patient: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for rec in frame[INPUT_COLUMNS].itertuples(index=False, name=None):
        by_patient[rec[0]].append((rec[0], rec[1], rec[2], int(rec[3]), int(rec[4]), int(rec[5]), *rec[6:]))
    for patient_id in sorted(by_patient):
        recs = sorted(by_patient[patient_id], key=lambda r: (r[4], r[1], r[6]))
        spans = [(r[4], r[4] + r[5], r[1], r[6]) for r in recs]
        for rec in recs:
            _pid, disp_id, src_file, src_line, day, supply, drug_id, display, dosage, in_year, birth, gender = rec
            if not in_year:
                continue
            others = sorted({d for start, end, other_disp, d in spans
                             if start <= day < end and other_disp != disp_id and d != drug_id})
            age = age_on(birth, day)
            dose, frequency = order_fields(drug_id, display or "", dosage)
            key = _key(drug_id, dose, frequency, supply, age, gender if gender in SEXES else None, tuple(others))
            rows.append((patient_id, disp_id, src_file, src_line, day, drug_id, age, age_band(age), key))
    import pandas as pd

    out = pd.DataFrame(rows, columns=KEYED_COLUMNS)
    return out.astype({"src_line": "int64", "day": "int64", "age": "Int64"})


@lru_cache(maxsize=65536)
def _key(drug_id: str, dose: str | None, frequency: str | None, supply: int, age: int | None, sex: str | None,
         others: tuple[str, ...]) -> str:
    """The check key as JSON text (memoised: most dispenses repeat an order already seen)."""
    return json.dumps([drug_id, dose, frequency, supply, age, sex, list(others)], separators=(",", ":"))


def findings_for_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """Step 2, over distinct keys: what ``check`` finds for each (one row per finding; none for a clean key)."""
    rows = []
    for key in frame["key"]:
        drug_id, dose, frequency, days, age, sex, others = json.loads(key)
        for code, severity, title, detail in findings_for(drug_id, dose, frequency, days, age, sex, tuple(others)):
            rows.append((key, code, severity, title, detail))
    import pandas as pd

    return pd.DataFrame(rows, columns=KEY_FINDING_COLUMNS, dtype="object")


def check_partition(frame: pd.DataFrame) -> pd.DataFrame:
    """Both steps for whole patients in one process: the findings rows (``FINDING_COLUMNS``)."""
    keyed = dispense_keys(frame)
    found = findings_for_keys(keyed[["key"]].drop_duplicates())
    merged = keyed.merge(found, on="key", how="inner")
    return merged[FINDING_COLUMNS].reset_index(drop=True)
