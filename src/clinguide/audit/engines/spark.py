"""The Spark engine: the same staging tables, measure SQL and per-dispense checks as DuckDB, on PySpark.

Local mode by default (``local[*]``); ``SPARK_MASTER`` (or ``CLINGUIDE_SPARK_MASTER``) points it at a
cluster. The per-dispense checks run with ``groupBy(partition of patients).applyInPandas``, so each
Python worker gets whole patients. Line numbers of bad lines are computed in the JVM from each file
partition's row count, so no line is pulled through Python to be numbered.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from clinguide.audit.engines import EngineUnavailable, Progress
from clinguide.audit.input import (
    ICD10_SYSTEMS,
    NOT_OBJECT_PROBLEM,
    PATHS,
    RXNORM,
    InputSet,
    first_unreadable,
    not_object_sql,
)
from clinguide.errors import InputError

CHECK_PARTITIONS = 16
KEYED_SCHEMA = ("patient_id string, disp_id string, src_file string, src_line long, day long, drug_id string, "
                "age long, age_band string, key string")
KEY_FINDINGS_SCHEMA = "key string, code string, severity string, title string, detail string"
CODING_SCHEMA = "array<struct<system:string,code:string,display:string>>"
FIELD_TYPES = {"codings": CODING_SCHEMA}  # the fields of input.PATHS read as another type than text
CODEMAP_SCHEMA = "rx_code string, display string, drug_id string, opioid boolean, benzodiazepine boolean, how string"
EMPTY = {
    "Condition": "src_file string, src_line long, blank boolean, problem string, patient_id string, code string, "
                 "start_day int, end_day int, verification string",
    "MedicationRequest": "src_file string, src_line long, blank boolean, problem string, patient_id string, "
                         "status string",
}


def _q(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def session() -> Any:
    """A Spark session: local unless SPARK_MASTER says otherwise; no UI; UTC; non-ANSI casts (NULL, not errors)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    master = os.environ.get("CLINGUIDE_SPARK_MASTER") or os.environ.get("SPARK_MASTER") or "local[*]"
    builder = (SparkSession.builder.appName("clinguide-audit").master(master)
               .config("spark.ui.enabled", "false")
               .config("spark.sql.ansi.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", os.environ.get("CLINGUIDE_SPARK_SHUFFLE_PARTITIONS", "4"))
               .config("spark.ui.showConsoleProgress", "false")
               # small data, many short queries: compiling code costs more than it saves
               .config("spark.sql.codegen.wholeStage", "false")
               .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -Dlog4j2.level=error")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.driver.memory", os.environ.get("CLINGUIDE_SPARK_DRIVER_MEMORY", "2g"))
               )
    spark = builder.getOrCreate()
    # a runtime setting, so that it also applies to a session that already exists
    spark.conf.set("spark.sql.files.maxPartitionBytes", os.environ.get("CLINGUIDE_SPARK_MAX_PARTITION_BYTES", "128m"))
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _patient_ref(col: str) -> str:
    return (f"CASE WHEN {col} IS NULL THEN NULL WHEN {col} NOT LIKE '%/%' THEN {col} "
            f"WHEN {col} RLIKE '(^|/)Patient/[^/]+$' THEN regexp_extract({col}, '[^/]+$', 0) END")


def _day(col: str) -> str:
    return (f"CASE WHEN length({col}) >= 10 THEN "
            f"datediff(to_date(substr({col}, 1, 10), 'yyyy-MM-dd'), DATE'1970-01-01') END")


def _birth(col: str) -> str:
    return (f"CASE WHEN {col} RLIKE '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}' THEN substr({col}, 1, 10) "
            f"WHEN {col} RLIKE '^[0-9]{{4}}-[0-9]{{2}}$' THEN {col} || '-31' "
            f"WHEN {col} RLIKE '^[0-9]{{4}}$' THEN {col} || '-12-31' END")


def _wrong_type(rtype: str) -> str:
    return (f"WHEN resource_type IS NULL OR resource_type <> '{rtype}' THEN 'resourceType is ' || "
            f"COALESCE('''' || resource_type || '''', 'missing') || ', expected {rtype}'")


STAGE_SQL = {
    "Patient": lambda src: f"""
SELECT src_file, src_line, blank,
  CASE WHEN blank THEN NULL WHEN invalid THEN 'invalid JSON' {NOT_OBJECT_PROBLEM} {_wrong_type('Patient')}
       WHEN id IS NULL OR id = '' THEN 'missing id'
       WHEN birth_date IS NOT NULL AND {_birth('birth_date')} IS NULL THEN 'birthDate is not a date'
  END AS problem,
  id AS patient_id, {_birth('birth_date')} AS birth, gender
FROM {src}""",
    "MedicationDispense": lambda src: f"""
SELECT src_file, src_line, blank,
  CASE WHEN blank THEN NULL WHEN invalid THEN 'invalid JSON' {NOT_OBJECT_PROBLEM} {_wrong_type('MedicationDispense')}
       WHEN subject IS NULL THEN 'missing subject'
       WHEN patient_id IS NULL THEN 'subject is not a Patient reference'
       WHEN status IS NULL THEN 'missing status'
       WHEN status = 'completed' AND handed_over IS NULL THEN 'missing date (whenHandedOver)'
       WHEN status = 'completed' AND day IS NULL THEN 'whenHandedOver is not a date'
       WHEN status = 'completed' AND (days_supply_num IS NULL OR days_supply_num <= 0)
         THEN 'missing or invalid daysSupply'
  END AS problem,
  src_file || ':' || CAST(src_line AS STRING) AS disp_id, id AS resource_id, patient_id, status, day,
  CAST(ceil(days_supply_num) AS INT) AS days_supply,
  COALESCE(rx.code, '') AS rx_code,
  COALESCE(rx.display, concept_text, get(codings_list, 0).display, '') AS display, dosage
FROM (
  SELECT *, {_patient_ref('subject')} AS patient_id, {_day('handed_over')} AS day,
    CAST(days_supply AS DOUBLE) AS days_supply_num,
    get(filter(codings_list, x -> x.system = '{RXNORM}'), 0) AS rx
  FROM (SELECT *, codings AS codings_list FROM {src})
)""",
    "Condition": lambda src: f"""
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
    get(filter(codings,
               x -> x.system IN ({', '.join(_q(s) for s in ICD10_SYSTEMS)})), 0) AS icd
  FROM {src}
)""",
    "MedicationRequest": lambda src: f"""
SELECT src_file, src_line, blank,
  CASE WHEN blank THEN NULL WHEN invalid THEN 'invalid JSON' {NOT_OBJECT_PROBLEM} {_wrong_type('MedicationRequest')}
       WHEN subject IS NULL THEN 'missing subject'
       WHEN patient_id IS NULL THEN 'subject is not a Patient reference'
       WHEN authored IS NULL THEN 'missing date (authoredOn)'
  END AS problem, patient_id, status
FROM (SELECT *, {_patient_ref('subject')} AS patient_id FROM {src})""",
}
STAGE_VIEW = {"Patient": "stage_patient", "MedicationDispense": "stage_dispense", "Condition": "stage_condition",
              "MedicationRequest": "stage_request"}


class SparkEngine:
    name = "spark"

    def __init__(self) -> None:
        try:
            self.spark = session()
        except Exception as exc:  # no Java, a JVM that does not start, an unreachable master
            raise EngineUnavailable(f"--engine spark: Spark did not start ({type(exc).__name__}: "
                                    f"{str(exc).splitlines()[0] if str(exc) else ''}); it needs Java 17 "
                                    "(JAVA_HOME or java on PATH) and, for a cluster, a reachable SPARK_MASTER") from exc
        self._cached: list[Any] = []

    # ----- input ------------------------------------------------------------------------------------
    def _lines(self, path: Path, kind: str) -> Any:
        """(src_file, src_line, line) of one file; line numbers from per-partition counts (all in the JVM)."""
        from pyspark.sql import functions as F

        if kind == "parquet":
            raw = self.spark.read.parquet(str(path))
            raw = raw.select(F.to_json(F.struct(*[F.col(c) for c in raw.columns])).alias("value"))
        else:
            raw = self.spark.read.text(str(path))
        tagged = raw.select(F.col("value").alias("line"), F.spark_partition_id().alias("_pid"),
                            F.monotonically_increasing_id().alias("_mid"))
        if raw.rdd.getNumPartitions() <= 1:  # one partition (small or gzipped file): row index = line - 1
            counts: list[tuple[int, int]] = []
        else:
            counts = sorted((int(r["_pid"]), int(r["count"])) for r in tagged.groupBy("_pid").count().collect())
        offsets: list[Any] = []
        running = 0
        for pid, count in counts:
            offsets += [F.lit(pid), F.lit(running)]
            running += count
        offset = F.create_map(*offsets)[F.col("_pid")] if offsets else F.lit(0)
        return tagged.select(F.lit(path.name).alias("src_file"),
                             (offset + F.col("_mid").bitwiseAND((1 << 33) - 1) + 1).cast("long").alias("src_line"),
                             "line")

    def load(self, inputs: InputSet, progress: Progress) -> None:

        types = list(STAGE_VIEW)
        for i, rtype in enumerate(types):
            progress(f"reading {rtype}", i, len(types))
            files = inputs.files.get(rtype, [])
            if not files:
                self.spark.createDataFrame([], EMPTY[rtype]).createOrReplaceTempView(STAGE_VIEW[rtype])
                continue
            try:
                staged = self._stage(rtype, files, inputs)
            except InputError:
                raise
            except Exception as exc:  # a file that is not gzip, not Parquet or not text
                raise self._unreadable(rtype, files, inputs, exc) from exc
            self._cached.append(staged)
            staged.createOrReplaceTempView(STAGE_VIEW[rtype])
        progress("reading input", len(types), len(types))
        for sql in (
            "CREATE OR REPLACE TEMP VIEW patients AS SELECT patient_id, birth, gender FROM stage_patient "
            "WHERE problem IS NULL AND NOT blank",
            "CREATE OR REPLACE TEMP VIEW dispenses AS SELECT disp_id, resource_id, patient_id, status, day, "
            "days_supply, rx_code, display, dosage, src_file, src_line FROM stage_dispense "
            "WHERE problem IS NULL AND NOT blank",
            "CREATE OR REPLACE TEMP VIEW conditions AS SELECT patient_id, code, start_day, end_day, verification "
            "FROM stage_condition WHERE problem IS NULL AND NOT blank",
            "CREATE OR REPLACE TEMP VIEW requests AS SELECT patient_id, status FROM stage_request "
            "WHERE problem IS NULL AND NOT blank",
            """CREATE OR REPLACE TEMP VIEW lines AS
  SELECT 'Patient' AS resource, src_file, src_line, blank, problem FROM stage_patient
  UNION ALL SELECT 'MedicationDispense', src_file, src_line, blank, problem FROM stage_dispense
  UNION ALL SELECT 'Condition', src_file, src_line, blank, problem FROM stage_condition
  UNION ALL SELECT 'MedicationRequest', src_file, src_line, blank, problem FROM stage_request""",
        ):
            self.spark.sql(sql)

    def _stage(self, rtype: str, files: list[Path], inputs: InputSet) -> Any:
        """The persisted stage table of one resource type: each line parsed once, its fields and its problem."""
        from pyspark.sql import functions as F

        frames = [self._lines(p, inputs.kind(p)) for p in files]
        lines = frames[0]
        for frame in frames[1:]:
            lines = lines.unionByName(frame)
        blank = F.col("line").isNull() | (F.trim(F.col("line")) == "")
        # each line is parsed once (a variant), and the fields are read from that: not one parse per field
        lines = lines.select("src_file", "src_line", "line", F.try_parse_json(F.col("line")).alias("_v"))
        valid = F.col("_v").isNotNull()
        fields = [F.try_variant_get(F.col("_v"), path, FIELD_TYPES.get(name, "string"))
                  for name, path in PATHS[rtype]]
        not_object = F.when(~blank & valid, F.expr(not_object_sql("line")))
        parsed = lines.select("src_file", "src_line", blank.alias("blank"), (~blank & ~valid).alias("invalid"),
                              not_object.alias("not_object"),
                              *[F.when(~blank & valid & not_object.isNull(), f) for f in fields])
        parsed = parsed.toDF("src_file", "src_line", "blank", "invalid", "not_object",
                             *[n for n, _ in PATHS[rtype]])
        view = f"_fields_{STAGE_VIEW[rtype]}"
        parsed.createOrReplaceTempView(view)
        staged = self.spark.sql(STAGE_SQL[rtype](view)).persist()
        staged.count()
        return staged

    def _unreadable(self, rtype: str, files: list[Path], inputs: InputSet, exc: Exception) -> InputError:
        """An InputError naming the file Spark could not read."""
        return first_unreadable(files, rtype, inputs, exc, lambda path: self._lines(path, inputs.kind(path)).count(),
                                (Exception,))

    def put_codemap(self, rows: list[tuple[Any, ...]]) -> None:
        self.spark.createDataFrame(rows, CODEMAP_SCHEMA).createOrReplaceTempView("codemap")

    def query(self, sql: str) -> list[dict[str, Any]]:
        return [row.asDict() for row in self.spark.sql(sql).collect()]

    def create_table(self, name: str, sql: str) -> None:
        frame = self.spark.sql(sql).persist()
        frame.count()
        self._cached.append(frame)
        frame.createOrReplaceTempView(name)

    def run_checks(self, input_sql: str, progress: Progress) -> None:
        """Step 1 with applyInPandas over partitions of whole patients, step 2 with mapInPandas over
        distinct keys, then a join in Spark SQL."""
        from pyspark.sql import functions as F

        from clinguide.audit.rules import dispense_keys, findings_for_keys

        self.create_table("check_input", input_sql)
        label = "checking dispenses"
        progress(label, 0, 2)
        frame = self.spark.table("check_input").withColumn(
            "_part", F.pmod(F.hash("patient_id"), F.lit(CHECK_PARTITIONS)))
        keyed = frame.groupBy("_part").applyInPandas(dispense_keys, schema=KEYED_SCHEMA).persist()
        keyed.count()
        self._cached.append(keyed)
        keyed.createOrReplaceTempView("dispense_keys")
        progress(label, 1, 2)

        def per_batch(batches: Any) -> Any:
            for batch in batches:
                yield findings_for_keys(batch)

        found = (keyed.select("key").distinct().repartition(CHECK_PARTITIONS, "key")
                 .mapInPandas(per_batch, schema=KEY_FINDINGS_SCHEMA).persist())
        found.count()
        self._cached.append(found)
        found.createOrReplaceTempView("key_findings")
        self.create_table("findings", "SELECT d.patient_id, d.disp_id, d.src_file, d.src_line, d.day, d.drug_id, "
                                      "d.age, d.age_band, f.code, f.severity, f.title, f.detail "
                                      "FROM dispense_keys d JOIN key_findings f ON d.key = f.key")
        progress(label, 2, 2)

    def write_parquet(self, sql: str, path: Path) -> None:
        """One Parquet file. In local mode Spark writes it itself (one ordered partition, nothing collected to
        the driver's Python); on a cluster the executors cannot write the driver's folder, so it is collected."""
        frame = self.spark.sql(sql)
        if not self.spark.sparkContext.master.startswith("local"):
            import pyarrow.parquet as pq

            pq.write_table(frame.toArrow(), str(path))
            return
        import shutil

        tmp = path.with_name(f".{path.name}.spark")
        frame.coalesce(1).write.mode("overwrite").option("compression", "snappy").parquet(str(tmp))
        parts = sorted(tmp.glob("part-*.parquet"))
        if len(parts) != 1:
            raise RuntimeError(f"Spark wrote {len(parts)} Parquet parts for {path.name}, expected 1")
        shutil.move(str(parts[0]), str(path))
        shutil.rmtree(tmp)

    def close(self) -> None:
        for frame in self._cached:
            frame.unpersist()
        for view in self.spark.catalog.listTables():
            if view.isTemporary:
                self.spark.catalog.dropTempView(view.name)
