"""Run an audit: read the input, resolve codes through the pack, compute COB and the per-dispense findings.

Everything after loading is portable SQL plus ``rules.check_partition``, so both engines give the
same numbers. ``run_audit`` returns the summary (the JSON of ``clinguide audit --format json``);
``write_outputs`` writes the Parquet tables, the JSON and the HTML report.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from clinguide.audit.cob import cob_patient_sql, measure_from_counts, year_bounds
from clinguide.audit.codes import resolve_codes
from clinguide.audit.engines import Engine, Progress, open_engine
from clinguide.audit.input import InputSet, find_inputs
from clinguide.errors import InputError

BAD_LINES_LISTED = 200  # in the JSON and the report; the Parquet table has them all
UNKNOWN_CODES_LISTED = 100


def _quiet(_stage: str, _done: int, _total: int) -> None:
    return None


def _per_year(engine: Engine) -> dict[int, int]:
    """Completed dispenses by calendar year."""
    days = engine.query("SELECT day, COUNT(*) AS n FROM dispenses WHERE status = 'completed' GROUP BY day")
    per_year: dict[int, int] = {}
    for row in days:
        year = (dt.date(1970, 1, 1) + dt.timedelta(days=int(row["day"]))).year
        per_year[year] = per_year.get(year, 0) + int(row["n"])
    return per_year


def _years_text(per_year: dict[int, int]) -> str:
    top = sorted(per_year.items(), key=lambda kv: (-kv[1], -kv[0]))[:5]
    return ", ".join(f"{year} ({count:,})" for year, count in top)


def _default_year(engine: Engine) -> int:
    """The calendar year with the most completed dispenses (the later year on a tie)."""
    per_year = _per_year(engine)
    if not per_year:
        read = _one(engine, "SELECT COUNT(*) AS n FROM dispenses")["n"]
        raise InputError(f"INPUT: no completed MedicationDispense with a date was read ({int(read or 0):,} valid "
                         "dispense lines in all), so there is nothing to audit; check the MedicationDispense "
                         "files (bad lines are listed with --year YYYY)", field="INPUT")
    return max(per_year, key=lambda y: (per_year[y], y))


def _notes(engine: Engine, summary: dict[str, Any]) -> list[str]:
    """What a reader must know before trusting the figures: no dispense in the year, nothing read."""
    notes = []
    if summary["dispenses"]["read"] == 0:
        notes.append("No valid MedicationDispense line was read: every figure below is zero. See the bad lines "
                     "and the files read.")
    elif summary["dispenses"]["completed_in_year"] == 0:
        notes.append(f"No completed dispense is dated in {summary['year']}, so the measure and the checks are "
                     f"empty. Completed dispenses by year in the input: {_years_text(_per_year(engine))}; "
                     "give one of these with --year.")
    return notes


# the findings table's columns (rules.FINDING_COLUMNS) with no rows, in SQL that DuckDB and Spark both accept
EMPTY_FINDINGS = ("SELECT CAST(NULL AS STRING) AS patient_id, CAST(NULL AS STRING) AS disp_id, "
                  "CAST(NULL AS STRING) AS src_file, CAST(NULL AS BIGINT) AS src_line, CAST(NULL AS BIGINT) AS day, "
                  "CAST(NULL AS STRING) AS drug_id, CAST(NULL AS BIGINT) AS age, CAST(NULL AS STRING) AS age_band, "
                  "CAST(NULL AS STRING) AS code, CAST(NULL AS STRING) AS severity, CAST(NULL AS STRING) AS title, "
                  "CAST(NULL AS STRING) AS detail WHERE 1 = 0")


def check_input_sql(year: int) -> str:
    y0, y1 = year_bounds(year)
    return f"""
SELECT d.patient_id, d.disp_id, d.src_file, d.src_line, d.day, d.days_supply, c.drug_id, d.display, d.dosage,
  CASE WHEN d.day >= {y0} THEN 1 ELSE 0 END AS in_year, p.birth, p.gender
FROM dispenses d
JOIN codemap c ON d.rx_code = c.rx_code AND d.display = c.display
LEFT JOIN (SELECT patient_id, MIN(birth) AS birth, MIN(gender) AS gender FROM patients GROUP BY patient_id) p
  ON d.patient_id = p.patient_id
WHERE d.status = 'completed' AND c.drug_id IS NOT NULL AND d.day < {y1} AND d.day + d.days_supply > {y0}"""


def run_audit(path: Path, year: int | None = None, engine_name: str = "duckdb", progress: Progress = _quiet,
              out: Path | None = None, workers: int | None = None, measure_only: bool = False) -> dict[str, Any]:
    """Audit the population in ``path``; with ``out``, also write the tables and the report there.

    ``measure_only``: the COB measure (and the input accounting) without the per-dispense checks, so the
    measure never waits for them; the summary says the checks did not run and its findings are empty."""
    from clinguide.kb import get_kb

    inputs = find_inputs(path)
    if year is not None and not 1900 <= year <= 2200:
        raise InputError(f"--year: {year} is not a plausible measurement year; give a year such as 2025",
                         field="--year")
    kb = get_kb()
    engine = open_engine(engine_name, workers=1 if measure_only else workers)  # no pool for the measure alone
    try:
        engine.load(inputs, progress)
        year_chosen = year is None
        year = year or _default_year(engine)
        y0, y1 = year_bounds(year)
        pairs = engine.query("SELECT DISTINCT rx_code, display FROM dispenses ORDER BY rx_code, display")
        resolved = resolve_codes(kb, [(r["rx_code"], r["display"]) for r in pairs])
        engine.put_codemap([(r.code, r.display, r.drug_id, r.opioid, r.benzodiazepine, r.how) for r in resolved])
        progress("COB measure", 0, 1)
        engine.create_table("cob_patients", cob_patient_sql(year))
        progress("COB measure", 1, 1)
        if measure_only:
            engine.create_table("check_input", f"SELECT * FROM ({check_input_sql(year)}) WHERE 1 = 0")
            engine.create_table("findings", EMPTY_FINDINGS)
        else:
            engine.run_checks(check_input_sql(year), progress)
        groups = {"advice": list(kb.policy.finding_groups.audit_advice),
                  "not_checked": list(kb.policy.finding_groups.audit_not_checked)}
        summary = _summary(engine, inputs, year, y0, y1, engine_name, kb.version, groups)
        summary["checks"] = "not run (--measure-only)" if measure_only else "run"
        summary["year_source"] = "the year with the most completed dispenses" if year_chosen else "--year"
        summary["notes"] = _notes(engine, summary)
        if out is not None:
            write_outputs(engine, summary, out)
        return summary
    finally:
        engine.close()


def _one(engine: Engine, sql: str) -> dict[str, Any]:
    return engine.query(sql)[0]


def _in_list(codes: list[str]) -> str:
    return "(" + (", ".join("'" + c.replace("'", "''") + "'" for c in codes) or "NULL") + ")"


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _not_checked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What could not be checked, one row per title with the drugs it concerned: a pack or data limit, listed
    once rather than once per dispense. Numbers and the drug's own name are taken out of a title, so
    "Diazepam not assessed for a patient aged 13" and "tramadol ... aged 16" are one row."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        title = _NUMBER.sub("[n]", r["title"])
        if r["drug"]:
            title = re.sub(rf"\b{re.escape(r['drug'])}\b", "[drug]", title, flags=re.IGNORECASE)
        row = merged.setdefault((r["code"], title), {"code": r["code"], "title": title, "findings": 0, "drugs": {}})
        row["findings"] += int(r["findings"])
        row["drugs"][r["drug"]] = row["drugs"].get(r["drug"], 0) + int(r["findings"])
    out = sorted(merged.values(), key=lambda r: (-r["findings"], r["code"], r["title"]))
    for row in out:
        by_drug = sorted(row["drugs"].items(), key=lambda x: (-x[1], x[0]))
        row["drugs"] = [{"drug": d, "findings": c} for d, c in by_drug]
    return out


def _summary(engine: Engine, inputs: InputSet, year: int, y0: int, y1: int, engine_name: str,
             knowledge_version: str, groups: dict[str, list[str]]) -> dict[str, Any]:
    """The summary; ``groups`` (the pack's audit_advice and audit_not_checked codes) sets each finding code's
    group: "problem", "advice" or "not checked"."""
    m = _one(engine, """SELECT SUM(eligible) AS eligible, SUM(in_initial_denominator) AS initial,
        SUM(excluded) AS excluded, SUM(in_numerator) AS numerator, COUNT(*) AS patients FROM cob_patients""")
    measure = measure_from_counts(year, int(m["eligible"] or 0), int(m["initial"] or 0), int(m["excluded"] or 0),
                                  int(m["numerator"] or 0))
    reasons = engine.query("SELECT reason, COUNT(*) AS patients FROM cob_patients GROUP BY reason "
                           "ORDER BY patients DESC, reason")
    lines = engine.query("""SELECT resource, src_file AS file, COUNT(*) AS lines,
        SUM(CASE WHEN blank THEN 1 ELSE 0 END) AS blank,
        SUM(CASE WHEN problem IS NOT NULL THEN 1 ELSE 0 END) AS bad
        FROM lines GROUP BY resource, src_file ORDER BY resource, src_file""")
    bad_total = sum(int(r["bad"]) for r in lines)
    bad = engine.query(f"""SELECT src_file AS file, src_line AS line, resource, problem FROM lines
        WHERE problem IS NOT NULL ORDER BY src_file, src_line LIMIT {BAD_LINES_LISTED}""")
    bad_by_problem = engine.query("""SELECT resource, problem, COUNT(*) AS lines FROM lines WHERE problem IS NOT NULL
        GROUP BY resource, problem ORDER BY lines DESC, resource, problem""")
    d = _one(engine, f"""SELECT COUNT(*) AS dispenses,
        SUM(CASE WHEN day >= {y0} AND day < {y1} THEN 1 ELSE 0 END) AS in_year,
        SUM(CASE WHEN status = 'completed' AND day >= {y0} AND day < {y1} THEN 1 ELSE 0 END) AS completed_in_year
        FROM dispenses""")
    statuses = engine.query(f"""SELECT status, COUNT(*) AS dispenses FROM dispenses
        WHERE status <> 'completed' OR (day >= {y0} AND day < {y1}) GROUP BY status ORDER BY dispenses DESC, status""")
    unknown = engine.query(f"""SELECT d.rx_code AS code, d.display, COUNT(*) AS dispenses,
        COUNT(DISTINCT d.patient_id) AS patients
        FROM dispenses d JOIN codemap c ON d.rx_code = c.rx_code AND d.display = c.display
        WHERE c.drug_id IS NULL GROUP BY d.rx_code, d.display ORDER BY dispenses DESC, code, display
        LIMIT {UNKNOWN_CODES_LISTED}""")
    unknown_total = _one(engine, """SELECT COUNT(*) AS dispenses, COUNT(DISTINCT d.rx_code || '|' || d.display) AS codes
        FROM dispenses d JOIN codemap c ON d.rx_code = c.rx_code AND d.display = c.display WHERE c.drug_id IS NULL""")
    by_name = _one(engine, """SELECT COUNT(*) AS dispenses FROM dispenses d
        JOIN (SELECT DISTINCT rx_code, display FROM codemap WHERE how = 'name') c
        ON d.rx_code = c.rx_code AND d.display = c.display""")
    checked = _one(engine, f"""SELECT COUNT(DISTINCT disp_id) AS dispenses, COUNT(*) AS dispense_drugs,
        COUNT(DISTINCT patient_id) AS patients FROM check_input WHERE day >= {y0}""")
    by_code = engine.query("""SELECT code, severity, COUNT(*) AS findings, COUNT(DISTINCT disp_id) AS dispenses,
        COUNT(DISTINCT patient_id) AS patients FROM findings GROUP BY code, severity
        ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, findings DESC, code""")
    by_title = engine.query("""SELECT code, severity, title, COUNT(*) AS findings FROM findings
        GROUP BY code, severity, title ORDER BY findings DESC, code, title LIMIT 50""")
    by_drug = engine.query("""SELECT drug_id AS drug, code, severity, COUNT(*) AS findings,
        COUNT(DISTINCT patient_id) AS patients FROM findings GROUP BY drug_id, code, severity
        ORDER BY drug, findings DESC, code""")
    by_age = engine.query("""SELECT age_band, code, severity, COUNT(*) AS findings,
        COUNT(DISTINCT patient_id) AS patients FROM findings GROUP BY age_band, code, severity
        ORDER BY age_band, findings DESC, code""")
    advice = engine.query(f"""SELECT code, severity, title, COUNT(*) AS findings,
        COUNT(DISTINCT patient_id) AS patients FROM findings WHERE code IN {_in_list(groups["advice"])}
        GROUP BY code, severity, title ORDER BY findings DESC, code, title""")
    not_checked = engine.query(f"""SELECT code, title, drug_id AS drug, COUNT(*) AS findings FROM findings
        WHERE code IN {_in_list(groups["not_checked"])} GROUP BY code, title, drug_id""")
    group_of = {**{c: "advice" for c in groups["advice"]}, **{c: "not checked" for c in groups["not_checked"]}}
    by_code = [{**r, "group": group_of.get(r["code"], "problem")} for r in by_code]
    top_drugs = engine.query(f"""SELECT drug_id AS drug, COUNT(DISTINCT disp_id) AS dispenses,
        COUNT(DISTINCT patient_id) AS patients FROM check_input WHERE day >= {y0}
        GROUP BY drug_id ORDER BY dispenses DESC, drug LIMIT 20""")
    return {
        **measure,
        "engine": engine_name,
        "input": str(inputs.root),
        "knowledge_version": knowledge_version,
        "cob_reasons": _ints(reasons),
        "dispenses": {"read": int(d["dispenses"] or 0), "in_year": int(d["in_year"] or 0),
                      "completed_in_year": int(d["completed_in_year"] or 0), "by_status": _ints(statuses),
                      "checked": int(checked["dispenses"] or 0),
                      "checked_drug_rows": int(checked["dispense_drugs"] or 0),
                      "patients_checked": int(checked["patients"] or 0),
                      "resolved_by_name": int(by_name["dispenses"] or 0)},
        "unknown_codes": {"dispenses": int(unknown_total["dispenses"] or 0), "codes": int(unknown_total["codes"] or 0),
                          "top": _ints(unknown)},
        "files": _ints(lines),
        "bad_lines": {"count": bad_total, "by_problem": _ints(bad_by_problem), "first": _ints(bad)},
        "findings": {"by_code": _ints(by_code), "by_title": _ints(by_title), "by_drug": _ints(by_drug),
                     "by_age_band": _ints(by_age), "top_drugs": _ints(top_drugs), "advice": _ints(advice),
                     "not_checked": _not_checked(_ints(not_checked)), "groups": groups},
    }


def _ints(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Engine-neutral values: integers as int (Spark gives numpy/Decimal types, DuckDB Python ints)."""
    out = []
    for row in rows:
        clean = {}
        for key, value in row.items():
            if value is None or isinstance(value, str | bool):
                clean[key] = value
            else:
                try:
                    clean[key] = int(value)
                except (TypeError, ValueError):
                    clean[key] = str(value)
        out.append(clean)
    return out


TABLES = {
    "cob_patients": "SELECT * FROM cob_patients ORDER BY patient_id",
    "findings": "SELECT * FROM findings ORDER BY patient_id, day, disp_id, drug_id, code, title",
    "bad_lines": "SELECT resource, src_file AS file, src_line AS line, problem FROM lines WHERE problem IS NOT NULL "
                 "ORDER BY src_file, src_line",
    "unknown_codes": "SELECT d.rx_code AS code, d.display, COUNT(*) AS dispenses FROM dispenses d JOIN codemap c "
                     "ON d.rx_code = c.rx_code AND d.display = c.display WHERE c.drug_id IS NULL "
                     "GROUP BY d.rx_code, d.display ORDER BY dispenses DESC, code, display",
}


def write_outputs(engine: Engine, summary: dict[str, Any], out: Path) -> None:
    from clinguide.audit.report import render_html

    out.mkdir(parents=True, exist_ok=True)
    tables = {}
    for name, sql in TABLES.items():
        path = out / f"{name}.parquet"
        engine.write_parquet(sql, path)
        tables[name] = path.name
    summary["tables"] = tables
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.html").write_text(render_html(summary), encoding="utf-8")
