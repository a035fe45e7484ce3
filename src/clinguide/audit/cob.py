"""The PQA COB measure (concurrent opioid + benzodiazepine use, NQF/CBE 3389) as one SQL query.

The query runs unchanged on DuckDB and Spark SQL: dates are whole days since 1970-01-01
(integers), so only portable SQL is needed (CTEs, window frames, GREATEST/LEAST). It reads the
staging tables every engine builds the same way:

- ``patients(patient_id, birth, gender)`` — ``birth`` as 'YYYY-MM-DD'; a partial date is read
  as its latest possible day (a person is counted as 18 only when certainly 18);
- ``dispenses(disp_id, patient_id, status, day, days_supply, rx_code, display, ...)``;
- ``conditions(patient_id, code, start_day, end_day, verification)`` — ICD-10-CM, dots removed;
- ``codemap(rx_code, display, drug_id, opioid, benzodiazepine, how)`` — from the pack.

The rules, for measurement year Y = [y0, y1):
- eligible: born on or before 1 January of Y−18 (age >= 18 on 1 January of Y);
- only ``completed`` dispenses handed over within Y count; a dispense outside Y is ignored,
  even when its supply reaches into Y;
- a class's dispenses on the same date count as one date, with the longest days' supply of
  that date; days' supply is clipped at the end of Y;
- denominator: >= 2 distinct opioid dates and >= 15 cumulative opioid days' supply;
- excluded: a Condition coded C00–C96, D57.* or Z51.5 that is active at some time in Y
  (starts before the end of Y and has not ended before Y begins), not entered-in-error or refuted;
- numerator: >= 2 distinct benzodiazepine dates and >= 30 days of Y covered by both classes;
  each class's coverage is the union of [day, day + days_supply) clipped to Y.
"""

from __future__ import annotations

import datetime as dt

EPOCH = dt.date(1970, 1, 1)
MIN_OPIOID_DATES = 2
MIN_OPIOID_SUPPLY_DAYS = 15
MIN_BENZODIAZEPINE_DATES = 2
MIN_OVERLAP_DAYS = 30
EXCLUDED_VERIFICATION = ("entered-in-error", "refuted")


def epoch_day(day: dt.date) -> int:
    return (day - EPOCH).days


def year_bounds(year: int) -> tuple[int, int]:
    return epoch_day(dt.date(year, 1, 1)), epoch_day(dt.date(year + 1, 1, 1))


def exclusion_predicate(column: str) -> str:
    """ICD-10-CM cancer C00–C96 (C4A, C7A, C7B included), sickle cell disease D57.*, palliative care Z51.5."""
    return (f"(({column} LIKE 'C%' AND SUBSTR({column}, 2, 2) >= '00' AND SUBSTR({column}, 2, 2) <= '96')"
            f" OR {column} LIKE 'D57%' OR {column} = 'Z515')")


def cob_patient_sql(year: int) -> str:
    """One row per patient (known from Patient or referenced by a dispense) with the measure's facts and reason."""
    y0, y1 = year_bounds(year)
    cutoff = f"{year - 18:04d}-01-01"
    bad_verification = ", ".join(f"'{v}'" for v in EXCLUDED_VERIFICATION)
    return f"""
WITH universe AS (
  SELECT patient_id FROM patients UNION SELECT patient_id FROM dispenses
),
people AS (
  SELECT u.patient_id, p.birth, CASE WHEN p.patient_id IS NULL THEN 0 ELSE 1 END AS has_record
  FROM universe u LEFT JOIN (SELECT patient_id, MIN(birth) AS birth FROM patients GROUP BY patient_id) p
    ON u.patient_id = p.patient_id
),
class_rows AS (
  SELECT d.patient_id, d.day, d.days_supply, 'opioid' AS cls
  FROM dispenses d JOIN codemap c ON d.rx_code = c.rx_code AND d.display = c.display
  WHERE d.status = 'completed' AND d.day >= {y0} AND d.day < {y1} AND c.opioid
  UNION ALL
  SELECT d.patient_id, d.day, d.days_supply, 'benzodiazepine' AS cls
  FROM dispenses d JOIN codemap c ON d.rx_code = c.rx_code AND d.display = c.display
  WHERE d.status = 'completed' AND d.day >= {y0} AND d.day < {y1} AND c.benzodiazepine
),
dates AS (
  SELECT patient_id, cls, day, MAX(LEAST(day + days_supply, {y1})) AS e
  FROM class_rows GROUP BY patient_id, cls, day
),
per_class AS (
  SELECT patient_id,
    SUM(CASE WHEN cls = 'opioid' THEN 1 ELSE 0 END) AS opioid_dates,
    SUM(CASE WHEN cls = 'opioid' THEN e - day ELSE 0 END) AS opioid_supply_days,
    SUM(CASE WHEN cls = 'benzodiazepine' THEN 1 ELSE 0 END) AS benzodiazepine_dates
  FROM dates GROUP BY patient_id
),
ordered AS (
  SELECT patient_id, cls, day AS s, e,
    MAX(e) OVER (PARTITION BY patient_id, cls ORDER BY day, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
      AS prev_e
  FROM dates
),
flagged AS (
  SELECT patient_id, cls, s, e,
    SUM(CASE WHEN prev_e IS NULL OR s > prev_e THEN 1 ELSE 0 END)
      OVER (PARTITION BY patient_id, cls ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS island
  FROM ordered
),
islands AS (
  SELECT patient_id, cls, island, MIN(s) AS s, MAX(e) AS e FROM flagged GROUP BY patient_id, cls, island
),
overlap AS (
  SELECT o.patient_id, SUM(LEAST(o.e, b.e) - GREATEST(o.s, b.s)) AS overlap_days
  FROM islands o JOIN islands b
    ON o.patient_id = b.patient_id AND o.cls = 'opioid' AND b.cls = 'benzodiazepine' AND o.s < b.e AND b.s < o.e
  GROUP BY o.patient_id
),
excl AS (
  SELECT patient_id, MIN(code) AS exclusion_code FROM conditions
  WHERE {exclusion_predicate('code')} AND start_day < {y1} AND (end_day IS NULL OR end_day >= {y0})
    AND (verification IS NULL OR verification NOT IN ({bad_verification}))
  GROUP BY patient_id
),
facts AS (
  SELECT pe.patient_id, pe.birth, pe.has_record,
    CASE WHEN pe.birth IS NOT NULL AND pe.birth <= '{cutoff}' THEN 1 ELSE 0 END AS eligible,
    COALESCE(pc.opioid_dates, 0) AS opioid_dates,
    COALESCE(pc.opioid_supply_days, 0) AS opioid_supply_days,
    COALESCE(pc.benzodiazepine_dates, 0) AS benzodiazepine_dates,
    COALESCE(ov.overlap_days, 0) AS overlap_days,
    ex.exclusion_code
  FROM people pe
  LEFT JOIN per_class pc ON pe.patient_id = pc.patient_id
  LEFT JOIN overlap ov ON pe.patient_id = ov.patient_id
  LEFT JOIN excl ex ON pe.patient_id = ex.patient_id
),
judged AS (
  SELECT f.*,
    CASE WHEN eligible = 1 AND opioid_dates >= {MIN_OPIOID_DATES} AND opioid_supply_days >= {MIN_OPIOID_SUPPLY_DAYS}
         THEN 1 ELSE 0 END AS in_initial_denominator
  FROM facts f
)
SELECT patient_id, birth, CAST(eligible AS INT) AS eligible, CAST(opioid_dates AS INT) AS opioid_dates,
  CAST(opioid_supply_days AS INT) AS opioid_supply_days, CAST(benzodiazepine_dates AS INT) AS benzodiazepine_dates,
  CAST(overlap_days AS INT) AS overlap_days, exclusion_code,
  CAST(in_initial_denominator AS INT) AS in_initial_denominator,
  CASE WHEN in_initial_denominator = 1 AND exclusion_code IS NOT NULL THEN 1 ELSE 0 END AS excluded,
  CASE WHEN in_initial_denominator = 1 AND exclusion_code IS NULL THEN 1 ELSE 0 END AS in_denominator,
  CASE WHEN in_initial_denominator = 1 AND exclusion_code IS NULL AND benzodiazepine_dates >= {MIN_BENZODIAZEPINE_DATES}
            AND overlap_days >= {MIN_OVERLAP_DAYS} THEN 1 ELSE 0 END AS in_numerator,
  CASE
    WHEN has_record = 0 THEN 'not eligible: dispenses but no Patient resource'
    WHEN birth IS NULL THEN 'not eligible: no birth date'
    WHEN eligible = 0 THEN 'not eligible: under 18 on 1 January'
    WHEN opioid_dates < {MIN_OPIOID_DATES} THEN 'not in denominator: fewer than 2 opioid dispensing dates'
    WHEN opioid_supply_days < {MIN_OPIOID_SUPPLY_DAYS}
      THEN 'not in denominator: fewer than 15 days of opioid supply'
    WHEN exclusion_code IS NOT NULL THEN 'excluded: cancer, sickle cell disease or palliative care'
    WHEN benzodiazepine_dates < {MIN_BENZODIAZEPINE_DATES}
      THEN 'denominator only: fewer than 2 benzodiazepine dispensing dates'
    WHEN overlap_days < {MIN_OVERLAP_DAYS} THEN 'denominator only: fewer than 30 days of overlap'
    ELSE 'numerator: 30 or more days of concurrent opioid and benzodiazepine'
  END AS reason
FROM judged
"""


def measure_from_counts(year: int, eligible: int, initial: int, excluded: int, numerator: int) -> dict[str, object]:
    """The COB summary in the contract's shape; ``denominator`` is after exclusions."""
    denominator = initial - excluded
    return {
        "measure": "COB",
        "year": year,
        "eligible": eligible,
        "denominator": denominator,
        "excluded": excluded,
        "numerator": numerator,
        "rate": round(numerator / denominator, 6) if denominator else None,
        "denominator_before_exclusions": initial,
    }
