"""The DuckDB engine: reads NDJSON/Parquet in DuckDB (streamed, never as Python objects), runs the measure
in SQL, and the per-dispense checks in a process pool over partitions of whole patients."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import duckdb

from clinguide.audit.engines import Progress
from clinguide.audit.input import ICD10_SYSTEMS, NOT_OBJECT_PROBLEM, RXNORM, InputSet, first_unreadable, not_object_sql
from clinguide.audit.rules import FINDING_COLUMNS
from clinguide.errors import InputError

ROWS_PER_PARTITION = 20_000
IN_PROCESS_BELOW = 20_000  # fewer check rows than this: no process pool (its start-up would dominate)
_ICD10 = ", ".join("'" + s + "'" for s in ICD10_SYSTEMS)


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source(path: Path, kind: str) -> str:
    label = _q(path.name)
    if kind == "parquet":
        return (f"SELECT {label} AS src_file, ordinality AS src_line, to_json(t)::VARCHAR AS line "
                f"FROM (SELECT * FROM read_parquet({_q(str(path))}) WITH ORDINALITY) t")
    return (f"SELECT {label} AS src_file, ordinality AS src_line, line FROM read_csv({_q(str(path))}, "
            "columns={'line': 'VARCHAR'}, header=false, delim=chr(1), quote='', escape='', auto_detect=false, "
            "max_line_size=16777216) WITH ORDINALITY")


_CODINGS = '[{"system": "VARCHAR", "code": "VARCHAR", "display": "VARCHAR"}]'
# one typed parse per line (json_transform): the fields of input.PATHS; a value of the wrong JSON type is NULL
STRUCTURES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "Patient": ('{"resourceType": "VARCHAR", "id": "VARCHAR", "birthDate": "VARCHAR", "gender": "VARCHAR"}',
                (("resource_type", "r.resourceType"), ("id", "r.id"), ("birth_date", "r.birthDate"),
                 ("gender", "r.gender"))),
    "MedicationDispense": (
        '{"resourceType": "VARCHAR", "id": "VARCHAR", "status": "VARCHAR", "subject": {"reference": "VARCHAR"}, '
        '"whenHandedOver": "VARCHAR", "daysSupply": {"value": "VARCHAR"}, '
        f'"medicationCodeableConcept": {{"coding": {_CODINGS}, "text": "VARCHAR"}}, "dosageInstruction": ["JSON"]}}',
        (("resource_type", "r.resourceType"), ("id", "r.id"), ("status", "r.status"),
         ("subject", "r.subject.reference"), ("handed_over", "r.whenHandedOver"),
         ("days_supply", "r.daysSupply.value"), ("codings_list", "r.medicationCodeableConcept.coding"),
         ("concept_text", "r.medicationCodeableConcept.text"), ("dosage", "CAST(r.dosageInstruction[1] AS VARCHAR)"))),
    "Condition": (
        '{"resourceType": "VARCHAR", "id": "VARCHAR", "subject": {"reference": "VARCHAR"}, '
        f'"code": {{"coding": {_CODINGS}}}, "onsetDateTime": "VARCHAR", '
        '"onsetPeriod": {"start": "VARCHAR", "end": "VARCHAR"}, "recordedDate": "VARCHAR", '
        '"abatementDateTime": "VARCHAR", "verificationStatus": {"coding": [{"code": "VARCHAR"}]}}',
        (("resource_type", "r.resourceType"), ("id", "r.id"), ("subject", "r.subject.reference"),
         ("codings_list", "r.code.coding"), ("onset", "r.onsetDateTime"), ("onset_start", "r.onsetPeriod.start"),
         ("recorded", "r.recordedDate"), ("abatement", "r.abatementDateTime"), ("onset_end", "r.onsetPeriod.end"),
         ("verification", "r.verificationStatus.coding[1].code"))),
    "MedicationRequest": (
        '{"resourceType": "VARCHAR", "id": "VARCHAR", "status": "VARCHAR", "subject": {"reference": "VARCHAR"}, '
        '"authoredOn": "VARCHAR"}',
        (("resource_type", "r.resourceType"), ("id", "r.id"), ("status", "r.status"),
         ("subject", "r.subject.reference"), ("authored", "r.authoredOn"))),
}


def _parsed_lines(rtype: str, source: str) -> str:
    """(src_file, src_line, blank, not_object, r) of raw lines: one typed parse per line; NULL r for a line that is not
    JSON or not an object (``not_object`` then says what it is)."""
    structure = STRUCTURES[rtype][0]
    return f"""
SELECT src_file, src_line, blank, not_object,
  CASE WHEN valid AND not_object IS NULL THEN json_transform(line, {_q(structure)}) END AS r
FROM (
  SELECT *, CASE WHEN valid THEN {not_object_sql('line')} END AS not_object
  FROM (SELECT src_file, src_line, line, (line IS NULL OR trim(line) = '') AS blank,
          (line IS NOT NULL AND trim(line) <> '' AND json_valid(line)) AS valid FROM ({source}))
)"""


def _fields(rtype: str, parsed: list[str]) -> str:
    """The columns of ``STRUCTURES[rtype]`` from parsed sources (each giving src_file, src_line, blank, not_object,
    r)."""
    _structure, columns = STRUCTURES[rtype]
    union = "\nUNION ALL\n".join(parsed)
    cols = ", ".join(f"{expr} AS {name}" for name, expr in columns)
    return f"""
WITH v AS ({union})
SELECT src_file, src_line, blank, r IS NULL AND NOT blank AND not_object IS NULL AS invalid, not_object, {cols}
FROM v"""


def _duckdb_type(spec: Any) -> str:
    """A json_transform structure as a DuckDB type: {"a": "VARCHAR"} -> STRUCT("a" VARCHAR), ["JSON"] -> JSON[]."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, list):
        return _duckdb_type(spec[0]) + "[]"
    return "STRUCT(" + ", ".join(f'"{k}" {_duckdb_type(v)}' for k, v in spec.items()) + ")"


def _fast_ndjson(rtype: str, path: Path) -> str:
    """DuckDB's parallel NDJSON reader with an explicit schema (only the fields read), giving the same
    (src_file, src_line, blank, not_object, r) rows as ``_parsed_lines``. It is used only for a file it reads whole:
    it stops at a line that is not a JSON object or has a field of the wrong JSON type, and it skips blank lines,
    so the caller checks its row count against the file's line count and falls back to ``_parsed_lines``."""
    spec = json.loads(STRUCTURES[rtype][0])
    columns = "{" + ", ".join(f"{_q(k)}: {_q(_duckdb_type(v))}" for k, v in spec.items()) + "}"
    record = "{" + ", ".join(f"{_q(k)}: " + '"' + k + '"' for k in spec) + "}"
    select = (f"SELECT {_q(path.name)} AS src_file, ordinality AS src_line, false AS blank, "
              f"NULL::VARCHAR AS not_object, {record} AS r "
              f"FROM read_ndjson({_q(str(path))}, columns={columns}, records=true, format='newline_delimited', "
              "maximum_object_size=16777216) WITH ORDINALITY")
    return select


def count_lines(path: Path) -> int | None:
    """Lines in a plain text file as the line reader numbers them (None for a compressed file)."""
    if path.name.endswith(".gz"):
        return None
    lines, last = 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (0 if last == b"\n" else 1)


def _patient_ref(col: str) -> str:
    return (f"CASE WHEN {col} IS NULL THEN NULL WHEN {col} NOT LIKE '%/%' THEN {col} "
            f"WHEN regexp_matches({col}, '(^|/)Patient/[^/]+$') THEN regexp_extract({col}, '[^/]+$') END")


def _day(col: str) -> str:
    return (f"CASE WHEN length({col}) >= 10 THEN "
            f"date_diff('day', DATE '1970-01-01', TRY_CAST(substr({col}, 1, 10) AS DATE)) END")


def _wrong_type(rtype: str) -> str:
    return (f"WHEN resource_type IS DISTINCT FROM '{rtype}' THEN 'resourceType is ' || "
            f"COALESCE('''' || resource_type || '''', 'missing') || ', expected {rtype}'")


def _birth(col: str) -> str:
    """A FHIR date to 'YYYY-MM-DD'; a partial date to its latest possible day (as text, compared as text)."""
    return (f"CASE WHEN regexp_matches({col}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN substr({col}, 1, 10) "
            f"WHEN regexp_matches({col}, '^[0-9]{{4}}-[0-9]{{2}}$') THEN {col} || '-31' "
            f"WHEN regexp_matches({col}, '^[0-9]{{4}}$') THEN {col} || '-12-31' END")


STAGE_SQL = {
    "Patient": lambda fields: f"""
SELECT src_file, src_line, blank,
  CASE WHEN blank THEN NULL WHEN invalid THEN 'invalid JSON' {NOT_OBJECT_PROBLEM} {_wrong_type('Patient')}
       WHEN id IS NULL OR id = '' THEN 'missing id'
       WHEN birth_date IS NOT NULL AND {_birth('birth_date')} IS NULL THEN 'birthDate is not a date'
  END AS problem,
  id AS patient_id, {_birth('birth_date')} AS birth, gender
FROM ({fields})""",
    "MedicationDispense": lambda fields: f"""
SELECT src_file, src_line, blank,
  CASE WHEN blank THEN NULL WHEN invalid THEN 'invalid JSON' {NOT_OBJECT_PROBLEM} {_wrong_type('MedicationDispense')}
       WHEN subject IS NULL THEN 'missing subject'
       WHEN patient_id IS NULL THEN 'subject is not a Patient reference'
       WHEN status IS NULL THEN 'missing status'
       WHEN status = 'completed' AND handed_over IS NULL THEN 'missing date (whenHandedOver)'
       WHEN status = 'completed' AND day IS NULL THEN 'whenHandedOver is not a date'
       WHEN status = 'completed' AND (days_supply IS NULL OR days_supply <= 0) THEN 'missing or invalid daysSupply'
  END AS problem,
  src_file || ':' || CAST(src_line AS VARCHAR) AS disp_id, id AS resource_id, patient_id, status, day,
  CAST(ceil(days_supply) AS INTEGER) AS days_supply,
  COALESCE(rx.code, '') AS rx_code,
  COALESCE(rx.display, concept_text, codings_list[1].display, '') AS display, dosage
FROM (
  SELECT *, {_patient_ref('subject')} AS patient_id, {_day('handed_over')} AS day,
    TRY_CAST(days_supply_text AS DOUBLE) AS days_supply,
    list_filter(codings_list, lambda x: x.system = '{RXNORM}')[1] AS rx
  FROM (SELECT * EXCLUDE (days_supply), days_supply AS days_supply_text FROM ({fields}))
)""",
    "Condition": lambda fields: f"""
SELECT src_file, src_line, blank,
  CASE WHEN blank THEN NULL WHEN invalid THEN 'invalid JSON' {NOT_OBJECT_PROBLEM} {_wrong_type('Condition')}
       WHEN subject IS NULL THEN 'missing subject'
       WHEN patient_id IS NULL THEN 'subject is not a Patient reference'
       WHEN start_day IS NULL THEN 'missing date (onsetDateTime, onsetPeriod.start or recordedDate)'
  END AS problem,
  patient_id, replace(upper(icd.code), '.', '') AS code, start_day, end_day, verification
FROM (
  SELECT *, {_patient_ref('subject')} AS patient_id,
    COALESCE({_day('onset')}, {_day('onset_start')}, {_day('recorded')}) AS start_day,
    COALESCE({_day('abatement')}, {_day('onset_end')}) AS end_day,
    list_filter(codings_list, lambda x: x.system IN ({_ICD10}))[1] AS icd
  FROM ({fields})
)""",
    "MedicationRequest": lambda fields: f"""
SELECT src_file, src_line, blank,
  CASE WHEN blank THEN NULL WHEN invalid THEN 'invalid JSON' {NOT_OBJECT_PROBLEM} {_wrong_type('MedicationRequest')}
       WHEN subject IS NULL THEN 'missing subject'
       WHEN patient_id IS NULL THEN 'subject is not a Patient reference'
       WHEN authored IS NULL THEN 'missing date (authoredOn)'
  END AS problem, patient_id, status
FROM (SELECT *, {_patient_ref('subject')} AS patient_id FROM ({fields}))""",
}
STAGE_TABLE = {"Patient": "stage_patient", "MedicationDispense": "stage_dispense", "Condition": "stage_condition",
               "MedicationRequest": "stage_request"}
EMPTY_STAGE = {
    "Condition": "SELECT NULL::VARCHAR AS src_file, NULL::BIGINT AS src_line, false AS blank, NULL::VARCHAR AS problem,"
                 " NULL::VARCHAR AS patient_id, NULL::VARCHAR AS code, NULL::INTEGER AS start_day,"
                 " NULL::INTEGER AS end_day, NULL::VARCHAR AS verification WHERE false",
    "MedicationRequest": "SELECT NULL::VARCHAR AS src_file, NULL::BIGINT AS src_line, false AS blank,"
                         " NULL::VARCHAR AS problem, NULL::VARCHAR AS patient_id, NULL::VARCHAR AS status WHERE false",
}


def _ready() -> int:
    return os.getpid()


def _pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers already hold the loaded pack.

    On Linux the workers are forked now, before DuckDB opens its database and threads, so each one
    starts with the parent's pack and imports instead of loading them again (a spawned worker costs
    seconds); elsewhere they are spawned."""
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context(method))
    if method == "fork":
        from clinguide.audit.rules import preload

        preload()  # the pack and the modules the checks import, once, in the parent: the workers share them
        pool.submit(_ready).result()  # a fork pool starts all its workers on the first task
    return pool


def _keys_worker(rows: Any) -> Any:
    from clinguide.audit.rules import dispense_keys

    return dispense_keys(rows)


def _findings_worker(keys: Any) -> Any:
    from clinguide.audit.rules import findings_for_keys

    return findings_for_keys(keys)


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(1, os.cpu_count() or 1)
        self._pool = _pool(self.workers) if self.workers > 1 else None  # before DuckDB starts its threads
        self._tmp = tempfile.TemporaryDirectory(prefix="clinguide-audit-")
        # an on-disk database lets DuckDB spill to disk, so memory stays bounded for large populations
        self.con = duckdb.connect(str(Path(self._tmp.name) / "audit.duckdb"))
        # every result that is shown or written has an ORDER BY, and line numbers come from WITH ORDINALITY, so
        # tables may be written in parallel in any order (several times faster for CREATE TABLE AS)
        self.con.execute("SET preserve_insertion_order = false")
        self.con.execute("SET enable_progress_bar = false")  # ours is on stderr; DuckDB's would mix into stdout
        self.fast_read = os.environ.get("CLINGUIDE_AUDIT_FAST_READ", "1") != "0"  # 0: every line through json_valid

    def load(self, inputs: InputSet, progress: Progress) -> None:
        types = [t for t in STAGE_TABLE if t in inputs.files or t in EMPTY_STAGE]
        for i, rtype in enumerate(types):
            progress(f"reading {rtype}", i, len(types))
            files = inputs.files.get(rtype, [])
            table = STAGE_TABLE[rtype]
            if not files:
                self.con.execute(f"CREATE TABLE {table} AS {EMPTY_STAGE[rtype]}")
            elif not self._read_fast(rtype, files, inputs):
                parsed = [_parsed_lines(rtype, _source(p, inputs.kind(p))) for p in files]
                try:
                    self.con.execute(f"CREATE TABLE {table} AS {STAGE_SQL[rtype](_fields(rtype, parsed))}")
                except duckdb.Error as exc:
                    raise self._unreadable(rtype, files, inputs, exc) from exc
        progress("reading input", len(types), len(types))
        self.con.execute("""
CREATE VIEW patients AS SELECT patient_id, birth, gender FROM stage_patient WHERE problem IS NULL AND NOT blank;
CREATE VIEW dispenses AS SELECT * EXCLUDE (blank, problem) FROM stage_dispense WHERE problem IS NULL AND NOT blank;
CREATE VIEW conditions AS SELECT patient_id, code, start_day, end_day, verification FROM stage_condition
  WHERE problem IS NULL AND NOT blank;
CREATE VIEW requests AS SELECT patient_id, status FROM stage_request WHERE problem IS NULL AND NOT blank;
CREATE VIEW lines AS
  SELECT 'Patient' AS resource, src_file, src_line, blank, problem FROM stage_patient
  UNION ALL SELECT 'MedicationDispense', src_file, src_line, blank, problem FROM stage_dispense
  UNION ALL SELECT 'Condition', src_file, src_line, blank, problem FROM stage_condition
  UNION ALL SELECT 'MedicationRequest', src_file, src_line, blank, problem FROM stage_request;
""")

    def _unreadable(self, rtype: str, files: list[Path], inputs: InputSet, exc: Exception) -> InputError:
        """An InputError naming the file DuckDB could not read (not gzip, not Parquet, not UTF-8 text)."""
        return first_unreadable(
            files, rtype, inputs, exc,
            lambda path: self.con.execute(f"SELECT COUNT(*) FROM ({_source(path, inputs.kind(path))})").fetchone(),
            (duckdb.Error,))

    def _read_fast(self, rtype: str, files: list[Path], inputs: InputSet) -> bool:
        """Stage ``rtype`` in one pass of DuckDB's parallel NDJSON reader (explicit schema, only the fields read),
        if that reads every line of every file as an object: the usual, clean export. False (nothing staged) when a
        file is compressed or Parquet, or a line needs the line-by-line path (blank, not JSON, not an object, a
        field of the wrong JSON type, no resourceType), which then reports every line exactly as before."""
        if not self.fast_read or any(inputs.kind(p) != "ndjson" for p in files):
            return False
        lines = {p.name: count_lines(p) for p in files}
        if None in lines.values():
            return False
        table = STAGE_TABLE[rtype]
        select = STAGE_SQL[rtype](_fields(rtype, [_fast_ndjson(rtype, p) for p in files]))
        try:
            self.con.execute(f"CREATE TABLE {table} AS {select}")
        except duckdb.Error:  # the reader stops at the first line that is not an object of the expected shape
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
            return False
        read = dict(self.con.execute(f"SELECT src_file, COUNT(*) FROM {table} GROUP BY src_file").fetchall())
        # a line `null` reads as a record of NULLs here but is "not a JSON object" line by line: such lines go that way
        untyped = self.con.execute(f"SELECT COUNT(*) FROM {table} WHERE problem = "
                                   f"{_q('resourceType is missing, expected ' + rtype)}").fetchone()
        if any(read.get(name, 0) != n for name, n in lines.items()) or (untyped and untyped[0]):
            self.con.execute(f"DROP TABLE {table}")  # a blank line was skipped, or a line is not a resource
            return False
        return True

    def put_codemap(self, rows: list[tuple[Any, ...]]) -> None:
        self.con.execute("CREATE TABLE codemap (rx_code VARCHAR, display VARCHAR, drug_id VARCHAR, opioid BOOLEAN, "
                         "benzodiazepine BOOLEAN, how VARCHAR)")
        if rows:
            self.con.executemany("INSERT INTO codemap VALUES (?, ?, ?, ?, ?, ?)", rows)

    def query(self, sql: str) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def create_table(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE TABLE {name} AS {sql}")

    def run_checks(self, input_sql: str, progress: Progress) -> None:
        """Step 1 over patient partitions, step 2 over chunks of distinct keys (both in a process pool), then a join."""
        self.con.execute(f"CREATE TABLE check_input AS {input_sql}")
        self.con.execute("CREATE TABLE dispense_keys (patient_id VARCHAR, disp_id VARCHAR, src_file VARCHAR, "
                         "src_line BIGINT, day BIGINT, drug_id VARCHAR, age BIGINT, age_band VARCHAR, key VARCHAR)")
        self.con.execute("CREATE TABLE key_findings (key VARCHAR, code VARCHAR, severity VARCHAR, title VARCHAR, "
                         "detail VARCHAR)")
        total = self.con.execute("SELECT COUNT(*) FROM check_input").fetchone()[0]  # type: ignore[index]
        parts = max(1, -(-total // ROWS_PER_PARTITION))
        pool = None if total < IN_PROCESS_BELOW else self._pool
        self._stage(pool, "dispense_keys", "checking dispenses: patients", parts,
                    lambda k: f"SELECT * FROM check_input WHERE hash(patient_id) % {parts} = {k}", progress)
        keys = self.con.execute("SELECT COUNT(DISTINCT key) FROM dispense_keys").fetchone()[0]  # type: ignore[index]
        chunks = max(1, min(self.workers * 8, -(-keys // 200)))
        self.con.execute(f"CREATE TABLE distinct_keys AS SELECT DISTINCT key, hash(key) % {chunks} AS chunk "
                         "FROM dispense_keys")
        self._stage(pool, "key_findings", "checking dispenses: distinct orders", chunks,
                    lambda k: f"SELECT key FROM distinct_keys WHERE chunk = {k}", progress)
        self.con.execute(f"""CREATE TABLE findings AS SELECT {', '.join('d.' + c for c in FINDING_COLUMNS[:8])},
            f.code, f.severity, f.title, f.detail FROM dispense_keys d JOIN key_findings f ON d.key = f.key""")

    def _stage(self, pool: ProcessPoolExecutor | None, table: str, label: str, parts: int, select: Any,
               progress: Progress) -> None:
        """Run one step over ``parts`` slices, at most a few in flight, appending each result to ``table``."""
        step = _keys_worker if table == "dispense_keys" else _findings_worker

        def store(frame: Any) -> None:
            if len(frame):
                self.con.register("_part", frame)
                self.con.execute(f"INSERT INTO {table} SELECT * FROM _part")
                self.con.unregister("_part")

        progress(label, 0, parts)
        if pool is None:
            for k in range(parts):
                store(step(self.con.execute(select(k)).df()))
                progress(label, k + 1, parts)
            return
        pending: list[Any] = []
        done = 0
        for k in range(parts):
            pending.append(pool.submit(step, self.con.execute(select(k)).df()))
            while len(pending) > self.workers * 2:  # bounded memory: a few slices in flight
                store(pending.pop(0).result())
                done += 1
                progress(label, done, parts)
        for future in pending:
            store(future.result())
            done += 1
            progress(label, done, parts)

    def write_parquet(self, sql: str, path: Path) -> None:
        self.con.execute(f"COPY ({sql}) TO {_q(str(path))} (FORMAT parquet)")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self.con.close()
        self._tmp.cleanup()
