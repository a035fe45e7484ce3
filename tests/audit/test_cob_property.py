"""Property: the COB SQL agrees with a day-by-day count in plain Python on random patients."""

from __future__ import annotations

import datetime as dt

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from clinguide.audit.cob import cob_patient_sql, epoch_day

YEAR = 2025
FIRST, LAST = epoch_day(dt.date(YEAR - 1, 11, 1)), epoch_day(dt.date(YEAR, 12, 31))
Y0, Y1 = epoch_day(dt.date(YEAR, 1, 1)), epoch_day(dt.date(YEAR + 1, 1, 1))

fills = st.lists(st.tuples(st.sampled_from(["opioid", "benzo"]), st.integers(FIRST, LAST), st.integers(1, 90),
                           st.sampled_from(["completed", "completed", "completed", "cancelled"])), max_size=8)


def expected(rows: list[tuple[str, int, int, str]]) -> tuple[int, int, int, int]:
    """(opioid dates, opioid supply, benzodiazepine dates, overlap days) by brute force."""
    done = [(c, d, n) for c, d, n, s in rows if s == "completed" and Y0 <= d < Y1]
    covered = {c: set() for c in ("opioid", "benzo")}
    longest: dict[tuple[str, int], int] = {}
    for c, d, n in done:
        covered[c].update(range(d, min(d + n, Y1)))
        longest[(c, d)] = max(longest.get((c, d), 0), min(d + n, Y1) - d)
    opioid_dates = sum(1 for c, _ in longest if c == "opioid")
    supply = sum(v for (c, _), v in longest.items() if c == "opioid")
    benzo_dates = sum(1 for c, _ in longest if c == "benzo")
    return opioid_dates, supply, benzo_dates, len(covered["opioid"] & covered["benzo"])


@settings(max_examples=80, deadline=None)
@given(fills)
def test_cob_sql_matches_a_day_by_day_count(rows: list[tuple[str, int, int, str]]) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE patients AS SELECT 'p' AS patient_id, '1970-01-01' AS birth, 'female' AS gender")
    con.execute("CREATE TABLE dispenses (disp_id VARCHAR, patient_id VARCHAR, status VARCHAR, day INTEGER, "
                "days_supply INTEGER, rx_code VARCHAR, display VARCHAR)")
    con.execute("CREATE TABLE conditions (patient_id VARCHAR, code VARCHAR, start_day INTEGER, end_day INTEGER, "
                "verification VARCHAR)")
    con.execute("CREATE TABLE codemap AS SELECT * FROM (VALUES ('O', '', 'oxycodone', true, false, 'rxnorm'), "
                "('B', '', 'diazepam', false, true, 'rxnorm')) "
                "t(rx_code, display, drug_id, opioid, benzodiazepine, how)")
    for i, (cls, day, days, status) in enumerate(rows):
        con.execute("INSERT INTO dispenses VALUES (?, 'p', ?, ?, ?, ?, '')",
                    [str(i), status, day, days, "O" if cls == "opioid" else "B"])
    got = con.execute(f"SELECT opioid_dates, opioid_supply_days, benzodiazepine_dates, overlap_days, in_numerator "
                      f"FROM ({cob_patient_sql(YEAR)}) WHERE patient_id = 'p'").fetchone()
    want = expected(rows)
    assert tuple(got[:4]) == want
    assert got[4] == int(want[0] >= 2 and want[1] >= 15 and want[2] >= 2 and want[3] >= 30)
