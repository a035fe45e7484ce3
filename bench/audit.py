"""Throughput of `clinguide audit`: whole-process dispenses/s and peak RSS, DuckDB and Spark, 30k and 300k patients.

Run: .venv/bin/python bench/audit.py [--sizes 30000 300000] [--engines duckdb spark] [--spark-max 300000]
Targets (2-core machine): >= 100,000 dispenses/s for the COB measure on DuckDB, linear in size;
the per-dispense checks >= 5,000 dispenses/s per core.

Populations are generated once into var/bench-audit/ (deterministic, seed 42). Each audit runs as its
own process (`clinguide audit DIR --format json`), so start-up, the pack load and the JVM count. Peak RSS
is the largest sum of the resident memory of the process and all its children, sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin" / "clinguide"


def _tree_rss_kb(root_pid: int) -> int:
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
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run(folder: Path, engine: str) -> dict[str, float]:
    env = {**os.environ, "CLINGUIDE_AUDIT_TIMINGS": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen([str(BIN), "audit", str(folder), "--year", "2025", "--engine", engine, "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"audit failed ({engine}, {folder}): {err[-2000:]}")
    summary = json.loads(out)
    stages: dict[str, tuple[float, float]] = {}
    for line in err.splitlines():
        if line.startswith("timing: ") and " to " in line:
            name, span = line[len("timing: "):].rsplit(": ", 1)
            a, b = span.split(" to ")
            stages[name] = (float(a.rstrip("s")), float(b.rstrip("s")))
    return {"wall": wall, "peak_mb": peak / 1024, "dispenses": summary["dispenses"]["read"],
            "checked": summary["dispenses"]["checked_drug_rows"],
            "cob_s": _span(stages, "COB measure"), "read_s": stages.get("reading input", (0.0, 0.0))[1],
            "checks_s": sum(_span(stages, name) for name in stages if name.startswith("checking dispenses")),
            "numerator": summary["numerator"],
            "denominator": summary["denominator"]}


def _span(stages: dict[str, tuple[float, float]], name: str) -> float:
    a, b = stages.get(name, (0.0, 0.0))
    return b - a


def uncached_check_rate(n: int = 3000) -> float:
    """``check`` calls/s on one core for distinct (drug, dose, frequency, days, age, co-covered drugs) keys:
    the cost of a dispense the memo has not seen."""
    from clinguide.audit import rules

    drugs = [("diazepam", "5 mg", "3 times daily"), ("carisoprodol", "350 mg", "4 times daily"),
             ("oxycodone", "5 mg", "4 times daily"), ("acetaminophen", "325 mg", "4 times daily")]
    others = [(), ("oxycodone",), ("diazepam",), ("alprazolam", "hydrocodone")]
    keys = [(d, dose, freq, days, age, "female", o) for (d, dose, freq) in drugs for o in others
            for days in (5, 7, 14, 30) for age in range(18, 18 + n // 64 + 1)][:n]
    rules.findings_for.cache_clear()
    start = time.perf_counter()
    for key in keys:
        rules.findings_for(*key)
    return len(keys) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[30_000, 300_000])
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--spark-max", type=int, default=300_000, help="largest population to run on Spark")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from clinguide.audit.generate import generate

    base = ROOT / "var" / "bench-audit"
    cores = os.cpu_count() or 1
    print(f"clinguide audit throughput ({cores} cores; load average {os.getloadavg()[0]:.1f} at start)")
    for size in args.sizes:
        folder = base / f"pop-{size}"
        if not (folder / "MedicationDispense.ndjson").exists():
            t = time.perf_counter()
            generate(size, folder, year=2025, seed=42)
            print(f"  generated {size:,} patients in {time.perf_counter() - t:.1f}s -> {folder}")
        for engine in args.engines:
            if engine == "spark" and size > args.spark_max:
                print(f"  {engine:6} {size:>8,} patients: skipped (--spark-max {args.spark_max:,})")
                continue
            r = run(folder, engine)
            per_core = r["checked"] / r["checks_s"] / cores if r["checks_s"] else float("nan")
            print(f"  {engine:6} {size:>8,} patients {r['dispenses']:>9,.0f} dispenses: whole process "
                  f"{r['wall']:6.1f}s = {r['dispenses'] / r['wall']:>9,.0f} dispenses/s; read {r['read_s']:.1f}s, "
                  f"COB {r['cob_s']:.2f}s ({r['dispenses'] / max(r['cob_s'], 1e-9):,.0f}/s), "
                  f"checks {r['checks_s']:.1f}s ({per_core:,.0f} dispense-drugs/s per core); "
                  f"peak RSS {r['peak_mb']:,.0f} MB; COB {r['numerator']:,}/{r['denominator']:,}")
    print(f"  check() on distinct, never-seen dispenses (no memo), one core: {uncached_check_rate():,.0f} /s")


if __name__ == "__main__":
    main()
