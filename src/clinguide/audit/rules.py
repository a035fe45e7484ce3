"""The pack's own rules over dispenses: every dispense of a pack drug goes through ``clinguide.checks.check``.

No rule is re-typed here. A dispense becomes an Order (drug, dose and frequency from its dosage
instruction, days from ``daysSupply``) and a Case (age on the dispense date, sex, and the other
pack drugs whose supply covers that date); the findings are what ``clinguide check`` would give.
``check_partition`` takes whole patients (a pandas frame) and returns one row per finding; both
engines call it (a process pool on DuckDB, ``applyInPandas`` on Spark), so results are identical.

Identical inputs give identical findings, so results are memoised per process on the exact
(drug, dose, frequency, days, age, sex, co-covered drugs) key: that is the speed, not a shortcut.

Left out on purpose: rules about the clinical setting and first-line therapy (a dispense does not
say why it was prescribed or what was tried): ``first-line-not-tried``, ``not-recommended-setting``
and the "phase unknown" note of the setting rules are dropped (``NOT_FROM_DISPENSES``).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from functools import lru_cache
from typing import Any

import pandas as pd

NOT_FROM_DISPENSES = frozenset({"first-line-not-tried", "not-recommended-setting"})
# missing-data findings that only say a setting rule could not be placed: dispenses never carry the setting
NOT_FROM_DISPENSES_TITLES = frozenset({("missing-data", "Phase unknown: a setting rule could not be checked")})
_NAME_BEFORE_STRENGTH = re.compile(r"^\D*?(?=\s+\d)")
FINDING_COLUMNS = ["patient_id", "disp_id", "src_file", "src_line", "day", "drug_id", "age", "age_band",
                   "code", "severity", "title", "detail"]
DOSE_NOT_IN_MG = ("missing-data", "info", "Dose not recorded in mg: dose, daily-dose and duration checks not run")
AGE_BANDS = ((0, 18, "0-17"), (18, 45, "18-44"), (45, 65, "45-64"), (65, 75, "65-74"), (75, 85, "75-84"),
             (85, 200, "85+"))
SEXES = ("female", "male", "other", "unknown")


def age_band(age: int | None) -> str:
    if age is None:
        return "unknown"
    for low, high, label in AGE_BANDS:
        if low <= age < high:
            return label
    return "unknown"


def age_on(birth: str | None, day: int) -> int | None:
    """Whole years on an epoch day; ``birth`` is 'YYYY-MM-DD' (a partial date already set to its latest day)."""
    if not birth or len(birth) < 10:
        return None
    import datetime as dt

    on = dt.date(1970, 1, 1) + dt.timedelta(days=int(day))
    try:
        y, m, d = int(birth[0:4]), int(birth[5:7]), int(birth[8:10])
    except ValueError:
        return None
    years = on.year - y - ((on.month, on.day) < (m, d))
    return years if 0 <= years <= 130 else None


@lru_cache(maxsize=4096)
def order_fields(drug_id: str, display: str, dosage: str | None) -> tuple[str | None, str | None]:
    """(dose in mass units, frequency) from a FHIR Dosage (JSON text); (None, None) when no mass dose is known."""
    from clinguide.clinical.sig import SigParseError, parse_sig
    from clinguide.fhir.mapping import _dose, _frequency
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
    dose = _dose(data, _strength_names(drug_id, display), notes)
    frequency = _frequency(data)
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


@lru_cache(maxsize=200_000)
def findings_for(drug_id: str, dose: str | None, frequency: str | None, days: int | None, age: int | None,
                 sex: str | None, others: tuple[str, ...]) -> tuple[tuple[str, str, str, str], ...]:
    """(code, severity, title, detail) of what ``check`` finds for this order and patient, memoised."""
    from clinguide.checks.engine import check

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
    result = check(order, case)
    out = []
    for f in result.findings:
        if f.code in NOT_FROM_DISPENSES or (f.code, f.title) in NOT_FROM_DISPENSES_TITLES:
            continue
        if dose is None and f.code == "unparseable-order":
            continue  # replaced by one explicit "dose not recorded in mg" finding below
        out.append((f.code, f.severity, f.title, f.detail))
    if dose is None:
        out.append((*DOSE_NOT_IN_MG, "The dispense's dosage instruction gives no dose in mg (or no dosage "
                    "instruction), so the dose, daily dose, course length and taper checks of the pack did not run; "
                    "age and interaction checks did."))
    return tuple(out)


def check_partition(frame: pd.DataFrame) -> pd.DataFrame:
    """Findings for whole patients. Input: one row per (completed dispense, pack drug), any date, with
    ``patient_id, disp_id, src_file, src_line, day, days_supply, drug_id, display, dosage, in_year, birth, gender``.
    Only dispenses with ``in_year`` are checked; earlier ones count as covering drugs."""
    rows: list[tuple[Any, ...]] = []
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in FINDING_COLUMNS})
    by_patient: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    cols = ["patient_id", "disp_id", "src_file", "src_line", "day", "days_supply", "drug_id", "display", "dosage",
            "in_year", "birth", "gender"]
    for rec in frame[cols].itertuples(index=False, name=None):
        by_patient[rec[0]].append(rec)
    for patient_id in sorted(by_patient):
        recs = sorted(by_patient[patient_id], key=lambda r: (r[4], r[1], r[6]))
        for rec in recs:
            _pid, disp_id, src_file, src_line, day, days_supply, drug_id, display, dosage, in_year, birth, gender = rec
            if not in_year:
                continue
            day, supply = int(day), int(days_supply)
            others = tuple(sorted({r[6] for r in recs if r[1] != disp_id and r[4] <= day < r[4] + r[5]
                                   and r[6] != drug_id}))
            age = age_on(birth, day)
            dose, frequency = order_fields(drug_id, display or "", dosage)
            for code, severity, title, detail in findings_for(drug_id, dose, frequency, supply, age, gender, others):
                rows.append((patient_id, disp_id, src_file, int(src_line), day, drug_id, age, age_band(age),
                             code, severity, title, detail))
    out = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    out["age"] = out["age"].astype("Int64")
    out["src_line"] = out["src_line"].astype("int64")
    out["day"] = out["day"].astype("int64")
    return out


def _dtype(column: str) -> str:
    return {"src_line": "int64", "day": "int64", "age": "Int64"}.get(column, "object")
