"""`clinguide audit`: the COB measure and the pack's rules over a population (FHIR Bulk Data NDJSON or Parquet)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from clinguide.commands.common import FORMATS_TEXT_JSON, check_format, fail, print_json

ENGINES = ("duckdb", "spark")


def audit_command(
    input_dir: Annotated[Path | None, typer.Argument(metavar="INPUT", help="Folder of Patient, MedicationDispense, "
                                                     "Condition (and MedicationRequest) NDJSON or Parquet files")]
    = None,
    year: Annotated[int | None, typer.Option("--year", help="Measurement year (default: the year with the most "
                                                            "completed dispenses)")] = None,
    engine: Annotated[str, typer.Option("--engine", help="duckdb (default) or spark")] = "duckdb",
    out: Annotated[Path | None, typer.Option("--out", help="Write summary.json, Parquet tables and report.html "
                                                           "here")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    strict: Annotated[bool, typer.Option("--strict", help="Exit 2 if any input line was bad")] = False,
    generate: Annotated[int | None, typer.Option("--generate", help="Write a synthetic population of N patients "
                                                                    "to --out instead of auditing")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of --generate")] = 42,
    measure_only: Annotated[bool, typer.Option("--measure-only", help="Only the COB measure and the input counts; "
                                                                      "skip the per-dispense checks")] = False,
) -> None:
    """Population audit: PQA COB (concurrent opioid + benzodiazepine) and the pack's rules per dispense."""
    check_format(fmt, FORMATS_TEXT_JSON)
    if engine not in ENGINES:
        fail(f"--engine: '{engine}' is not accepted; use one of: {', '.join(ENGINES)}")
    if generate is not None:
        _generate(generate, out, year, seed, input_dir)
        return
    if input_dir is None:
        fail("INPUT: give the folder of NDJSON or Parquet files to audit (or --generate N --out DIR)")
    from clinguide.audit.engines import EngineUnavailable
    from clinguide.audit.run import run_audit
    from clinguide.errors import InputError

    try:
        with _progress(enabled=sys.stderr.isatty()) as progress:
            summary = run_audit(input_dir, year=year, engine_name=engine, progress=progress, out=out,
                                measure_only=measure_only)
    except InputError as exc:
        fail(str(exc))
    except EngineUnavailable as exc:
        fail(str(exc), code=1)
    except ImportError as exc:
        fail(f"--engine {engine}: a library it needs is not installed ({exc.name}); "
             "install clinguide with its 'audit' extra", code=1)
    if fmt == "json":
        print_json(summary)
        for note in summary.get("notes", []):  # the text report shows them at the top
            typer.echo(f"clinguide: note: {note}", err=True)
    else:
        from clinguide.audit.report import render_text

        typer.echo(render_text(summary))
    bad = summary["bad_lines"]["count"]
    if strict and bad:
        typer.echo(f"clinguide: --strict: {bad} bad input line(s); see bad_lines in the output", err=True)
        raise typer.Exit(2)


def _generate(count: int, out: Path | None, year: int | None, seed: int, input_dir: Path | None) -> None:
    if input_dir is not None:
        fail("--generate writes a population; give --out DIR and no INPUT")
    if out is None:
        fail("--generate: give --out DIR, the folder to write the NDJSON files into")
    if not 1 <= count <= 10_000_000:
        fail(f"--generate: {count} is out of range; give 1 to 10,000,000 patients")
    from clinguide.audit.generate import generate

    counts = generate(count, out, year=year or 2025, seed=seed)
    typer.echo(f"Wrote {', '.join(f'{v:,} {k}' for k, v in counts.items())} to {out}")


class _progress:
    """A rich progress bar on stderr when it is a terminal; a no-op callback otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar = None
        self._tasks: dict[str, int] = {}
        self._timings = os.environ.get("CLINGUIDE_AUDIT_TIMINGS") == "1"  # stage times on stderr (bench/audit.py)
        self._seen: dict[str, list[float]] = {}
        self._start = time.perf_counter()

    def _time(self, stage: str) -> None:
        now = time.perf_counter()
        self._seen.setdefault(stage, [now, now])[1] = now

    def __enter__(self):  # type: ignore[no-untyped-def]
        if not self.enabled:
            return lambda stage, done, total: self._time(stage)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                             console=Console(stderr=True), transient=True)
        self._bar.start()

        def update(stage: str, done: int, total: int) -> None:
            assert self._bar is not None
            self._time(stage)
            if stage not in self._tasks:
                self._tasks[stage] = self._bar.add_task(stage, total=total)
            self._bar.update(self._tasks[stage], completed=done, total=total)

        return update

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
        if self._timings:
            for stage, (first, last) in self._seen.items():
                print(f"timing: {stage}: {first - self._start:.2f}s to {last - self._start:.2f}s", file=sys.stderr)
            print(f"timing: total: {time.perf_counter() - self._start:.2f}s", file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_command)
