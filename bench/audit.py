"""Throughput of `clinguide audit`: whole-process dispenses/s and peak RSS, DuckDB and Spark, 30k and 300k patients.

Run: .venv/bin/python bench/audit.py [--sizes 30000 300000] [--engines duckdb spark] [--spark-max 30000]
         [--baseline-src DIR]   # also run an older checkout's src/ (e.g. `git archive REV src | tar -x -C DIR`)
Targets (2-core machine): >= 100,000 dispenses/s for the COB measure on DuckDB, linear in size;
the per-dispense checks >= 5,000 dispenses/s per core.

Populations are generated once into var/bench-audit/ (deterministic, seed 42). Each audit runs as its
own process (`clinguide audit DIR --format json`), so start-up, the pack load and the JVM count. Per size
and engine: the full audit, then `--measure-only` (the COB measure on its own, whole process). Stage rates:
COB = dispenses read / COB query time (and per core); checks = checked dispense-drug rows / checks time /
cores. CPU is the waited-for children's rusage, or the CPU sampled from /proc over the process tree when that
is more (Spark's JVM is not waited for). Peak memory is sampled every 0.2 s over the process and all its
children: RSS summed (counts pages a forked worker shares with its parent once per process) and PSS summed
(shared pages split between them).
With --baseline-src the same runs are repeated with that src/ first on PYTHONPATH, interleaved, so before
and after see the same load.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin" / "clinguide"


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a live process has used so far."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def _tree_rss_kb(root_pid: int, cpu: dict[int, float] | None = None) -> tuple[int, int]:
    """(RSS, PSS) in kB summed over ``root_pid`` and its descendants; ``cpu`` gets each one's CPU seconds so far."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="utf-8") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        pid, ppid = int(entry), int(fields.get("PPid", "0").strip())
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    total, pss, stack = 0, 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        pss += _pss_kb(pid) if pid in rss else 0
        if cpu is not None and pid in rss:
            cpu[pid] = max(cpu.get(pid, 0.0), _cpu_s(pid))
        stack.extend(children.get(pid, []))
    return total, pss


def run(folder: Path, engine: str, measure_only: bool = False, src: Path | None = None) -> dict[str, float]:
    env = {**os.environ, "CLINGUIDE_AUDIT_TIMINGS": "1"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    args = [str(BIN), "audit", str(folder), "--year", "2025", "--engine", engine, "--format", "json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(args + (["--measure-only"] if measure_only else []),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = peak_pss = 0
    done = threading.Event()
    sampled_cpu: dict[int, float] = {}

    def sample() -> None:
        nonlocal peak, peak_pss
        while not done.is_set():
            rss, pss = _tree_rss_kb(proc.pid, sampled_cpu)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the audit and its pool workers (waited for)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # a child the audit does not wait for (Spark's JVM) is missing from rusage: take the CPU sampled from /proc
    # (up to 0.2 s late per process) when it is more
    cpu = max(cpu, sum(sampled_cpu.values()))
    if proc.returncode != 0:
        raise SystemExit(f"audit failed ({engine}, {folder}): {err[-2000:]}")
    summary = json.loads(out)
    stages: dict[str, tuple[float, float]] = {}
    for line in err.splitlines():
        if line.startswith("timing: ") and " to " in line:
            name, span = line[len("timing: "):].rsplit(": ", 1)
            a, b = span.split(" to ")
            stages[name] = (float(a.rstrip("s")), float(b.rstrip("s")))
    return {"wall": wall, "cpu": cpu, "peak_mb": peak / 1024, "peak_pss_mb": peak_pss / 1024,
            "dispenses": summary["dispenses"]["read"],
            "checked": summary["dispenses"]["checked_drug_rows"],
            "cob_s": _span(stages, "COB measure"), "read_s": stages.get("reading input", (0.0, 0.0))[1],
            "checks_s": sum(_span(stages, name) for name in stages if name.startswith("checking dispenses")),
            "numerator": summary["numerator"],
            "denominator": summary["denominator"]}


def _median_run(repeat: int, folder: Path, engine: str, measure_only: bool = False,
                src: Path | None = None) -> dict[str, float]:
    """The run with the median wall time of ``repeat`` runs (``walls`` lists them all)."""
    runs = sorted((run(folder, engine, measure_only=measure_only, src=src) for _ in range(max(1, repeat))),
                  key=lambda r: r["wall"])
    chosen = dict(runs[len(runs) // 2])
    chosen["walls"] = [r["wall"] for r in runs]  # type: ignore[assignment]
    return chosen


def _span(stages: dict[str, tuple[float, float]], name: str) -> float:
    a, b = stages.get(name, (0.0, 0.0))
    return b - a


def uncached_check_rate(n: int = 3000) -> tuple[float, float]:
    """(check() calls/s, the audit's per-key fast path calls/s) on one core for distinct, never-seen keys
    (drug, dose, frequency, days, age, co-covered drugs): the cost of a dispense the memo has not seen."""
    from clinguide.audit import rules
    from clinguide.checks.engine import check

    drugs = [("diazepam", "5 mg", "3 times daily"), ("carisoprodol", "350 mg", "4 times daily"),
             ("oxycodone", "5 mg", "4 times daily"), ("acetaminophen", "325 mg", "4 times daily")]
    others = [(), ("oxycodone",), ("diazepam",), ("alprazolam", "hydrocodone")]
    keys = [(d, dose, freq, days, age, "female", o) for (d, dose, freq) in drugs for o in others
            for days in (5, 7, 14, 30) for age in range(18, 18 + n // 64 + 1)][:n]
    check(*rules.order_and_case(*keys[0]))  # imports and the pack, outside the timing
    start = time.perf_counter()
    for key in keys:
        check(*rules.order_and_case(*key))
    plain = len(keys) / (time.perf_counter() - start)
    rules.findings_for.cache_clear()
    rules._prepared_order.cache_clear()
    rules._prepared_case.cache_clear()
    start = time.perf_counter()
    for key in keys:
        rules.findings_for(*key)
    return plain, len(keys) / (time.perf_counter() - start)


def _line(label: str, r: dict[str, float], cores: int) -> str:
    per_core = r["checked"] / r["checks_s"] / cores if r["checks_s"] else float("nan")
    cob_rate = r["dispenses"] / max(r["cob_s"], 1e-9)
    return (f"  {label}: {r['dispenses']:>9,.0f} dispenses, whole process {r['wall']:6.1f}s = "
            f"{r['dispenses'] / r['wall']:>9,.0f} dispenses/s (CPU {r['cpu']:.1f}s = "
            f"{r['dispenses'] / max(r['cpu'], 1e-9):,.0f} dispenses per CPU-second); read {r['read_s']:.1f}s, "
            f"COB {r['cob_s']:.2f}s ({cob_rate:,.0f}/s, {cob_rate / cores:,.0f}/s per core)"
            + (f", checks {r['checks_s']:.1f}s ({r['checked']:,.0f} dispense-drugs, {per_core:,.0f}/s per core)"
               if r["checks_s"] else ", checks not run")
            + f"; peak RSS {r['peak_mb']:,.0f} MB (PSS {r['peak_pss_mb']:,.0f} MB); "
              f"COB {r['numerator']:,}/{r['denominator']:,}"
            + (f"; median of {len(walls)} runs: " + ", ".join(f"{w:.1f}" for w in walls) + " s"
               if len(walls := r.get("walls", [])) > 1 else ""))


def _linearity(results: dict[tuple[str, str, int], dict[str, float]], startup_size: int, sizes: list[int]) -> None:
    """Time per dispense at each size, with the fixed cost (the run on ``startup_size`` patients) taken out, and
    the marginal rate between consecutive sizes (which needs no start-up estimate at all)."""
    print("  linearity (µs per dispense; whole process, wall and CPU, less the fixed cost of the "
          f"{startup_size:,}-patient run; COB query alone; marginal = extra dispenses / extra seconds):")
    for engine, mode in sorted({(e, m) for e, m, _ in results}):
        fixed = results.get((engine, mode, startup_size), {}).get("wall", 0.0) if startup_size else 0.0
        fixed_cpu = results.get((engine, mode, startup_size), {}).get("cpu", 0.0) if startup_size else 0.0
        runs = [(size, results[(engine, mode, size)]) for size in sizes if (engine, mode, size) in results]
        # CPU seconds barely depend on the machine's load; wall seconds do
        parts = [f"{size:,}: {(r['wall'] - fixed) / r['dispenses'] * 1e6:,.1f} µs wall, "
                 f"{(r['cpu'] - fixed_cpu) / r['dispenses'] * 1e6:,.1f} µs CPU "
                 f"(COB {r['cob_s'] / r['dispenses'] * 1e6:.2f} µs)" for size, r in runs]
        for (a, ra), (b, rb) in itertools.pairwise(runs):
            extra = rb["dispenses"] - ra["dispenses"]
            parts.append(f"marginal {a:,}->{b:,}: {extra / max(rb['wall'] - ra['wall'], 1e-9):,.0f} dispenses/s")
        print(f"    {engine} {mode} (fixed {fixed:.1f}s, {fixed_cpu:.1f} CPU-s): " + "; ".join(parts), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[30_000, 300_000])
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--spark-max", type=int, default=30_000, help="largest population to run on Spark")
    parser.add_argument("--baseline-src", type=Path, help="an older src/ to run the same audits with, for before/after")
    parser.add_argument("--no-measure-only", action="store_true", help="skip the --measure-only runs")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each audit this many times and report the run with the median wall time "
                             "(all wall times are printed): a shared machine's load varies from run to run")
    parser.add_argument("--startup-size", type=int, default=1_000,
                        help="a population this small measures the fixed cost (start-up, pack, JVM) per engine and "
                             "mode, taken out of the per-dispense times of the linearity lines; 0: none")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from clinguide.audit.generate import generate

    base = ROOT / "var" / "bench-audit"
    cores = os.cpu_count() or 1
    print(f"clinguide audit throughput ({cores} cores; load average {os.getloadavg()[0]:.1f} at start)")
    versions = [("after", None)] + ([("before", args.baseline_src)] if args.baseline_src else [])
    results: dict[tuple[str, str, int], dict[str, float]] = {}  # (engine, mode, size) of the "after" runs
    sizes = ([args.startup_size] if args.startup_size else []) + args.sizes
    for size in sizes:
        folder = base / f"pop-{size}"
        if not (folder / "MedicationDispense.ndjson").exists():
            t = time.perf_counter()
            generate(size, folder, year=2025, seed=42)
            print(f"  generated {size:,} patients in {time.perf_counter() - t:.1f}s -> {folder}")
        for engine in args.engines:
            if engine == "spark" and size > args.spark_max:
                print(f"  {engine} {size:,} patients: skipped (--spark-max {args.spark_max:,})")
                continue
            for name, src in versions:
                label = f"{engine} {size:,} patients{' ' + name if args.baseline_src else ''}"
                full = _median_run(args.repeat, folder, engine, src=src)
                print(_line(label, full, cores), flush=True)
                if name == "after":
                    results[(engine, "full", size)] = full
                if not args.no_measure_only and name == "after":  # the measure-only mode is new
                    alone = _median_run(args.repeat, folder, engine, measure_only=True, src=src)
                    results[(engine, "--measure-only", size)] = alone
                    print(_line(f"{label} --measure-only", alone, cores), flush=True)
                    checks_cpu = full["cpu"] - alone["cpu"]
                    print(f"    checks, by CPU time (full run minus --measure-only): {checks_cpu:.1f} CPU-s = "
                          f"{full['checked'] / max(checks_cpu, 1e-9):,.0f} dispense-drugs per CPU-second", flush=True)
            print(f"    (load average {os.getloadavg()[0]:.1f})", flush=True)
    _linearity(results, args.startup_size, args.sizes)
    plain, fast = uncached_check_rate()
    print(f"  never-seen keys, one core: check() {plain:,.0f}/s; the audit's per-key path {fast:,.0f}/s")


if __name__ == "__main__":
    main()
