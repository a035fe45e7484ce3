"""Audit engines: DuckDB (embedded, the default) and Spark (local mode or a cluster).

Each engine builds the same staging tables (see ``clinguide.audit.cob``), runs the same
portable SQL for the measure and the summaries, and the same Python per-dispense checks
(``clinguide.audit.rules.check_partition``) over partitions of whole patients.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

ENGINES = ("duckdb", "spark")


class EngineUnavailable(RuntimeError):
    """The engine cannot run on this machine (missing Java, unreachable cluster); the message says why."""
Progress = Callable[[str, int, int], None]  # (stage, done, total)


class Engine(Protocol):
    name: str

    def load(self, inputs: Any, progress: Progress) -> None: ...
    def put_codemap(self, rows: list[tuple[Any, ...]]) -> None: ...
    def query(self, sql: str) -> list[dict[str, Any]]: ...
    def create_table(self, name: str, sql: str) -> None: ...
    def run_checks(self, input_sql: str, progress: Progress) -> None: ...
    def write_parquet(self, sql: str, path: Path) -> None: ...
    def close(self) -> None: ...


def open_engine(name: str, workers: int | None = None) -> Engine:
    if name == "duckdb":
        from clinguide.audit.engines.duckdb import DuckDBEngine

        return DuckDBEngine(workers=workers)
    if name == "spark":
        from clinguide.audit.engines.spark import SparkEngine

        return SparkEngine()
    raise ValueError(f"engine '{name}' is not one of: {', '.join(ENGINES)}")
